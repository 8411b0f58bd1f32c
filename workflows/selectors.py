"""Reads of workflows, filtered by object-level authorization."""

from authz.services import authz_check
from vams.api.pagination import PageRequest, read_keyset_page
from vams.exceptions import NotFound
from workflows.models import Workflow
from workflows.serializers import (
    REPRESENTATION_FIELDS,
    workflow_authz_object,
    workflow_instance_authz_object,
    workflow_representation,
)

WORKFLOW_NOT_FOUND = "Workflow not found"

ALL_DATABASES_ORDERING = ["database_id", "workflow_id", "id"]
ONE_DATABASE_ORDERING = ["-workflow_id", "-id"]


def workflow_list(
    *,
    user,
    page: PageRequest,
    database_id: str | None = None,
    show_deleted: bool = False,
) -> tuple[list[dict], str | None]:
    """Return one page of workflow items the user may GET, and the next token.

    Without ``database_id`` every database is listed, ordered by databaseId,
    workflowId and row id. With it, only that database (GLOBAL lists only the
    GLOBAL workflows), in descending workflowId order. ``show_deleted`` adds
    soft-deleted rows to the live ones. Rows the user may not GET are dropped
    after they are read, so a page can be short while the token is set.
    """
    queryset = Workflow.all_objects.values(*REPRESENTATION_FIELDS)
    if not show_deleted:
        # Written as an exclude rather than deleted_at IS NULL: SQLite without
        # ANALYZE statistics would pick the deleted_at index for IS NULL and
        # sort every live row for each page, instead of walking the ordering
        # index. PostgreSQL plans both forms the same way.
        queryset = queryset.exclude(deleted_at__isnull=False)
    if database_id is None:
        ordering = ALL_DATABASES_ORDERING
        scope = f"workflows:all:{show_deleted}"
    else:
        queryset = queryset.filter(database_id=database_id)
        ordering = ONE_DATABASE_ORDERING
        scope = f"workflows:database:{database_id}:{show_deleted}"

    rows, next_token = read_keyset_page(
        queryset,
        ordering=ordering,
        page=page,
        scope=scope,
        include=lambda row: authz_check(
            user=user, obj=workflow_authz_object(row), action="GET"
        ),
    )
    return [workflow_representation(row) for row in rows], next_token


def workflow_get(
    *, user, database_id: str, workflow_id: str, show_deleted: bool = False
) -> Workflow:
    """Return the workflow the user may GET, or raise NotFound if missing or denied.

    A live row wins. With ``show_deleted`` and no live row, the most recently
    deleted row is returned. A denial looks like a missing row, so the response
    does not reveal that the workflow exists.
    """
    workflow = workflow_get_alive(database_id=database_id, workflow_id=workflow_id)
    if workflow is None and show_deleted:
        workflow = (
            Workflow.all_objects.deleted()
            .filter(database_id=database_id, workflow_id=workflow_id)
            .order_by("-deleted_at", "-id")
            .first()
        )
    if workflow is None:
        raise NotFound(WORKFLOW_NOT_FOUND)
    if not authz_check(
        user=user, obj=workflow_instance_authz_object(workflow), action="GET"
    ):
        raise NotFound(WORKFLOW_NOT_FOUND)
    return workflow


def workflow_get_alive(*, database_id: str, workflow_id: str) -> Workflow | None:
    """Return the live workflow stored under (database_id, workflow_id), or None."""
    return Workflow.objects.filter(
        database_id=database_id, workflow_id=workflow_id
    ).first()

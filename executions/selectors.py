"""Reads of an asset's executions, refreshed from Step Functions."""

import logging

from authz.services import authz_check
from executions import validation
from executions.models import WorkflowExecution
from executions.services import (
    ASSET_NOT_FOUND,
    NOT_AUTHORIZED,
    asset_get_for_execution,
    execution_refresh,
)
from vams.api.pagination import PageRequest, read_keyset_page
from vams.assets import asset_authz_object
from vams.aws.errors import AwsError
from vams.dates import format_execution_date
from vams.exceptions import Forbidden, NotFound
from workflows.serializers import workflow_key_authz_object

logger = logging.getLogger(__name__)

ORDERING = ["-id"]


def execution_representation(execution: WorkflowExecution, *, with_error: bool) -> dict:
    item = {
        "workflowDatabaseId": execution.workflow_database_id,
        "workflowId": execution.workflow_id,
        "executionId": str(execution.execution_id),
        "executionStatus": execution.status,
        "startDate": format_execution_date(execution.start_date),
        "stopDate": format_execution_date(execution.stop_date),
        "inputAssetFileKey": execution.input_asset_file_key,
    }
    if with_error:
        item["error"] = execution.error
        item["cause"] = execution.cause
    return item


def execution_list(
    *,
    user,
    database_id,
    asset_id,
    page: PageRequest,
    workflow_id: str | None = None,
    workflow_database_id: str | None = None,
    history: bool = False,
) -> tuple[list[dict], str | None]:
    """Return one page of an asset's executions that the user may GET, and the next token.

    By default only running executions are returned. ``history`` returns every
    status with ``error`` and ``cause``. Both are ordered newest first. Running
    rows are refreshed from Step Functions first and rewritten once stopped. A
    row whose refresh fails is left out of the running-only list and shown as
    stored in the history. Raises NotFound for a missing asset and Forbidden
    without GET on it.
    """
    validation.validate_database_id(database_id)
    validation.validate_asset_id(asset_id)
    if workflow_id is not None:
        validation.validate_workflow_id(workflow_id)
    if workflow_database_id is not None:
        validation.validate_workflow_database_id(workflow_database_id)
    asset = asset_get_for_execution(database_id=database_id, asset_id=asset_id)
    if asset is None:
        raise NotFound(ASSET_NOT_FOUND.format(asset_id=asset_id, database_id=database_id))
    if not authz_check(user=user, obj=asset_authz_object(asset), action="GET"):
        raise Forbidden(NOT_AUTHORIZED)

    queryset = WorkflowExecution.objects.filter(asset=asset).exclude(
        status=WorkflowExecution.Status.NEW, execution_arn=""
    )
    if not history:
        queryset = queryset.filter(stop_date__isnull=True)
    if workflow_id is not None:
        queryset = queryset.filter(workflow_id=workflow_id)
    if workflow_database_id is not None:
        queryset = queryset.filter(workflow_database_id=workflow_database_id)
    scope = (
        f"executions:{database_id}:{asset_id}:{workflow_database_id or '*'}:"
        f"{workflow_id or '*'}:{'history' if history else 'running'}"
    )

    def include(execution: WorkflowExecution) -> bool:
        # The row is judged as a workflow of the asset's database, as VAMS does,
        # also for GLOBAL workflows.
        workflow_object = workflow_key_authz_object(
            database_id=asset.database_id, workflow_id=execution.workflow_id
        )
        if not authz_check(user=user, obj=workflow_object, action="GET"):
            return False
        return _refresh_for_list(execution, history=history)

    rows, next_token = read_keyset_page(
        queryset, ordering=ORDERING, page=page, scope=scope, include=include
    )
    return [execution_representation(row, with_error=history) for row in rows], next_token


def _refresh_for_list(execution: WorkflowExecution, *, history: bool) -> bool:
    """Refresh a running row in place and return whether the list keeps it."""
    if execution.stop_date is not None:
        return True
    try:
        refreshed = execution_refresh(execution).execution
    except AwsError as error:
        logger.warning(
            "Could not refresh execution_id=%s code=%s", execution.execution_id, error.code
        )
        return history
    return history or refreshed.stop_date is None

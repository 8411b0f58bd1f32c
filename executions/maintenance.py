"""Purge of finished execution rows that are past their retention period."""

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet

from executions.models import WorkflowExecution

logger = logging.getLogger(__name__)

Status = WorkflowExecution.Status

# The statuses of an execution that has ended for good. PENDING_REDRIVE is
# left out because Step Functions may still redrive such an execution.
FINISHED_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.TIMED_OUT, Status.ABORTED)

# Only the fields the purge and its report read are loaded, because error
# causes can be long.
PURGE_FIELDS = (
    "execution_id",
    "workflow_database_id",
    "workflow_id",
    "status",
    "stop_date",
)

STATUS_UNKNOWN = "Unknown execution status {status!r}; use one or more of {allowed}."


def parse_finished_statuses(text: str | None) -> list[str]:
    """Return the statuses in the comma-separated ``text``, or every finished one.

    Raises ValueError with a message naming the allowed statuses when an entry
    is not a finished status. Case is ignored.
    """
    if text is None:
        return list(FINISHED_STATUSES)
    statuses = []
    for entry in text.split(","):
        status = entry.strip().upper()
        if status not in FINISHED_STATUSES:
            allowed = ", ".join(FINISHED_STATUSES)
            raise ValueError(
                STATUS_UNKNOWN.format(status=entry.strip(), allowed=allowed)
            )
        if status not in statuses:
            statuses.append(status)
    return statuses


def purgeable_executions(*, stopped_before: datetime, statuses: list[str]) -> QuerySet:
    """Return the finished executions with one of ``statuses`` that stopped
    before ``stopped_before``.

    A running execution (no stop date) never matches. A succeeded execution
    whose outputs are not registered yet is left for ``sync_executions``.
    """
    return (
        WorkflowExecution.objects.filter(
            stop_date__isnull=False,
            stop_date__lt=stopped_before,
            status__in=statuses,
        )
        .exclude(Q(status=Status.SUCCEEDED) & Q(outputs_registered_at__isnull=True))
        .only(*PURGE_FIELDS)
    )


def execution_purge_batch(
    *,
    executions: list[WorkflowExecution],
    stopped_before: datetime,
    statuses: list[str],
    dry_run: bool,
) -> list[WorkflowExecution]:
    """Delete ``executions`` in one transaction and return the ones deleted.

    Each row is checked again under a row lock, so one that changed since it
    was read (for example a redrive cleared its stop date) is kept. With
    ``dry_run`` nothing is written and every row is returned.
    """
    if dry_run:
        return list(executions)

    with transaction.atomic():
        still_purgeable = set(
            purgeable_executions(stopped_before=stopped_before, statuses=statuses)
            .select_for_update()
            .filter(pk__in=[execution.pk for execution in executions])
            .values_list("pk", flat=True)
        )
        WorkflowExecution.objects.filter(pk__in=still_purgeable).delete()

    deleted = [execution for execution in executions if execution.pk in still_purgeable]
    if deleted:
        logger.info(
            "Purged executions count=%s first_pk=%s last_pk=%s",
            len(deleted),
            deleted[0].pk,
            deleted[-1].pk,
        )
    return deleted

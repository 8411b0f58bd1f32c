"""Bring stored executions up to date with Step Functions (``manage.py sync_executions``)."""

import logging
from dataclasses import dataclass, field

from django.db import DatabaseError

from executions import outputs
from executions.models import WorkflowExecution
from executions.services import execution_refresh
from vams.aws import stepfunctions
from vams.aws.errors import AwsError

logger = logging.getLogger(__name__)


@dataclass
class SyncSummary:
    checked: int = 0
    still_running: int = 0
    stopped: int = 0
    vanished: int = 0
    outputs_registered: int = 0
    failed: int = 0
    # One line per execution that changed (or would change with --dry-run).
    changes: list[str] = field(default_factory=list)


def executions_sync(*, dry_run: bool = False) -> SyncSummary:
    """Refresh every running execution, then register the missed outputs of succeeded ones.

    A running row whose execution Step Functions has no record of is closed as
    ABORTED with error ``ExecutionNotFound``. Each row is written on its own,
    so a failure on one row is counted and the others continue. With
    ``dry_run`` nothing is written and the summary counts what would change.
    """
    summary = SyncSummary()
    running = WorkflowExecution.objects.filter(stop_date__isnull=True).order_by("id")
    for execution in running.iterator():
        summary.checked += 1
        try:
            if dry_run:
                _preview_refresh(execution, summary)
            else:
                _refresh(execution, summary)
        except (AwsError, DatabaseError):
            summary.failed += 1
            logger.exception("Could not refresh execution_id=%s", execution.execution_id)

    missed = WorkflowExecution.objects.select_related("asset", "asset__database").filter(
        status=WorkflowExecution.Status.SUCCEEDED, outputs_registered_at__isnull=True
    )
    for execution in missed.order_by("id").iterator():
        try:
            _register_missed(execution, summary, dry_run=dry_run)
        except (AwsError, DatabaseError):
            summary.failed += 1
            logger.exception("Could not register outputs execution_id=%s", execution.execution_id)
    # A pass that changed nothing logs at DEBUG, because run_embedded syncs every 15 s.
    level = logging.INFO if summary.changes or summary.failed else logging.DEBUG
    logger.log(
        level,
        "Synced executions checked=%d running=%d stopped=%d vanished=%d outputs=%d failed=%d dry_run=%s",
        summary.checked,
        summary.still_running,
        summary.stopped,
        summary.vanished,
        summary.outputs_registered,
        summary.failed,
        dry_run,
    )
    return summary


def _refresh(execution: WorkflowExecution, summary: SyncSummary) -> None:
    result = execution_refresh(execution)
    if result.vanished:
        summary.vanished += 1
        summary.changes.append(f"{execution.execution_id}: vanished, closed as ABORTED")
    elif result.closed:
        summary.stopped += 1
        summary.changes.append(f"{execution.execution_id}: {result.execution.status}")
    else:
        summary.still_running += 1


def _preview_refresh(execution: WorkflowExecution, summary: SyncSummary) -> None:
    if not execution.execution_arn:
        summary.vanished += 1
        summary.changes.append(f"{execution.execution_id}: would close as ABORTED (vanished)")
        return
    try:
        snapshot = stepfunctions.describe_execution(execution_arn=execution.execution_arn)
    except AwsError as error:
        if not stepfunctions.is_missing(error):
            raise
        summary.vanished += 1
        summary.changes.append(f"{execution.execution_id}: would close as ABORTED (vanished)")
        return
    if snapshot.stop_date is None:
        summary.still_running += 1
    else:
        summary.stopped += 1
        summary.changes.append(f"{execution.execution_id}: would record {snapshot.status}")


def _register_missed(execution: WorkflowExecution, summary: SyncSummary, *, dry_run: bool) -> None:
    location = outputs.locate_outputs(execution)
    if dry_run:
        summary.outputs_registered += 1
        where = location.files_key if location else "no output folder"
        summary.changes.append(f"{execution.execution_id}: would register outputs ({where})")
        return
    # An execution without an output folder is still claimed, so it is not searched again.
    location = location or outputs.location_for(f"pipelines/-/-/output/{execution.execution_id}/")
    try:
        result = outputs.outputs_register(execution=execution, location=location)
    except outputs.OutputsNotAuthorized:
        summary.changes.append(f"{execution.execution_id}: outputs not registered (not authorized)")
        return
    if result is not None:
        summary.outputs_registered += 1
        summary.changes.append(
            f"{execution.execution_id}: registered {result.files} file(s), "
            f"{result.metadata_files} metadata file(s)"
        )

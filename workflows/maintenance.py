"""Purge of soft-deleted workflows: the hard delete that follows a soft delete.

A soft delete through the model's ``save()`` already removes the workflow's
state machine (see ``workflows.receivers``), so the purge normally finds
nothing left in Step Functions. It checks anyway, because rows soft-deleted
with ``QuerySet.delete()`` or ``update()`` never reached the receiver, and
after the purge no row would point at their machines.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet

from executions.models import WorkflowExecution
from vams.aws import stepfunctions
from vams.aws.errors import AwsError
from workflows.models import Workflow

logger = logging.getLogger(__name__)

# Workflows per OR-ed execution filter: each adds five bound parameters, and
# SQLite accepts at most 32766 per statement.
EXECUTION_FILTER_CHUNK = 200
PURGE_FIELDS = (
    "database_id",
    "workflow_id",
    "workflow_arn",
    "date_created",
    "deleted_at",
)


@dataclass
class WorkflowPurgeOutcome:
    """The result for one workflow row.

    ``error`` is the AWS error code when the row was kept.
    """

    workflow: Workflow
    purged: bool = False
    state_machine_deleted: bool = False
    error: str = ""

    @property
    def skipped(self) -> bool:
        """True when the row changed under the purge (restored or already gone)."""
        return not self.purged and not self.error


@dataclass
class WorkflowPurgeBatch:
    outcomes: list[WorkflowPurgeOutcome] = field(default_factory=list)
    executions_deleted: int = 0


def purgeable_workflows(*, deleted_before: datetime) -> QuerySet:
    """Return the workflows soft-deleted before ``deleted_before``.

    Only the fields the purge reads are loaded, not the pipeline snapshot.
    """
    return Workflow.all_objects.filter(deleted_at__lt=deleted_before).only(
        *PURGE_FIELDS
    )


class StateMachineListing:
    """The ARNs from one ListStateMachines pass, fetched on first use.

    One listing per run replaces a describe call per row whose machine is
    gone. It is fetched only when a row has an ARN to check, so a run with
    nothing to check makes no Step Functions call. ListStateMachines is
    eventually consistent, so a machine created seconds ago may be missing
    from it, but the machine of a workflow deleted days ago is older.
    """

    def __init__(self) -> None:
        self._arns: set[str] | None = None
        self._fetched = False

    def may_exist(self, arn: str) -> bool:
        """Return False when the listing shows that ``arn`` does not exist.

        Returns True for a listed ARN, and for every ARN when listing failed.
        """
        if not self._fetched:
            self._arns = _list_state_machine_arns()
            self._fetched = True
        return self._arns is None or arn in self._arns


def _list_state_machine_arns() -> set[str] | None:
    try:
        machines = stepfunctions.list_state_machines()
    except AwsError as error:
        logger.warning(
            "Listing state machines failed, describing each one instead code=%s",
            error.code,
        )
        return None
    return {machine.arn for machine in machines}


def workflow_purge_batch(
    *,
    workflows: list[Workflow],
    deleted_before: datetime,
    delete_executions: bool,
    dry_run: bool,
    listing: StateMachineListing | None = None,
) -> WorkflowPurgeBatch:
    """Hard-delete ``workflows`` once their state machines are gone.

    A state machine still present is deleted first, unless a live workflow
    stores the same ARN (a workflow re-created under the same id can get the
    same state machine name). With a ``listing``, only listed machines are
    described. Without one, every row's machine is described. A row whose
    state machine cannot be deleted is kept with ``error`` set.

    The rows, and with ``delete_executions`` their finished executions, are
    deleted in one transaction, and rows no longer soft-deleted before
    ``deleted_before`` by then are skipped. With ``dry_run`` the state
    machines are only described and nothing is written.
    """
    live_arns = _arns_of_live_workflows(workflows)
    batch = WorkflowPurgeBatch()
    for workflow in workflows:
        outcome = WorkflowPurgeOutcome(workflow=workflow)
        try:
            outcome.state_machine_deleted = _remove_state_machine(
                workflow, live_arns=live_arns, listing=listing, dry_run=dry_run
            )
        except AwsError as error:
            outcome.error = error.code
            logger.warning(
                "Kept workflow: checking or deleting its state machine failed pk=%s "
                "database_id=%s workflow_id=%s workflow_arn=%s code=%s",
                workflow.pk,
                workflow.database_id,
                workflow.workflow_id,
                workflow.workflow_arn,
                error.code,
            )
        batch.outcomes.append(outcome)

    ready = [outcome for outcome in batch.outcomes if not outcome.error]
    if dry_run:
        for outcome in ready:
            outcome.purged = True
        if delete_executions:
            batch.executions_deleted = _count_executions(
                [outcome.workflow for outcome in ready]
            )
        return batch

    _delete_rows(
        batch, ready, deleted_before=deleted_before, delete_executions=delete_executions
    )
    return batch


def _delete_rows(
    batch: WorkflowPurgeBatch,
    ready: list[WorkflowPurgeOutcome],
    *,
    deleted_before: datetime,
    delete_executions: bool,
) -> None:
    with transaction.atomic():
        # Lock the rows, and drop any that were restored since they were read.
        still_deleted = set(
            purgeable_workflows(deleted_before=deleted_before)
            .select_for_update()
            .filter(pk__in=[outcome.workflow.pk for outcome in ready])
            .values_list("pk", flat=True)
        )
        purge = [outcome for outcome in ready if outcome.workflow.pk in still_deleted]
        if delete_executions:
            batch.executions_deleted = _delete_executions(
                [outcome.workflow for outcome in purge]
            )
        Workflow.all_objects.filter(pk__in=still_deleted).hard_delete()
    for outcome in purge:
        outcome.purged = True
    if purge:
        logger.info(
            "Purged workflows count=%s first_pk=%s last_pk=%s executions_deleted=%s",
            len(purge),
            purge[0].workflow.pk,
            purge[-1].workflow.pk,
            batch.executions_deleted,
        )


def _arns_of_live_workflows(workflows: list[Workflow]) -> set[str]:
    arns = {workflow.workflow_arn for workflow in workflows if workflow.workflow_arn}
    if not arns:
        return set()
    return set(
        Workflow.objects.filter(workflow_arn__in=arns).values_list(
            "workflow_arn", flat=True
        )
    )


def _remove_state_machine(
    workflow: Workflow,
    *,
    live_arns: set[str],
    listing: StateMachineListing | None,
    dry_run: bool,
) -> bool:
    """Delete the workflow's state machine if it exists, and return whether it did."""
    arn = workflow.workflow_arn
    if not arn or arn in live_arns:
        return False
    if listing is not None and not listing.may_exist(arn):
        return False
    machine = stepfunctions.describe_state_machine(arn=arn)
    if machine is None or machine.status == "DELETING":
        return False
    if not dry_run:
        stepfunctions.delete_state_machine(arn=arn)
    return True


def _executions_filter(workflows: list[Workflow]) -> Q:
    """Match the finished executions of exactly these workflow rows.

    Executions refer to a workflow by database id, workflow id and state
    machine ARN. Machine names carry a random suffix today, so a workflow
    re-created under the same id gets a new ARN, but the match does not rely
    on it. An execution belongs to a deleted row only if it was created while
    that row existed, and a later re-created workflow did not exist then.
    """
    condition = Q(pk__in=[])
    for workflow in workflows:
        condition |= Q(
            workflow_database_id=workflow.database_id,
            workflow_id=workflow.workflow_id,
            workflow_arn=workflow.workflow_arn,
            date_created__gte=workflow.date_created,
            date_created__lte=workflow.deleted_at,
        )
    return condition & Q(stop_date__isnull=False)


def _chunks(workflows: list[Workflow]):
    for start in range(0, len(workflows), EXECUTION_FILTER_CHUNK):
        yield workflows[start : start + EXECUTION_FILTER_CHUNK]


def _count_executions(workflows: list[Workflow]) -> int:
    return sum(
        WorkflowExecution.objects.filter(_executions_filter(chunk)).count()
        for chunk in _chunks(workflows)
    )


def _delete_executions(workflows: list[Workflow]) -> int:
    deleted = 0
    for chunk in _chunks(workflows):
        _, per_model = WorkflowExecution.objects.filter(
            _executions_filter(chunk)
        ).delete()
        deleted += per_model.get(WorkflowExecution._meta.label, 0)
    return deleted

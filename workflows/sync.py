"""Keep each workflow's Step Functions state machine in step with its row.

``state_machine_sync`` and ``state_machine_delete`` run from the Workflow
post_save receiver, inside the caller's transaction, so the AWS call they make
decides whether the row is saved. ``state_machines_reconcile`` repairs what that
cannot cover: rows written without the receiver, machines lost or changed on
the AWS side, and machines left behind by a transaction that rolled back after
the machine was created.
"""

import logging
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from vams.aws import sqs, stepfunctions
from vams.aws.errors import AwsError
from vams.exceptions import DomainError, InvalidInput, Throttled, UpstreamFailure
from workflows.models import Workflow
from workflows.statemachine import DefinitionError, build_definition

logger = logging.getLogger(__name__)

STATE_MACHINE_NAME_MAX_LENGTH = 80
STATE_MACHINE_SUFFIX_LENGTH = 8
STATE_MACHINE_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits

STATE_MACHINE_SYNC_FAILED = (
    "Step Functions could not {action} the state machine for workflow "
    "'{workflow_id}': {code}. Nothing was saved; try again."
)
STATE_MACHINE_DELETE_FAILED = (
    "Step Functions could not delete the state machine for workflow "
    "'{workflow_id}': {code}. The workflow was not deleted; try again."
)
STATE_MACHINE_THROTTLED = (
    "Step Functions is throttling requests, so the state machine for workflow "
    "'{workflow_id}' was not {done}. Try again in a few seconds."
)
STATE_MACHINE_INVALID = (
    "The state machine for workflow '{workflow_id}' could not be built: {reason}"
)


def state_machine_sync(workflow: Workflow) -> str:
    """Create or update the workflow's state machine and store its ARN.

    An existing machine (``workflow_arn`` set and the machine still there) is
    updated in place, so its ARN and execution history stay. Otherwise a new
    machine is created and its ARN stored with a queryset update, which fires no
    second post_save. Raises InvalidInput when the function entries cannot
    become a definition, Throttled when AWS throttles, and UpstreamFailure for
    any other AWS failure.
    """
    action = "update" if workflow.workflow_arn else "create"
    try:
        definition = workflow_definition(workflow)
        machine = current_state_machine(workflow)
        action = "update" if machine is not None else "create"
        arn = write_state_machine(workflow, definition, machine)
    except AwsError as error:
        raise _translate(error, workflow, action=action) from error
    store_state_machine_arn(workflow, arn)
    return arn


def state_machine_delete(workflow: Workflow) -> None:
    """Delete the workflow's state machine, treating one already gone as deleted.

    The row keeps its ``workflow_arn``, which now names no machine. Raises
    Throttled or UpstreamFailure when Step Functions fails.
    """
    if not workflow.workflow_arn:
        logger.info(
            "Workflow has no state machine to delete database_id=%s workflow_id=%s",
            workflow.database_id,
            workflow.workflow_id,
        )
        return
    try:
        stepfunctions.delete_state_machine(arn=workflow.workflow_arn)
    except AwsError as error:
        raise _translate(error, workflow, action="delete") from error


def workflow_definition(workflow: Workflow) -> dict:
    """Build the workflow's definition with the output queue's current URL.

    Raises InvalidInput for function entries that cannot become task states,
    and AwsError when the output queue's URL cannot be read.
    """
    output_queue_url = sqs.queue_url(settings.VAMS_OUTPUT_QUEUE_NAME)
    try:
        return build_definition(
            workflow.workflow_id, workflow.functions, output_queue_url=output_queue_url
        )
    except DefinitionError as error:
        raise InvalidInput(
            STATE_MACHINE_INVALID.format(
                workflow_id=workflow.workflow_id, reason=error
            ),
            code="invalid_state_machine_definition",
        ) from None


def current_state_machine(workflow: Workflow) -> stepfunctions.StateMachine | None:
    """Return the workflow's machine, or None when it has none or it is deleting."""
    if not workflow.workflow_arn:
        return None
    machine = stepfunctions.describe_state_machine(arn=workflow.workflow_arn)
    if machine is None or machine.status != "ACTIVE":
        return None
    return machine


def write_state_machine(
    workflow: Workflow, definition: dict, machine: stepfunctions.StateMachine | None
) -> str:
    """Update ``machine`` in place, or create a machine when it is None.

    Returns the machine's ARN. The update runs even when the definition is
    unchanged, because it also applies the current role.
    """
    if machine is None:
        return stepfunctions.create_state_machine(
            name=state_machine_name(workflow.workflow_id), definition=definition
        )
    stepfunctions.update_state_machine(arn=machine.arn, definition=definition)
    return machine.arn


def store_state_machine_arn(workflow: Workflow, arn: str) -> None:
    if arn == workflow.workflow_arn:
        return
    # A queryset update, so that storing the ARN does not fire post_save again.
    Workflow.all_objects.filter(pk=workflow.pk).update(workflow_arn=arn)
    workflow.workflow_arn = arn
    logger.info(
        "Stored state machine database_id=%s workflow_id=%s workflow_arn=%s",
        workflow.database_id,
        workflow.workflow_id,
        arn,
    )


def state_machine_name(workflow_id: str) -> str:
    """Return a new machine name: prefix, workflow id cut to fit, 8 random characters.

    Step Functions names allow at most 80 characters. The id keeps its last
    characters, and characters that names may not contain become ``_``.
    """
    prefix = settings.VAMS_STATE_MACHINE_PREFIX
    room = STATE_MACHINE_NAME_MAX_LENGTH - len(prefix) - STATE_MACHINE_SUFFIX_LENGTH - 1
    if room < 1:
        raise ImproperlyConfigured(
            f"VAMS_STATE_MACHINE_PREFIX {prefix!r} is too long; use at most "
            f"{STATE_MACHINE_NAME_MAX_LENGTH - STATE_MACHINE_SUFFIX_LENGTH - 2} "
            "characters."
        )
    safe_id = "".join(
        character
        if character.isascii() and (character.isalnum() or character in "-_")
        else "_"
        for character in workflow_id
    )
    suffix = "".join(
        secrets.choice(STATE_MACHINE_SUFFIX_ALPHABET)
        for _ in range(STATE_MACHINE_SUFFIX_LENGTH)
    )
    return f"{prefix}{safe_id[-room:]}-{suffix}"


def _translate(error: AwsError, workflow: Workflow, *, action: str) -> DomainError:
    logger.warning(
        "State machine %s failed database_id=%s workflow_id=%s code=%s request_id=%s",
        action,
        workflow.database_id,
        workflow.workflow_id,
        error.code,
        error.request_id,
    )
    if error.is_throttling:
        done = "deleted" if action == "delete" else "saved"
        return Throttled(
            STATE_MACHINE_THROTTLED.format(workflow_id=workflow.workflow_id, done=done)
        )
    template = (
        STATE_MACHINE_DELETE_FAILED if action == "delete" else STATE_MACHINE_SYNC_FAILED
    )
    return UpstreamFailure(
        template.format(
            action=action, workflow_id=workflow.workflow_id, code=error.code
        )
    )


# Reconciliation ---------------------------------------------------------------

ORPHAN_GRACE = timedelta(minutes=10)


@dataclass(frozen=True)
class ReconcileAction:
    """One repair (create, update or delete), with the error text when it failed."""

    kind: str
    arn: str
    workflow: str = ""
    error: str = ""


@dataclass
class ReconcileSummary:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    failed: int = 0
    actions: list[ReconcileAction] = field(default_factory=list)

    def record(self, action: ReconcileAction) -> None:
        self.actions.append(action)
        if action.error:
            self.failed += 1
        elif action.kind == "create":
            self.created += 1
        elif action.kind == "update":
            self.updated += 1
        else:
            self.deleted += 1


def state_machines_reconcile(
    *,
    dry_run: bool = False,
    orphan_grace: timedelta = ORPHAN_GRACE,
    on_action: Callable[[ReconcileAction], None] | None = None,
) -> ReconcileSummary:
    """Repair state machines so each live workflow has one with its current definition.

    Creates machines for live workflows without one (no ARN, or the machine is
    gone), updates machines whose definition drifted, and deletes machines named
    with ``VAMS_STATE_MACHINE_PREFIX`` that no live workflow owns and that are
    older than ``orphan_grace``. The grace keeps a machine whose workflow save
    has not committed yet. Deployments that share an AWS account and region
    need different prefixes, because the prefix marks the machines that this
    deployment owns.

    Each repair is its own AWS call and row update, so a failure is counted and
    the run goes on. With ``dry_run`` it reports the same actions and changes
    nothing. ``on_action`` is called after each action.
    """
    summary = ReconcileSummary()

    def record(action: ReconcileAction) -> None:
        summary.record(action)
        if on_action is not None:
            on_action(action)

    owned_arns = set()
    for workflow in Workflow.objects.order_by("pk").iterator():
        action = _reconcile_workflow(workflow, dry_run=dry_run)
        if action is None:
            summary.unchanged += 1
        else:
            record(action)
        if workflow.workflow_arn:
            owned_arns.add(workflow.workflow_arn)

    for orphan in _orphan_state_machines(owned_arns, orphan_grace):
        record(_delete_orphan(orphan, dry_run=dry_run))
    return summary


def _reconcile_workflow(workflow: Workflow, *, dry_run: bool) -> ReconcileAction | None:
    label = f"{workflow.database_id}/{workflow.workflow_id}"
    kind = "create"
    arn = workflow.workflow_arn
    try:
        definition = workflow_definition(workflow)
        machine = current_state_machine(workflow)
        if machine is not None:
            if machine.definition == definition:
                return None
            kind = "update"
        if not dry_run:
            arn = write_state_machine(workflow, definition, machine)
            store_state_machine_arn(workflow, arn)
    except (AwsError, DomainError) as error:
        logger.warning(
            "Reconcile failed to %s state machine "
            "database_id=%s workflow_id=%s error=%s",
            kind,
            workflow.database_id,
            workflow.workflow_id,
            _error_text(error),
        )
        return ReconcileAction(
            kind=kind, arn=arn, workflow=label, error=_error_text(error)
        )
    return ReconcileAction(kind=kind, arn=arn, workflow=label)


def _orphan_state_machines(
    owned_arns: set[str], orphan_grace: timedelta
) -> list[stepfunctions.StateMachineSummary]:
    created_before = timezone.now() - orphan_grace
    machines = stepfunctions.list_state_machines(
        name_prefix=settings.VAMS_STATE_MACHINE_PREFIX
    )
    return [
        machine
        for machine in machines
        if machine.arn not in owned_arns
        and _is_older(machine.creation_date, created_before)
    ]


def _is_older(creation_date: datetime | None, created_before: datetime) -> bool:
    # A machine without a creation date counts as old enough to delete.
    return creation_date is None or creation_date <= created_before


def _delete_orphan(
    machine: stepfunctions.StateMachineSummary, *, dry_run: bool
) -> ReconcileAction:
    if not dry_run:
        try:
            stepfunctions.delete_state_machine(arn=machine.arn)
        except AwsError as error:
            logger.warning(
                "Reconcile failed to delete state machine arn=%s code=%s",
                machine.arn,
                error.code,
            )
            return ReconcileAction(
                kind="delete", arn=machine.arn, error=_error_text(error)
            )
    return ReconcileAction(kind="delete", arn=machine.arn)


def _error_text(error: Exception) -> str:
    if isinstance(error, AwsError):
        return error.code
    if isinstance(error, DomainError):
        return error.message
    return str(error)

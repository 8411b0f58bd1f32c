"""Repair drift between live workflows and their Step Functions state machines."""

from datetime import timedelta

from vams.management.batching import BatchReport, MaintenanceCommand, usage_error
from workflows.sync import ORPHAN_GRACE, ReconcileAction, state_machines_reconcile

# A week is ample for a save in progress, and the cap keeps timedelta() from
# overflowing on a huge value.
MAX_ORPHAN_GRACE_MINUTES = 7 * 24 * 60

SUMMARY = (
    "Reconciled state machines: {created} created, {updated} updated, "
    "{deleted} deleted, {unchanged} unchanged, {failed} failed."
)
DRY_RUN_SUMMARY = (
    "Dry run, nothing changed. Would create {created}, update {updated} and "
    "delete {deleted} state machines; {unchanged} unchanged, {failed} failed."
)
ACTION_DONE = {
    "create": "Created state machine {arn} for workflow {workflow}.",
    "update": "Updated state machine {arn} of workflow {workflow}.",
    "delete": "Deleted state machine {arn}: no live workflow owns it.",
}
ACTION_DRY_RUN = {
    "create": "Would create a state machine for workflow {workflow}.",
    "update": "Would update state machine {arn} of workflow {workflow}.",
    "delete": "Would delete state machine {arn}: no live workflow owns it.",
}
ACTION_FAILED = "Failed to {kind} the state machine {target}: {error}"
FAILURES = (
    "{failed} state machine repairs failed, and the log contains each error. "
    "Re-run the command to retry them."
)
ORPHAN_GRACE_INVALID = (
    "--orphan-grace-minutes must be 0 or more and at most {maximum}, not {value}."
)


class Command(MaintenanceCommand):
    help = (
        "Create missing state machines for live workflows, update drifted "
        "definitions and delete state machines that no live workflow owns."
    )
    # The reconcile service walks workflows and machines itself, not in
    # primary-key batches, so there is no --batch-size.
    batched = False

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--orphan-grace-minutes",
            type=int,
            default=int(ORPHAN_GRACE.total_seconds() // 60),
            help=(
                "Minutes a state machine without a live workflow is kept after its "
                "creation, so a workflow save still in progress keeps its machine "
                f"(0 to {MAX_ORPHAN_GRACE_MINUTES})."
            ),
        )

    def handle(self, *args, **options) -> None:
        grace_minutes = options["orphan_grace_minutes"]
        if not 0 <= grace_minutes <= MAX_ORPHAN_GRACE_MINUTES:
            raise usage_error(
                ORPHAN_GRACE_INVALID.format(
                    maximum=MAX_ORPHAN_GRACE_MINUTES, value=grace_minutes
                )
            )
        dry_run = options["dry_run"]
        report = BatchReport(self, verbosity=options["verbosity"])

        def report_action(action: ReconcileAction) -> None:
            if action.error:
                if action.workflow:
                    target = f"of workflow {action.workflow}"
                else:
                    target = action.arn
                report.object_failed(
                    ACTION_FAILED.format(
                        kind=action.kind, target=target, error=action.error
                    )
                )
                return
            templates = ACTION_DRY_RUN if dry_run else ACTION_DONE
            report.object_done(
                templates[action.kind].format(arn=action.arn, workflow=action.workflow)
            )

        summary = state_machines_reconcile(
            dry_run=dry_run,
            orphan_grace=timedelta(minutes=grace_minutes),
            on_action=report_action,
        )

        template = DRY_RUN_SUMMARY if dry_run else SUMMARY
        report.finish(
            template.format(
                created=summary.created,
                updated=summary.updated,
                deleted=summary.deleted,
                unchanged=summary.unchanged,
                failed=summary.failed,
            ),
            noun="state machine repairs",
            failure_message=FAILURES.format(failed=summary.failed),
        )

"""Repair drift between live workflows and their Step Functions state machines."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from workflows.sync import ORPHAN_GRACE, ReconcileAction, state_machines_reconcile

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
ACTION_FAILED = "Could not {kind} the state machine {target}: {error}"
FAILURES = (
    "{failed} state machine repairs failed; the log has each error. "
    "Re-run the command to retry them."
)


class Command(BaseCommand):
    help = (
        "Create missing state machines for live workflows, update drifted "
        "definitions and delete state machines that no live workflow owns."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report what would change and change nothing.",
        )
        parser.add_argument(
            "--orphan-grace-minutes",
            type=int,
            default=int(ORPHAN_GRACE.total_seconds() // 60),
            help=(
                "Minutes a state machine without a live workflow is kept after its "
                "creation, so a workflow save still in progress keeps its machine."
            ),
        )

    def handle(self, *args, **options) -> None:
        if options["orphan_grace_minutes"] < 0:
            raise CommandError(
                "--orphan-grace-minutes must be 0 or more.", returncode=2
            )
        dry_run = options["dry_run"]
        verbosity = options["verbosity"]

        def report(action: ReconcileAction) -> None:
            if action.error:
                target = (
                    f"of workflow {action.workflow}" if action.workflow else action.arn
                )
                line = ACTION_FAILED.format(
                    kind=action.kind, target=target, error=action.error
                )
                self.stderr.write(self.style.ERROR(line))
            elif verbosity >= 2:
                templates = ACTION_DRY_RUN if dry_run else ACTION_DONE
                line = templates[action.kind].format(
                    arn=action.arn, workflow=action.workflow
                )
                self.stdout.write(line)

        summary = state_machines_reconcile(
            dry_run=dry_run,
            orphan_grace=timedelta(minutes=options["orphan_grace_minutes"]),
            on_action=report,
        )
        if verbosity >= 1:
            template = DRY_RUN_SUMMARY if dry_run else SUMMARY
            line = template.format(
                created=summary.created,
                updated=summary.updated,
                deleted=summary.deleted,
                unchanged=summary.unchanged,
                failed=summary.failed,
            )
            self.stdout.write(self.style.SUCCESS(line))
        if summary.failed:
            raise CommandError(FAILURES.format(failed=summary.failed))

"""Hard-delete workflows that were soft-deleted long enough ago."""

from collections import Counter

from vams.management.batching import (
    BatchReport,
    MaintenanceCommand,
    add_older_than_days_argument,
    days_ago,
    keyset_batches,
    validate_batch_size,
    validate_older_than_days,
)
from workflows.maintenance import (
    StateMachineListing,
    purgeable_workflows,
    workflow_purge_batch,
)

SUMMARY = (
    "Purged {purged} workflows (state machines deleted: {state_machines}, "
    "executions deleted: {executions}, skipped: {skipped}, failed: {failed})."
)
DRY_RUN_SUMMARY = (
    "Dry run, nothing changed. Would purge {purged} workflows "
    "(state machines to delete: {state_machines}, executions to delete: "
    "{executions}, failed: {failed})."
)
WORKFLOW_PURGED = "Purged workflow {label}{state_machine}."
WORKFLOW_WOULD_PURGE = "Would purge workflow {label}{state_machine}."
WORKFLOW_SKIPPED = (
    "Skipped workflow {label}: it was restored or purged by someone else."
)
WORKFLOW_FAILED = (
    "Kept workflow {label}: checking or deleting its state machine failed ({code}). "
    "It is retried on the next run."
)


class Command(MaintenanceCommand):
    help = (
        "Hard-delete workflows soft-deleted more than N days ago, after deleting "
        "any state machine of theirs that still exists."
    )

    def add_arguments(self, parser) -> None:
        add_older_than_days_argument(parser, what="purge workflows soft-deleted")
        executions = parser.add_mutually_exclusive_group()
        executions.add_argument(
            "--keep-executions",
            dest="delete_executions",
            action="store_false",
            help="Keep the execution history of purged workflows (the default).",
        )
        executions.add_argument(
            "--delete-executions",
            dest="delete_executions",
            action="store_true",
            help=(
                "Also delete the finished executions of each purged workflow row. "
                "Executions of a live workflow with the same id are kept."
            ),
        )
        parser.set_defaults(delete_executions=False)
        super().add_arguments(parser)

    def handle(self, *args, **options) -> None:
        older_than_days = validate_older_than_days(options["older_than_days"])
        batch_size = validate_batch_size(options["batch_size"])
        dry_run = options["dry_run"]
        deleted_before = days_ago(older_than_days)
        queryset = purgeable_workflows(deleted_before=deleted_before)
        report = BatchReport(
            self, verbosity=options["verbosity"], count_rows=queryset.count
        )
        counts = Counter()
        listing = StateMachineListing()

        for workflows in keyset_batches(queryset, batch_size=batch_size):
            batch = workflow_purge_batch(
                workflows=workflows,
                deleted_before=deleted_before,
                delete_executions=options["delete_executions"],
                dry_run=dry_run,
                listing=listing,
            )
            counts["executions"] += batch.executions_deleted
            for outcome in batch.outcomes:
                self._report_outcome(report, outcome, counts, dry_run=dry_run)
            report.batch_done(rows=len(workflows))

        template = DRY_RUN_SUMMARY if dry_run else SUMMARY
        report.finish(
            template.format(
                purged=counts["purged"],
                state_machines=counts["state_machines"],
                executions=counts["executions"],
                skipped=counts["skipped"],
                failed=report.failed,
            ),
            noun="workflows",
        )

    def _report_outcome(self, report, outcome, counts, *, dry_run: bool) -> None:
        workflow = outcome.workflow
        label = f"{workflow.database_id}/{workflow.workflow_id} (row {workflow.pk})"
        if outcome.error:
            report.object_failed(
                WORKFLOW_FAILED.format(label=label, code=outcome.error)
            )
            return
        if outcome.skipped:
            counts["skipped"] += 1
            report.object_done(WORKFLOW_SKIPPED.format(label=label))
            return
        counts["purged"] += 1
        counts["state_machines"] += outcome.state_machine_deleted
        state_machine = ""
        if outcome.state_machine_deleted:
            state_machine = " and its state machine"
        template = WORKFLOW_WOULD_PURGE if dry_run else WORKFLOW_PURGED
        report.object_done(template.format(label=label, state_machine=state_machine))

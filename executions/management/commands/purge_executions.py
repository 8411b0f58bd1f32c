"""Delete finished execution rows past their retention period."""

from executions.maintenance import (
    FINISHED_STATUSES,
    execution_purge_batch,
    parse_finished_statuses,
    purgeable_executions,
)
from vams.management.batching import (
    BatchReport,
    MaintenanceCommand,
    add_older_than_days_argument,
    days_ago,
    keyset_batches,
    usage_error,
    validate_batch_size,
    validate_older_than_days,
)

SUMMARY = "Purged {purged} executions (statuses: {statuses})."
DRY_RUN_SUMMARY = (
    "Dry run, nothing changed. Would purge {purged} executions (statuses: {statuses})."
)
EXECUTION_PURGED = "Purged execution {label}."
EXECUTION_WOULD_PURGE = "Would purge execution {label}."


class Command(MaintenanceCommand):
    help = "Delete finished execution rows that stopped more than N days ago."

    def add_arguments(self, parser) -> None:
        add_older_than_days_argument(parser, what="purge executions that stopped")
        parser.add_argument(
            "--status",
            metavar="STATUS[,STATUS...]",
            help=(
                "Comma-separated statuses to purge, out of "
                f"{', '.join(FINISHED_STATUSES)} (default: all of them)."
            ),
        )
        super().add_arguments(parser)

    def handle(self, *args, **options) -> None:
        older_than_days = validate_older_than_days(options["older_than_days"])
        batch_size = validate_batch_size(options["batch_size"])
        try:
            statuses = parse_finished_statuses(options["status"])
        except ValueError as error:
            raise usage_error(str(error)) from None
        dry_run = options["dry_run"]
        stopped_before = days_ago(older_than_days)
        queryset = purgeable_executions(
            stopped_before=stopped_before, statuses=statuses
        )
        report = BatchReport(
            self, verbosity=options["verbosity"], count_rows=queryset.count
        )
        purged = 0

        for executions in keyset_batches(queryset, batch_size=batch_size):
            deleted = execution_purge_batch(
                executions=executions,
                stopped_before=stopped_before,
                statuses=statuses,
                dry_run=dry_run,
            )
            purged += len(deleted)
            template = EXECUTION_WOULD_PURGE if dry_run else EXECUTION_PURGED
            for execution in deleted:
                report.object_done(template.format(label=_label(execution)))
            report.batch_done(rows=len(executions))

        template = DRY_RUN_SUMMARY if dry_run else SUMMARY
        report.finish(
            template.format(purged=purged, statuses=",".join(statuses)),
            noun="executions",
        )


def _label(execution) -> str:
    workflow = f"{execution.workflow_database_id}/{execution.workflow_id}"
    stopped = f"{execution.stop_date:%Y-%m-%d}"
    status = f"{execution.status}, stopped {stopped}"
    return f"{execution.execution_id} of {workflow} ({status})"

"""manage.py sync_executions: bring stored executions up to date with Step Functions."""

from executions.sync import executions_sync
from vams.management.batching import BatchReport, MaintenanceCommand

SUMMARY = (
    "{prefix}checked {checked} running execution(s): {still_running} still running, "
    "{stopped} stopped, {vanished} vanished; registered outputs of {outputs_registered} "
    "succeeded execution(s); {failed} failed."
)
FAILURES = (
    "{failed} execution(s) could not be synced; the log has each error. "
    "Re-run the command to retry them."
)


class Command(MaintenanceCommand):
    help = (
        "Refresh every running execution from Step Functions, close the ones whose "
        "execution no longer exists, and register missed outputs of succeeded ones."
    )
    # The sync service walks the running executions itself and writes each
    # row on its own, so there is no --batch-size.
    batched = False

    def handle(self, *args, **options) -> None:
        dry_run = options["dry_run"]
        report = BatchReport(self, verbosity=options["verbosity"])

        summary = executions_sync(dry_run=dry_run)

        for line in summary.changes:
            report.object_done(line)
        report.add_failures(summary.failed)
        report.finish(
            SUMMARY.format(prefix="Dry run: " if dry_run else "", **vars(summary)),
            noun="executions",
            failure_message=FAILURES.format(failed=summary.failed),
        )

"""manage.py sync_executions: bring stored executions up to date with Step Functions."""

from django.core.management.base import BaseCommand, CommandError

from executions.sync import executions_sync

SUMMARY = (
    "{prefix}checked {checked} running execution(s): {still_running} still running, "
    "{stopped} stopped, {vanished} vanished; registered outputs of {outputs_registered} "
    "succeeded execution(s); {failed} failed."
)


class Command(BaseCommand):
    help = (
        "Refresh every running execution from Step Functions, close the ones whose "
        "execution no longer exists, and register missed outputs of succeeded ones."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report what would change and write nothing.",
        )

    def handle(self, *args, **options) -> None:
        dry_run = options["dry_run"]
        verbosity = options["verbosity"]
        summary = executions_sync(dry_run=dry_run)
        if verbosity >= 2:
            for line in summary.changes:
                self.stdout.write(line)
        if verbosity >= 1:
            text = SUMMARY.format(prefix="Dry run: " if dry_run else "", **vars(summary))
            style = self.style.WARNING if summary.failed else self.style.SUCCESS
            self.stdout.write(style(text))
        if summary.failed:
            raise CommandError(
                f"{summary.failed} execution(s) could not be synced; the log has each error. "
                "Re-run the command to retry them."
            )

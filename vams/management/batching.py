"""Conventions shared by the maintenance commands an operator schedules.

Every such command:

- takes ``--dry-run``, which reports and changes nothing;
- takes ``--batch-size`` (default 500) when it works through a table in
  batches, and ``--older-than-days`` where rows age out;
- in batches, reads rows in primary-key order with a keyset query per batch,
  and its service writes each batch in its own transaction. An interrupted
  run therefore loses at most the batch in flight, and a re-run finishes it;
- in batches, shows a progress line only when stdout is a terminal;
- prints one summary line with counts at verbosity 1, one line per object at
  verbosity 2, and nothing but errors at verbosity 0;
- counts failed objects, keeps going, and raises ``CommandError`` (exit 1) at
  the end when any failed;
- rejects invalid arguments with ``CommandError(..., returncode=2)``.

``MaintenanceCommand`` gives a command the parser and the arguments.
``keyset_batches`` yields the rows, and ``BatchReport`` writes the output.
"""

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Model, QuerySet
from django.utils import timezone

DEFAULT_BATCH_SIZE = 500
# A batch's primary keys go into one IN (...) clause. This cap keeps it under
# SQLite's default limit of 32766 bound variables (SQLite 3.32 and later) and
# PostgreSQL's 65535.
MAX_BATCH_SIZE = 10_000
# Older cutoffs fall before year 1, which datetime cannot represent.
MAX_OLDER_THAN_DAYS = 36_500
USAGE_EXIT_CODE = 2

BATCH_SIZE_INVALID = "--batch-size must be between 1 and {maximum}, not {value}."
OLDER_THAN_DAYS_INVALID = (
    "--older-than-days must be a number of days between 0 and {maximum}, not {value}."
)
FAILURES_SUMMARY = (
    "{failed} of {total} {noun} failed, and the log contains each error. "
    "Re-run the command to retry them."
)


def usage_error(message: str) -> CommandError:
    """Return the CommandError for an invalid argument, which exits with status 2."""
    return CommandError(message, returncode=USAGE_EXIT_CODE)


class UsageErrorParser(CommandParser):
    """A command parser whose errors exit with status 2 under ``call_command`` too.

    From the command line, argparse already prints the usage and exits with 2.
    Under ``call_command``, Django's parser raises a plain ``CommandError``
    (status 1) instead.
    """

    def error(self, message):
        if self.called_from_command_line:
            super().error(message)
        raise usage_error(f"Error: {message}")


class MaintenanceCommand(BaseCommand):
    """A management command that takes ``--dry-run`` and ``--batch-size``.

    A command whose service does not work in batches sets ``batched = False``
    and takes only ``--dry-run``.
    """

    batched = True

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # BaseCommand builds a CommandParser itself and has no hook for the
        # class. Swapping the class is safe because UsageErrorParser only
        # overrides error() and adds no state.
        parser.__class__ = UsageErrorParser
        return parser

    def add_arguments(self, parser) -> None:
        add_dry_run_argument(parser)
        if self.batched:
            add_batch_size_argument(parser)


def add_dry_run_argument(parser) -> None:
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="Report what the command would do and change nothing.",
    )


def add_batch_size_argument(parser) -> None:
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=(
            "Rows read and written per transaction, 1 to "
            f"{MAX_BATCH_SIZE} (default {DEFAULT_BATCH_SIZE})."
        ),
    )


def add_older_than_days_argument(parser, *, what: str) -> None:
    parser.add_argument(
        "--older-than-days",
        type=int,
        required=True,
        metavar="N",
        help=f"Only {what} more than N days ago (0 to {MAX_OLDER_THAN_DAYS}).",
    )


def validate_batch_size(value) -> int:
    """Return ``value`` as an int, or raise the usage error for a bad batch size."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise usage_error(
            BATCH_SIZE_INVALID.format(maximum=MAX_BATCH_SIZE, value=value)
        )
    if not 1 <= value <= MAX_BATCH_SIZE:
        raise usage_error(
            BATCH_SIZE_INVALID.format(maximum=MAX_BATCH_SIZE, value=value)
        )
    return value


def validate_older_than_days(value) -> int:
    """Return ``value`` as an int, or raise the usage error for a bad day count."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise usage_error(
            OLDER_THAN_DAYS_INVALID.format(maximum=MAX_OLDER_THAN_DAYS, value=value)
        )
    if not 0 <= value <= MAX_OLDER_THAN_DAYS:
        raise usage_error(
            OLDER_THAN_DAYS_INVALID.format(maximum=MAX_OLDER_THAN_DAYS, value=value)
        )
    return value


def days_ago(days: int) -> datetime:
    """Return the aware datetime ``days`` whole days before now."""
    return timezone.now() - timedelta(days=days)


def keyset_batches(queryset: QuerySet, *, batch_size: int) -> Iterator[list[Model]]:
    """Yield the rows of ``queryset`` in primary-key order, ``batch_size`` at a time.

    Each batch is a fresh query for keys after the last one yielded. Rows that
    earlier batches deleted or left in place therefore never shift later
    batches, and the loop ends even when no row changes (a dry run, failures).
    """
    ordered = queryset.order_by("pk")
    last_pk = None
    while True:
        page = ordered if last_pk is None else ordered.filter(pk__gt=last_pk)
        rows = list(page[:batch_size])
        if not rows:
            return
        yield rows
        last_pk = rows[-1].pk


class BatchReport:
    """Output of a batched command: progress, per-object lines, summary, failures.

    ``count_rows`` returns the number of rows the run expects, for the
    progress line. It is called once, and only when the progress line is
    shown, because a COUNT over a large table is not free.
    """

    def __init__(
        self,
        command: BaseCommand,
        *,
        verbosity: int,
        count_rows: Callable[[], int] | None = None,
    ):
        self.command = command
        self.verbosity = verbosity
        self.processed = 0
        self.failed = 0
        self._progress_on_screen = False
        self._show_progress = verbosity >= 1 and command.stdout.isatty()
        self.total = count_rows() if self._show_progress and count_rows else None

    def object_done(self, text: str) -> None:
        """Print one object's line at verbosity 2."""
        if self.verbosity >= 2:
            self._clear_progress()
            self.command.stdout.write(text)

    def object_failed(self, text: str) -> None:
        """Count a failed object and print its error at verbosity 1 and above."""
        self.failed += 1
        if self.verbosity >= 1:
            self._clear_progress()
            self.command.stderr.write(text, self.command.style.ERROR)

    def add_failures(self, count: int) -> None:
        """Count failures that a service already logged one by one."""
        self.failed += count

    def batch_done(self, *, rows: int) -> None:
        """Add a finished batch of ``rows`` rows and redraw the progress line."""
        self.processed += rows
        if not self._show_progress:
            return
        if self.total:
            line = f"{self.processed} of {self.total} rows processed"
        else:
            line = f"{self.processed} rows processed"
        self.command.stdout.write(f"\r\x1b[K{line}", ending="")
        self.command.stdout.flush()
        self._progress_on_screen = True

    def finish(
        self,
        summary: str,
        *,
        noun: str,
        total: int | None = None,
        failure_message: str | None = None,
    ) -> None:
        """Print the summary, then raise ``CommandError`` if any object failed.

        The error is ``failure_message`` when given, else ``FAILURES_SUMMARY``
        with ``noun`` (the objects, in the plural) and ``total`` (how many were
        attempted, by default the rows processed).
        """
        self._clear_progress()
        if self.verbosity >= 1:
            style = (
                self.command.style.WARNING
                if self.failed
                else self.command.style.SUCCESS
            )
            self.command.stdout.write(summary, style)
        if not self.failed:
            return
        if failure_message is None:
            attempted = self.processed if total is None else total
            failure_message = FAILURES_SUMMARY.format(
                failed=self.failed, total=attempted, noun=noun
            )
        raise CommandError(failure_message)

    def _clear_progress(self) -> None:
        if self._progress_on_screen:
            self.command.stdout.write("\r\x1b[K", ending="")
            self._progress_on_screen = False

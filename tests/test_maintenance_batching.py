import io
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from executions.models import WorkflowExecution
from tests.factories import make_asset, make_user
from vams.management import batching

pytestmark = pytest.mark.django_db


class TerminalOutput(io.StringIO):
    """Captured output that reports itself as a terminal."""

    def isatty(self) -> bool:
        return True


def make_users(count: int) -> list[int]:
    return [make_user(f"user-{index}").pk for index in range(count)]


def make_finished_execution():
    asset = make_asset(asset_id=f"a{uuid.uuid4().hex[:8]}")
    stop_date = timezone.now() - timedelta(days=40)
    return WorkflowExecution.objects.create(
        execution_id=uuid.uuid4(),
        workflow_database_id="db-1",
        workflow_id="wf-1",
        asset=asset,
        input_asset_file_key=f"{asset.asset_id}/model.obj",
        status="FAILED",
        start_date=stop_date - timedelta(minutes=5),
        stop_date=stop_date,
    )


def test_keyset_batches_yields_every_row_once():
    pks = make_users(7)
    users = get_user_model().objects.all()

    batches = list(batching.keyset_batches(users, batch_size=3))

    assert [len(batch) for batch in batches] == [3, 3, 1]
    assert [user.pk for batch in batches for user in batch] == sorted(pks)


def test_keyset_batches_unaffected_by_deleted_rows():
    pks = make_users(6)
    users = get_user_model().objects.all()
    seen = []

    for batch in batching.keyset_batches(users, batch_size=2):
        seen.extend(user.pk for user in batch)
        get_user_model().objects.filter(pk__in=[user.pk for user in batch]).delete()

    assert seen == sorted(pks)


def test_keyset_batches_empty_queryset():
    users = get_user_model().objects.none()

    assert list(batching.keyset_batches(users, batch_size=5)) == []


@pytest.mark.parametrize(
    "value", [0, -1, batching.MAX_BATCH_SIZE + 1, "10", True, None]
)
def test_validate_batch_size_rejects(value):
    with pytest.raises(CommandError) as raised:
        batching.validate_batch_size(value)

    assert raised.value.returncode == 2
    assert str(raised.value) == batching.BATCH_SIZE_INVALID.format(
        maximum=batching.MAX_BATCH_SIZE, value=value
    )


@pytest.mark.parametrize(
    "value", [-1, batching.MAX_OLDER_THAN_DAYS + 1, 10**9, "7", False, None, 1.5]
)
def test_validate_older_than_days_rejects(value):
    with pytest.raises(CommandError) as raised:
        batching.validate_older_than_days(value)

    assert raised.value.returncode == 2
    assert str(raised.value) == batching.OLDER_THAN_DAYS_INVALID.format(
        maximum=batching.MAX_OLDER_THAN_DAYS, value=value
    )


def test_validate_accepts_bounds():
    assert batching.validate_batch_size(1) == 1
    assert (
        batching.validate_batch_size(batching.MAX_BATCH_SIZE) == batching.MAX_BATCH_SIZE
    )
    assert batching.validate_older_than_days(0) == 0
    assert batching.validate_older_than_days(batching.MAX_OLDER_THAN_DAYS) == 36_500


def test_batch_report_progress_on_terminal():
    for _ in range(3):
        make_finished_execution()
    stdout = TerminalOutput()

    call_command(
        "purge_executions", "--older-than-days=30", "--batch-size=2", stdout=stdout
    )

    output = stdout.getvalue()
    assert "\r\x1b[K2 of 3 rows processed" in output
    assert "\r\x1b[K3 of 3 rows processed" in output
    assert output.endswith(
        "Purged 3 executions (statuses: SUCCEEDED,FAILED,TIMED_OUT,ABORTED).\n"
    )


def test_batch_report_no_progress_off_terminal():
    for _ in range(3):
        make_finished_execution()
    stdout = io.StringIO()

    call_command(
        "purge_executions", "--older-than-days=30", "--batch-size=2", stdout=stdout
    )

    assert "\r" not in stdout.getvalue()
    assert "rows processed" not in stdout.getvalue()


def test_batch_report_no_progress_at_verbosity_0():
    make_finished_execution()
    stdout = TerminalOutput()

    call_command("purge_executions", "--older-than-days=30", verbosity=0, stdout=stdout)

    assert stdout.getvalue() == ""


def test_batch_report_clears_progress_before_lines():
    make_finished_execution()
    make_finished_execution()
    stdout = TerminalOutput()

    call_command(
        "purge_executions",
        "--older-than-days=30",
        "--batch-size=1",
        verbosity=2,
        stdout=stdout,
    )

    lines = stdout.getvalue().split("\n")
    assert lines[1].startswith("\r\x1b[K1 of 2 rows processed\r\x1b[KPurged execution ")
    assert lines[2].startswith("\r\x1b[K")
    assert "Purged 2 executions" in lines[2]


def test_maintenance_command_unbatched_takes_only_dry_run():
    command = type("Command", (batching.MaintenanceCommand,), {"batched": False})()
    parser = command.create_parser("manage.py", "example")

    options = parser.parse_args(["--dry-run"])

    assert options.dry_run is True
    assert not hasattr(options, "batch_size")


def test_maintenance_command_parser_error_exits_2():
    parser = batching.MaintenanceCommand().create_parser("manage.py", "example")

    with pytest.raises(CommandError) as raised:
        parser.parse_args(["--batch-size", "many"])

    assert raised.value.returncode == 2
    assert str(raised.value) == (
        "Error: argument --batch-size: invalid int value: 'many'"
    )


def test_batch_report_counts_service_failures():
    stdout = io.StringIO()
    command = BaseCommand(stdout=stdout, stderr=io.StringIO())
    report = batching.BatchReport(command, verbosity=1)
    report.add_failures(2)

    with pytest.raises(CommandError) as raised:
        report.finish("Checked 5 items.", noun="items", total=5)

    assert raised.value.returncode == 1
    assert str(raised.value) == batching.FAILURES_SUMMARY.format(
        failed=2, total=5, noun="items"
    )
    assert stdout.getvalue() == "Checked 5 items.\n"


def test_batch_report_finish_without_failures_returns():
    stdout = io.StringIO()
    command = BaseCommand(stdout=stdout, stderr=io.StringIO())
    report = batching.BatchReport(command, verbosity=0)

    report.finish("Checked 0 items.", noun="items")

    assert stdout.getvalue() == ""


def test_batch_report_custom_failure_message():
    command = BaseCommand(stdout=io.StringIO(), stderr=io.StringIO())
    report = batching.BatchReport(command, verbosity=1)
    report.add_failures(1)

    with pytest.raises(CommandError) as raised:
        report.finish("Done.", noun="items", failure_message="1 item failed.")

    assert str(raised.value) == "1 item failed."
    assert raised.value.returncode == 1

"""Shared maintenance conventions on reconcile_state_machines and sync_executions."""

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from executions.management.commands import sync_executions
from workflows.management.commands import reconcile_state_machines as reconcile

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--orphan-grace-minutes", "-1"],
            reconcile.ORPHAN_GRACE_INVALID.format(
                maximum=reconcile.MAX_ORPHAN_GRACE_MINUTES, value=-1
            ),
        ),
        (
            ["--orphan-grace-minutes", str(10**12)],
            reconcile.ORPHAN_GRACE_INVALID.format(
                maximum=reconcile.MAX_ORPHAN_GRACE_MINUTES, value=10**12
            ),
        ),
        (
            ["--orphan-grace-minutes", "soon"],
            "Error: argument --orphan-grace-minutes: invalid int value: 'soon'",
        ),
        (["--batch-size", "10"], "Error: unrecognized arguments: --batch-size 10"),
    ],
)
def test_reconcile_state_machines_rejects_bad_arguments(arguments, message):
    with pytest.raises(CommandError, match=re.escape(message)) as raised:
        call_command(
            "reconcile_state_machines",
            *arguments,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )

    assert raised.value.returncode == 2


def test_reconcile_state_machines_verbosity_0_prints_nothing():
    stdout = io.StringIO()
    stderr = io.StringIO()

    call_command("reconcile_state_machines", verbosity=0, stdout=stdout, stderr=stderr)

    assert stdout.getvalue() == ""
    assert stderr.getvalue() == ""


def test_reconcile_state_machines_summary_line():
    stdout = io.StringIO()

    call_command("reconcile_state_machines", "--dry-run", stdout=stdout)

    assert stdout.getvalue().startswith("Dry run, nothing changed. Would create 0,")
    assert len(stdout.getvalue().splitlines()) == 1


def test_sync_executions_rejects_unknown_argument():
    with pytest.raises(CommandError) as raised:
        call_command("sync_executions", "--batch-size", "10", stdout=io.StringIO())

    assert raised.value.returncode == 2
    assert str(raised.value) == "Error: unrecognized arguments: --batch-size 10"


def test_sync_executions_verbosity_0_prints_nothing():
    stdout = io.StringIO()
    stderr = io.StringIO()

    call_command("sync_executions", verbosity=0, stdout=stdout, stderr=stderr)

    assert stdout.getvalue() == ""
    assert stderr.getvalue() == ""


def test_sync_executions_failures_exit_1(monkeypatch):
    from executions.sync import SyncSummary

    failing = SyncSummary(checked=3, still_running=1, failed=2)
    monkeypatch.setattr(sync_executions, "executions_sync", lambda **kwargs: failing)
    stdout = io.StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("sync_executions", stdout=stdout)

    assert raised.value.returncode == 1
    assert str(raised.value) == sync_executions.FAILURES.format(failed=2)
    assert stdout.getvalue().strip().endswith("2 failed.")

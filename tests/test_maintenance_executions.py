import io
import os
import re
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import QuerySet
from django.utils import timezone

from executions import maintenance
from executions.management.commands import purge_executions as command
from executions.models import WorkflowExecution
from tests.factories import make_asset
from vams.management import batching

pytestmark = pytest.mark.django_db

REPO_ROOT = Path(__file__).resolve().parent.parent
ALLOWED = "SUCCEEDED, FAILED, TIMED_OUT, ABORTED"


def make_execution(
    status="FAILED", *, stopped_days_ago=40, registered=True, workflow_id="wf-1"
):
    """Insert an execution; ``stopped_days_ago=None`` makes a running one."""
    now = timezone.now()
    asset = make_asset(asset_id=f"a{uuid.uuid4().hex[:8]}")
    stop_date = None
    if stopped_days_ago is not None:
        stop_date = now - timedelta(days=stopped_days_ago)
    return WorkflowExecution.objects.create(
        execution_id=uuid.uuid4(),
        workflow_database_id="db-1",
        workflow_id=workflow_id,
        workflow_arn="arn:aws:states:us-east-1:123456789012:stateMachine:vams-db-1-wf-1",
        asset=asset,
        input_asset_file_key=f"{asset.asset_id}/model.obj",
        status=status,
        start_date=now - timedelta(days=60),
        stop_date=stop_date,
        outputs_registered_at=stop_date if registered and stop_date else None,
    )


def purge(*args, **options):
    stdout = io.StringIO()
    stderr = io.StringIO()
    call_command("purge_executions", *args, stdout=stdout, stderr=stderr, **options)
    return stdout.getvalue(), stderr.getvalue()


def remaining_pks() -> set[int]:
    return set(WorkflowExecution.objects.values_list("pk", flat=True))


def test_purge_executions_removes_only_old_finished_rows():
    running = make_execution("RUNNING", stopped_days_ago=None)
    new = make_execution("NEW", stopped_days_ago=None)
    recent = make_execution("FAILED", stopped_days_ago=5)
    old_failed = make_execution("FAILED", stopped_days_ago=40)
    old_succeeded = make_execution("SUCCEEDED", stopped_days_ago=40)
    old_aborted = make_execution("ABORTED", stopped_days_ago=40)
    old_timed_out = make_execution("TIMED_OUT", stopped_days_ago=40)

    stdout, stderr = purge("--older-than-days", "30")

    assert remaining_pks() == {running.pk, new.pk, recent.pk}
    for purged in (old_failed, old_succeeded, old_aborted, old_timed_out):
        assert not WorkflowExecution.objects.filter(pk=purged.pk).exists()
    expected = command.SUMMARY.format(
        purged=4, statuses="SUCCEEDED,FAILED,TIMED_OUT,ABORTED"
    )
    assert stdout.strip() == expected
    assert stderr == ""


def test_purge_executions_never_removes_running_row():
    """A row without a stop date is kept even when its status is a finished one."""
    inconsistent = make_execution("FAILED", stopped_days_ago=None)

    purge("--older-than-days", "0")

    assert remaining_pks() == {inconsistent.pk}


def test_purge_executions_keeps_pending_redrive():
    redrivable = make_execution("PENDING_REDRIVE", stopped_days_ago=40)

    purge("--older-than-days", "30")

    assert remaining_pks() == {redrivable.pk}


def test_purge_executions_keeps_unregistered_outputs():
    unregistered = make_execution("SUCCEEDED", stopped_days_ago=40, registered=False)
    failed_unregistered = make_execution(
        "FAILED", stopped_days_ago=40, registered=False
    )

    purge("--older-than-days", "30")

    assert remaining_pks() == {unregistered.pk}
    assert not WorkflowExecution.objects.filter(pk=failed_unregistered.pk).exists()


def test_purge_executions_status_filter():
    failed = make_execution("FAILED", stopped_days_ago=40)
    aborted = make_execution("ABORTED", stopped_days_ago=40)
    succeeded = make_execution("SUCCEEDED", stopped_days_ago=40)

    stdout, _ = purge("--older-than-days", "30", "--status", "failed, ABORTED")

    assert remaining_pks() == {succeeded.pk}
    assert not WorkflowExecution.objects.filter(pk=failed.pk).exists()
    assert not WorkflowExecution.objects.filter(pk=aborted.pk).exists()
    assert stdout.strip() == command.SUMMARY.format(purged=2, statuses="FAILED,ABORTED")


def test_purge_executions_dry_run_changes_nothing():
    old = make_execution("FAILED", stopped_days_ago=40)
    recent = make_execution("FAILED", stopped_days_ago=5)

    stdout, _ = purge("--older-than-days", "30", "--dry-run")

    assert remaining_pks() == {old.pk, recent.pk}
    expected = command.DRY_RUN_SUMMARY.format(
        purged=1, statuses="SUCCEEDED,FAILED,TIMED_OUT,ABORTED"
    )
    assert stdout.strip() == expected


@pytest.mark.django_db(transaction=True)
def test_purge_executions_rerun_after_interruption_finishes():
    running = make_execution("RUNNING", stopped_days_ago=None)
    old = [make_execution("FAILED", stopped_days_ago=40) for _ in range(5)]
    real_batch = command.execution_purge_batch
    calls = []

    def fail_second_batch(**kwargs):
        calls.append(len(kwargs["executions"]))
        if len(calls) == 2:
            raise RuntimeError("interrupted")
        return real_batch(**kwargs)

    with mock.patch.object(command, "execution_purge_batch", fail_second_batch):
        with pytest.raises(RuntimeError):
            purge("--older-than-days", "30", "--batch-size", "2")

    assert remaining_pks() == {running.pk} | {execution.pk for execution in old[2:]}

    stdout, _ = purge("--older-than-days", "30", "--batch-size", "2")

    assert remaining_pks() == {running.pk}
    assert stdout.startswith("Purged 3 executions")


@pytest.mark.django_db(transaction=True)
def test_purge_executions_batch_rolls_back_as_a_whole():
    old = [make_execution("FAILED", stopped_days_ago=40) for _ in range(4)]
    real_delete = QuerySet.delete
    deletes = []

    def delete_then_fail(queryset):
        result = real_delete(queryset)
        if queryset.model is WorkflowExecution:
            deletes.append(result)
            if len(deletes) == 2:
                raise RuntimeError("interrupted after the delete")
        return result

    with mock.patch.object(QuerySet, "delete", delete_then_fail):
        with pytest.raises(RuntimeError):
            purge("--older-than-days", "30", "--batch-size", "2")

    assert remaining_pks() == {execution.pk for execution in old[2:]}


def test_purge_executions_verbosity_0_prints_nothing():
    make_execution("FAILED", stopped_days_ago=40)

    stdout, stderr = purge("--older-than-days", "30", verbosity=0)

    assert stdout == ""
    assert stderr == ""
    assert remaining_pks() == set()


def test_purge_executions_verbosity_2_lists_each_row():
    first = make_execution("FAILED", stopped_days_ago=40)
    second = make_execution("ABORTED", stopped_days_ago=41)

    stdout, _ = purge("--older-than-days", "30", verbosity=2)

    lines = stdout.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(
        f"Purged execution {first.execution_id} of db-1/wf-1 (FAILED"
    )
    assert lines[1].startswith(
        f"Purged execution {second.execution_id} of db-1/wf-1 (ABORTED"
    )
    assert lines[2].startswith("Purged 2 executions")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--older-than-days", "30", "--status", "FAILED,DONE"],
            maintenance.STATUS_UNKNOWN.format(status="DONE", allowed=ALLOWED),
        ),
        (
            ["--older-than-days", "30", "--status", "RUNNING"],
            maintenance.STATUS_UNKNOWN.format(status="RUNNING", allowed=ALLOWED),
        ),
        (
            ["--older-than-days", "30", "--status", ""],
            maintenance.STATUS_UNKNOWN.format(status="", allowed=ALLOWED),
        ),
        (
            ["--older-than-days", "-5"],
            batching.OLDER_THAN_DAYS_INVALID.format(
                maximum=batching.MAX_OLDER_THAN_DAYS, value=-5
            ),
        ),
        (
            ["--older-than-days", "30", "--batch-size", "-1"],
            batching.BATCH_SIZE_INVALID.format(
                maximum=batching.MAX_BATCH_SIZE, value=-1
            ),
        ),
        ([], "Error: the following arguments are required: --older-than-days"),
    ],
)
def test_purge_executions_rejects_bad_arguments(arguments, message):
    make_execution("FAILED", stopped_days_ago=40)

    with pytest.raises(CommandError, match=re.escape(message)) as raised:
        purge(*arguments)

    assert raised.value.returncode == 2
    assert len(remaining_pks()) == 1


def test_purge_executions_exit_code_2_from_shell(tmp_path):
    environment = {**os.environ, "VAMS_VAR_DIR": str(tmp_path)}
    environment.pop("DATABASE_URL", None)

    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "purge_executions",
            "--older-than-days",
            "30",
            "--status",
            "DONE",
        ],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 2
    assert (
        maintenance.STATUS_UNKNOWN.format(status="DONE", allowed=ALLOWED)
        in result.stderr
    )
    assert result.stdout == ""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_purge_executions_concurrent_runs():
    """Two overlapping runs delete each row once and neither fails."""
    from django.db import connection

    for _ in range(30):
        make_execution("FAILED", stopped_days_ago=40)
    barrier = threading.Barrier(2)
    outputs = []
    errors = []

    def run():
        try:
            barrier.wait()
            stdout, _ = purge("--older-than-days", "30", "--batch-size", "4")
            outputs.append(stdout)
        except Exception as error:  # noqa: BLE001 (the assert below reports it)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert remaining_pks() == set()
    purged = [
        int(re.search(r"Purged (\d+) executions", out).group(1)) for out in outputs
    ]
    assert sum(purged) == 30

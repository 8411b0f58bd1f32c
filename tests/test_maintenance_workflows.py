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
from django.utils import timezone

from executions.models import WorkflowExecution
from tests.factories import make_asset
from vams.aws import stepfunctions
from vams.aws.errors import AwsError
from vams.management import batching
from workflows import maintenance
from workflows.management.commands import purge_deleted_workflows as command
from workflows.models import Workflow

pytestmark = pytest.mark.django_db

PASS_DEFINITION = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
REPO_ROOT = Path(__file__).resolve().parent.parent


def make_workflow(workflow_id="wf-1", *, deleted_days_ago=None, arn="", **fields):
    """Insert a workflow row with bulk_create, so no save receiver runs."""
    now = timezone.now()
    fields.setdefault("database_id", "db-1")
    fields.setdefault("date_created", now - timedelta(days=400))
    fields.setdefault("date_modified", fields["date_created"])
    deleted_at = None
    if deleted_days_ago is not None:
        deleted_at = now - timedelta(days=deleted_days_ago)
    (workflow,) = Workflow.all_objects.bulk_create(
        [
            Workflow(
                workflow_id=workflow_id,
                description=f"Workflow {workflow_id}",
                specified_pipelines={"functions": []},
                workflow_arn=arn,
                deleted_at=deleted_at,
                **fields,
            )
        ]
    )
    return Workflow.all_objects.get(pk=workflow.pk)


def make_execution(workflow, *, created, stopped=True, asset=None):
    """Insert an execution of ``workflow`` created at ``created``."""
    asset = asset or make_asset(asset_id=f"a{uuid.uuid4().hex[:8]}")
    execution = WorkflowExecution.objects.create(
        execution_id=uuid.uuid4(),
        workflow_database_id=workflow.database_id,
        workflow_id=workflow.workflow_id,
        workflow_arn=workflow.workflow_arn,
        asset=asset,
        input_asset_file_key=f"{asset.asset_id}/model.obj",
        status="SUCCEEDED" if stopped else "RUNNING",
        start_date=created,
        stop_date=created + timedelta(minutes=5) if stopped else None,
        outputs_registered_at=created + timedelta(minutes=5) if stopped else None,
    )
    # date_created is auto_now_add, so set the past date afterwards.
    WorkflowExecution.objects.filter(pk=execution.pk).update(date_created=created)
    return execution


def missing_arn(name: str) -> str:
    """Return a well-formed ARN of a state machine that does not exist."""
    return (
        f"arn:aws:states:us-east-1:123456789012:stateMachine:vams-test-missing-{name}"
    )


def make_state_machine() -> str:
    name = f"vams-test-purge-{uuid.uuid4().hex[:12]}"
    return stepfunctions.create_state_machine(name=name, definition=PASS_DEFINITION)


def purge(*args, **options):
    stdout = io.StringIO()
    stderr = io.StringIO()
    call_command(
        "purge_deleted_workflows", *args, stdout=stdout, stderr=stderr, **options
    )
    return stdout.getvalue(), stderr.getvalue()


def remaining_pks() -> set[int]:
    return set(Workflow.all_objects.values_list("pk", flat=True))


def test_purge_deleted_workflows_removes_only_old_deleted_rows():
    alive = make_workflow("wf-alive")
    recent = make_workflow("wf-recent", deleted_days_ago=5)
    old = make_workflow("wf-old", deleted_days_ago=40)

    stdout, stderr = purge("--older-than-days", "30")

    assert remaining_pks() == {alive.pk, recent.pk}
    assert not Workflow.all_objects.filter(pk=old.pk).exists()
    expected = command.SUMMARY.format(
        purged=1, state_machines=0, executions=0, skipped=0, failed=0
    )
    assert stdout.strip() == expected
    assert stderr == ""


def test_purge_deleted_workflows_zero_days_purges_all():
    alive = make_workflow("wf-alive")
    make_workflow("wf-today", deleted_days_ago=0)

    purge("--older-than-days", "0")

    assert remaining_pks() == {alive.pk}


def test_purge_deleted_workflows_deletes_leftover_state_machine():
    arn = make_state_machine()
    make_workflow("wf-orphan", deleted_days_ago=40, arn=arn)

    stdout, _ = purge("--older-than-days", "30")

    assert stepfunctions.describe_state_machine(arn=arn) is None
    assert Workflow.all_objects.count() == 0
    assert "state machines deleted: 1," in stdout


def test_purge_deleted_workflows_accepts_already_deleted_state_machine():
    arn = make_state_machine()
    stepfunctions.delete_state_machine(arn=arn)
    make_workflow("wf-gone", deleted_days_ago=40, arn=arn)

    stdout, _ = purge("--older-than-days", "30")

    assert Workflow.all_objects.count() == 0
    assert "Purged 1 workflows (state machines deleted: 0," in stdout


def test_purge_deleted_workflows_keeps_live_state_machine():
    """A workflow re-created under the same id owns the state machine now."""
    arn = make_state_machine()
    deleted = make_workflow("wf-same", deleted_days_ago=40, arn=arn)
    live = make_workflow("wf-same", arn=arn)

    stdout, _ = purge("--older-than-days", "30")

    assert stepfunctions.describe_state_machine(arn=arn) is not None
    assert remaining_pks() == {live.pk}
    assert not Workflow.all_objects.filter(pk=deleted.pk).exists()
    assert "state machines deleted: 0," in stdout


def test_purge_deleted_workflows_keeps_executions_by_default():
    workflow = make_workflow("wf-old", deleted_days_ago=40, arn=missing_arn("wf-old"))
    execution = make_execution(workflow, created=timezone.now() - timedelta(days=60))

    purge("--older-than-days", "30")

    assert Workflow.all_objects.count() == 0
    assert WorkflowExecution.objects.filter(pk=execution.pk).exists()


def test_purge_deleted_workflows_keep_executions_flag_keeps_them():
    workflow = make_workflow("wf-old", deleted_days_ago=40, arn=missing_arn("wf-old"))
    execution = make_execution(workflow, created=timezone.now() - timedelta(days=60))

    purge("--older-than-days", "30", "--keep-executions")

    assert WorkflowExecution.objects.filter(pk=execution.pk).exists()


def test_purge_deleted_workflows_deletes_only_that_rows_executions():
    now = timezone.now()
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:vams-db-1-wf-same"
    deleted = make_workflow(
        "wf-same", deleted_days_ago=40, arn=arn, date_created=now - timedelta(days=100)
    )
    live = make_workflow("wf-same", arn=arn, date_created=now - timedelta(days=39))
    other_deleted = make_workflow(
        "wf-other", deleted_days_ago=40, arn=missing_arn("other")
    )
    recent = make_workflow("wf-recent", deleted_days_ago=5, arn=missing_arn("recent"))
    doomed = make_execution(deleted, created=now - timedelta(days=60))
    running = make_execution(deleted, created=now - timedelta(days=50), stopped=False)
    before_row = make_execution(deleted, created=now - timedelta(days=200))
    of_live = make_execution(live, created=now - timedelta(days=10))
    of_recent = make_execution(recent, created=now - timedelta(days=20))
    other_doomed = make_execution(other_deleted, created=now - timedelta(days=60))

    stdout, _ = purge("--older-than-days", "30", "--delete-executions")

    remaining = set(WorkflowExecution.objects.values_list("pk", flat=True))
    assert doomed.pk not in remaining
    assert other_doomed.pk not in remaining
    assert running.pk in remaining
    assert before_row.pk in remaining
    assert of_live.pk in remaining
    assert of_recent.pk in remaining
    assert remaining_pks() == {live.pk, recent.pk}
    assert "executions deleted: 2," in stdout


def test_purge_deleted_workflows_dry_run_changes_nothing():
    arn = make_state_machine()
    workflow = make_workflow("wf-old", deleted_days_ago=40, arn=arn)
    execution = make_execution(workflow, created=timezone.now() - timedelta(days=60))

    stdout, _ = purge("--older-than-days", "30", "--delete-executions", "--dry-run")

    assert remaining_pks() == {workflow.pk}
    assert WorkflowExecution.objects.filter(pk=execution.pk).exists()
    assert stepfunctions.describe_state_machine(arn=arn) is not None
    expected = command.DRY_RUN_SUMMARY.format(
        purged=1, state_machines=1, executions=1, failed=0
    )
    assert stdout.strip() == expected


def test_purge_deleted_workflows_counts_state_machine_failure():
    failing_arn = make_state_machine()
    other_arn = make_state_machine()
    kept = make_workflow("wf-fails", deleted_days_ago=40, arn=failing_arn)
    make_workflow("wf-works", deleted_days_ago=40, arn=other_arn)
    real_delete = stepfunctions.delete_state_machine

    def delete_or_fail(*, arn):
        if arn == failing_arn:
            raise AwsError(
                "stepfunctions",
                "DeleteStateMachine",
                "ThrottlingException",
                "Rate exceeded",
            )
        real_delete(arn=arn)

    with mock.patch.object(
        maintenance.stepfunctions, "delete_state_machine", delete_or_fail
    ):
        with pytest.raises(CommandError) as raised:
            purge("--older-than-days", "30")

    assert remaining_pks() == {kept.pk}
    assert stepfunctions.describe_state_machine(arn=failing_arn) is not None
    assert stepfunctions.describe_state_machine(arn=other_arn) is None
    assert raised.value.returncode == 1
    assert str(raised.value) == batching.FAILURES_SUMMARY.format(
        failed=1, total=2, noun="workflows"
    )


def test_purge_deleted_workflows_reports_each_failure_on_stderr():
    arn = make_state_machine()
    workflow = make_workflow("wf-fails", deleted_days_ago=40, arn=arn)
    error = AwsError(
        "stepfunctions", "DeleteStateMachine", "AccessDeniedException", "denied"
    )
    stdout = io.StringIO()
    stderr = io.StringIO()

    with mock.patch.object(
        maintenance.stepfunctions, "delete_state_machine", side_effect=error
    ):
        with pytest.raises(CommandError):
            call_command(
                "purge_deleted_workflows",
                "--older-than-days=30",
                stdout=stdout,
                stderr=stderr,
            )

    label = f"db-1/wf-fails (row {workflow.pk})"
    expected = command.WORKFLOW_FAILED.format(label=label, code="AccessDeniedException")
    assert stderr.getvalue().strip() == expected
    assert "failed: 1)" in stdout.getvalue()


@pytest.mark.django_db(transaction=True)
def test_purge_deleted_workflows_rerun_after_interruption_finishes():
    now = timezone.now()
    alive = make_workflow("wf-alive")
    recent = make_workflow("wf-recent", deleted_days_ago=5)
    old = [
        make_workflow(
            f"wf-old-{index}", deleted_days_ago=40, arn=missing_arn(f"old-{index}")
        )
        for index in range(5)
    ]
    executions = [
        make_execution(workflow, created=now - timedelta(days=60)) for workflow in old
    ]
    real_delete_executions = maintenance._delete_executions
    calls = []

    def delete_then_fail_second_batch(workflows):
        calls.append(len(workflows))
        deleted = real_delete_executions(workflows)
        if len(calls) == 2:
            raise RuntimeError("interrupted")
        return deleted

    with mock.patch.object(
        maintenance, "_delete_executions", delete_then_fail_second_batch
    ):
        with pytest.raises(RuntimeError):
            purge("--older-than-days", "30", "--delete-executions", "--batch-size", "2")

    # The first batch is committed; the second rolled back as a whole.
    assert remaining_pks() == {alive.pk, recent.pk} | {
        workflow.pk for workflow in old[2:]
    }
    left = set(WorkflowExecution.objects.values_list("pk", flat=True))
    assert left == {execution.pk for execution in executions[2:]}

    stdout, _ = purge(
        "--older-than-days", "30", "--delete-executions", "--batch-size", "2"
    )

    assert remaining_pks() == {alive.pk, recent.pk}
    assert WorkflowExecution.objects.count() == 0
    assert "Purged 3 workflows" in stdout
    assert "executions deleted: 3," in stdout


def test_purge_deleted_workflows_batches_cover_every_row():
    old = {
        make_workflow(f"wf-old-{index}", deleted_days_ago=40).pk for index in range(7)
    }
    batch_sizes = []
    real_batch = command.workflow_purge_batch

    def record_batch(**kwargs):
        batch_sizes.append(len(kwargs["workflows"]))
        return real_batch(**kwargs)

    with mock.patch.object(command, "workflow_purge_batch", record_batch):
        stdout, _ = purge("--older-than-days", "30", "--batch-size", "3")

    assert batch_sizes == [3, 3, 1]
    assert remaining_pks().isdisjoint(old)
    assert Workflow.all_objects.count() == 0
    assert "Purged 7 workflows" in stdout


def test_purge_deleted_workflows_skips_row_restored_meanwhile():
    workflow = make_workflow("wf-restored", deleted_days_ago=40)
    real_remove = maintenance._remove_state_machine

    def restore_then_check(target, **kwargs):
        Workflow.all_objects.filter(pk=target.pk).update(deleted_at=None)
        return real_remove(target, **kwargs)

    with mock.patch.object(maintenance, "_remove_state_machine", restore_then_check):
        stdout, _ = purge("--older-than-days", "30")

    assert remaining_pks() == {workflow.pk}
    assert "Purged 0 workflows" in stdout
    assert "skipped: 1," in stdout


def test_purge_deleted_workflows_verbosity_0_prints_nothing():
    make_workflow("wf-old", deleted_days_ago=40)

    stdout, stderr = purge("--older-than-days", "30", verbosity=0)

    assert stdout == ""
    assert stderr == ""
    assert Workflow.all_objects.count() == 0


def test_purge_deleted_workflows_verbosity_2_lists_each_row():
    arn = make_state_machine()
    first = make_workflow("wf-a", deleted_days_ago=40, arn=arn)
    second = make_workflow("wf-b", deleted_days_ago=40)

    stdout, _ = purge("--older-than-days", "30", verbosity=2)

    lines = stdout.strip().splitlines()
    assert lines[0] == command.WORKFLOW_PURGED.format(
        label=f"db-1/wf-a (row {first.pk})", state_machine=" and its state machine"
    )
    assert lines[1] == command.WORKFLOW_PURGED.format(
        label=f"db-1/wf-b (row {second.pk})", state_machine=""
    )
    assert lines[2].startswith("Purged 2 workflows")
    assert len(lines) == 3


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--older-than-days", "-1"],
            batching.OLDER_THAN_DAYS_INVALID.format(
                maximum=batching.MAX_OLDER_THAN_DAYS, value=-1
            ),
        ),
        (
            ["--older-than-days", "30", "--batch-size", "0"],
            batching.BATCH_SIZE_INVALID.format(
                maximum=batching.MAX_BATCH_SIZE, value=0
            ),
        ),
        (
            ["--older-than-days", "30", "--batch-size", "10001"],
            batching.BATCH_SIZE_INVALID.format(
                maximum=batching.MAX_BATCH_SIZE, value=10001
            ),
        ),
        (
            ["--older-than-days", "soon"],
            "Error: argument --older-than-days: invalid int value: 'soon'",
        ),
        ([], "Error: the following arguments are required: --older-than-days"),
        (
            ["--older-than-days", "30", "--keep-executions", "--delete-executions"],
            "Error: argument --delete-executions: not allowed with argument "
            "--keep-executions",
        ),
    ],
)
def test_purge_deleted_workflows_rejects_bad_arguments(arguments, message):
    make_workflow("wf-old", deleted_days_ago=40)

    with pytest.raises(CommandError, match=re.escape(message)) as raised:
        purge(*arguments)

    assert raised.value.returncode == 2
    assert Workflow.all_objects.count() == 1


def test_purge_deleted_workflows_rejects_bad_keyword_arguments():
    with pytest.raises(CommandError) as raised:
        purge(older_than_days=-3)

    assert raised.value.returncode == 2
    assert str(raised.value) == batching.OLDER_THAN_DAYS_INVALID.format(
        maximum=batching.MAX_OLDER_THAN_DAYS, value=-3
    )


def test_purge_deleted_workflows_exit_code_2_from_shell(tmp_path):
    environment = {**os.environ, "VAMS_VAR_DIR": str(tmp_path)}
    environment.pop("DATABASE_URL", None)

    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "purge_deleted_workflows",
            "--older-than-days",
            "-1",
        ],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 2
    assert (
        batching.OLDER_THAN_DAYS_INVALID.format(
            maximum=batching.MAX_OLDER_THAN_DAYS, value=-1
        )
        in result.stderr
    )
    assert result.stdout == ""


def test_purge_deleted_workflows_after_service_delete_and_recreate(admin_user):
    """Through the real services and save receiver, not hand-made rows."""
    from tests.factories import make_database, workflow_body
    from workflows.services import workflow_create_or_update, workflow_soft_delete

    make_database("my-database")
    first = workflow_create_or_update(data=workflow_body("wf-cycle"), user=admin_user)
    first_arn = first.workflow_arn
    workflow_soft_delete(workflow=first, user=admin_user)
    second = workflow_create_or_update(data=workflow_body("wf-cycle"), user=admin_user)
    now = timezone.now()
    # Age the first row's history so it falls before the 30-day cutoff.
    Workflow.all_objects.filter(pk=first.pk).update(
        date_created=now - timedelta(days=50), deleted_at=now - timedelta(days=40)
    )
    first.refresh_from_db()
    old_execution = make_execution(first, created=now - timedelta(days=45))
    new_execution = make_execution(second, created=now)

    stdout, _ = purge("--older-than-days", "30", "--delete-executions")

    assert remaining_pks() == {second.pk}
    assert stepfunctions.describe_state_machine(arn=first_arn) is None
    assert stepfunctions.describe_state_machine(arn=second.workflow_arn) is not None
    assert not WorkflowExecution.objects.filter(pk=old_execution.pk).exists()
    assert WorkflowExecution.objects.filter(pk=new_execution.pk).exists()
    assert stdout.strip() == command.SUMMARY.format(
        purged=1, state_machines=0, executions=1, skipped=0, failed=0
    )


def test_purge_deleted_workflows_describes_only_listed_machines():
    present_arn = make_state_machine()
    make_workflow("wf-present", deleted_days_ago=40, arn=present_arn)
    make_workflow("wf-gone", deleted_days_ago=40, arn=missing_arn("wf-gone"))
    describe = mock.Mock(wraps=stepfunctions.describe_state_machine)

    with mock.patch.object(
        maintenance.stepfunctions, "describe_state_machine", describe
    ):
        stdout, _ = purge("--older-than-days", "30")

    assert describe.call_args_list == [mock.call(arn=present_arn)]
    assert stepfunctions.describe_state_machine(arn=present_arn) is None
    assert Workflow.all_objects.count() == 0
    assert "Purged 2 workflows (state machines deleted: 1," in stdout


def test_purge_deleted_workflows_describes_each_when_listing_fails():
    present_arn = make_state_machine()
    make_workflow("wf-present", deleted_days_ago=40, arn=present_arn)
    make_workflow("wf-gone", deleted_days_ago=40, arn=missing_arn("wf-gone"))
    error = AwsError(
        "stepfunctions", "ListStateMachines", "AccessDeniedException", "denied"
    )
    describe = mock.Mock(wraps=stepfunctions.describe_state_machine)

    with (
        mock.patch.object(
            maintenance.stepfunctions, "list_state_machines", side_effect=error
        ),
        mock.patch.object(
            maintenance.stepfunctions, "describe_state_machine", describe
        ),
    ):
        stdout, _ = purge("--older-than-days", "30", "--batch-size", "1")

    assert describe.call_count == 2
    assert stepfunctions.describe_state_machine(arn=present_arn) is None
    assert Workflow.all_objects.count() == 0
    assert "Purged 2 workflows (state machines deleted: 1," in stdout


def test_purge_deleted_workflows_lists_machines_once_per_run():
    for index in range(3):
        make_workflow(
            f"wf-old-{index}", deleted_days_ago=40, arn=missing_arn(f"old-{index}")
        )
    listing = mock.Mock(wraps=stepfunctions.list_state_machines)

    with mock.patch.object(maintenance.stepfunctions, "list_state_machines", listing):
        purge("--older-than-days", "30", "--batch-size", "1")

    assert listing.call_count == 1
    assert Workflow.all_objects.count() == 0


def test_purge_deleted_workflows_without_arns_calls_no_aws():
    make_workflow("wf-no-arn", deleted_days_ago=40)
    listing = mock.Mock(wraps=stepfunctions.list_state_machines)
    describe = mock.Mock(wraps=stepfunctions.describe_state_machine)

    with (
        mock.patch.object(maintenance.stepfunctions, "list_state_machines", listing),
        mock.patch.object(
            maintenance.stepfunctions, "describe_state_machine", describe
        ),
    ):
        purge("--older-than-days", "30")

    assert listing.call_count == 0
    assert describe.call_count == 0
    assert Workflow.all_objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_purge_deleted_workflows_concurrent_runs():
    """Two overlapping runs purge each row once and neither fails."""
    from django.db import connection

    now = timezone.now()
    old = [
        make_workflow(
            f"wf-old-{index}", deleted_days_ago=40, arn=missing_arn(f"c{index}")
        )
        for index in range(40)
    ]
    for workflow in old:
        make_execution(workflow, created=now - timedelta(days=60))
    barrier = threading.Barrier(2)
    outputs = []
    errors = []

    def run():
        try:
            barrier.wait()
            stdout, _ = purge(
                "--older-than-days", "30", "--delete-executions", "--batch-size", "5"
            )
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
    assert Workflow.all_objects.count() == 0
    assert WorkflowExecution.objects.count() == 0
    purged = [
        int(re.search(r"Purged (\d+) workflows", out).group(1)) for out in outputs
    ]
    skipped = [int(re.search(r"skipped: (\d+)", out).group(1)) for out in outputs]
    assert sum(purged) == 40
    assert sum(purged) + sum(skipped) <= 80

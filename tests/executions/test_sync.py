import io
import uuid

import pytest
from django.conf import settings
from django.core.management import call_command

from executions.models import WorkflowExecution
from executions.services import VANISHED_CAUSE, VANISHED_ERROR, execution_start
from executions.sync import executions_sync
from tests.executions.conftest import FAIL_DEFINITION, make_workflow, wait_until_stopped
from vams.aws import s3, stepfunctions
from vams.models import AssetFile


def start(asset, workflow, user, file_key="models/part.glb"):
    return execution_start(
        database_id=asset.database_id,
        asset_id=asset.asset_id,
        workflow_id=workflow.workflow_id,
        workflow_database_id=workflow.database_id,
        file_key=file_key,
        user=user,
    )


def test_executions_sync_closes_finished_execution(asset, admin_user):
    failing = make_workflow("wf-fail", "db-a", definition=FAIL_DEFINITION)
    execution = start(asset, failing, admin_user)
    wait_until_stopped(execution)

    summary = executions_sync()

    execution.refresh_from_db()
    assert summary.checked == 1
    assert summary.stopped == 1
    assert execution.status == WorkflowExecution.Status.FAILED
    assert execution.error == "test.Error"
    assert execution.stop_date is not None


def test_executions_sync_keeps_running_execution(asset, workflow, admin_user):
    execution = start(asset, workflow, admin_user)

    summary = executions_sync()

    execution.refresh_from_db()
    assert summary.still_running == 1
    assert execution.stop_date is None


def test_executions_sync_closes_vanished_execution(asset, workflow, admin_user):
    execution = start(asset, workflow, admin_user)
    missing_arn = execution.execution_arn.rsplit(":", 1)[0] + f":{uuid.uuid4()}"
    WorkflowExecution.objects.filter(pk=execution.pk).update(execution_arn=missing_arn)

    summary = executions_sync()

    execution.refresh_from_db()
    assert summary.vanished == 1
    assert execution.status == WorkflowExecution.Status.ABORTED
    assert execution.error == VANISHED_ERROR
    assert execution.cause == VANISHED_CAUSE


def test_executions_sync_registers_missed_outputs(asset, workflow, admin_user):
    execution = start(asset, workflow, admin_user)
    prefix = f"pipelines/global-pipe/00-global-pipe/output/{execution.execution_id}/"
    s3.put_object(bucket=settings.VAMS_ASSET_BUCKET, key=f"{prefix}files/out.gltf", body=b"g")
    WorkflowExecution.objects.filter(pk=execution.pk).update(status="SUCCEEDED", stop_date=execution.start_date)

    first = executions_sync()
    second = executions_sync()

    assert first.outputs_registered == 1
    assert second.outputs_registered == 0
    assert AssetFile.objects.filter(
        key=f"{asset.base_key}out.gltf", execution_id=str(execution.execution_id)
    ).count() == 1


def test_sync_executions_dry_run_changes_nothing(asset, admin_user):
    failing = make_workflow("wf-fail", "db-a", definition=FAIL_DEFINITION)
    execution = start(asset, failing, admin_user)
    wait_until_stopped(execution)
    out = io.StringIO()

    call_command("sync_executions", "--dry-run", stdout=out, verbosity=2)

    execution.refresh_from_db()
    assert execution.stop_date is None
    assert f"{execution.execution_id}: would record FAILED" in out.getvalue()
    assert "Dry run: checked 1 running execution(s): 0 still running, 1 stopped, 0 vanished" in out.getvalue()


def test_sync_executions_prints_summary(asset, workflow, admin_user):
    start(asset, workflow, admin_user)
    out = io.StringIO()

    call_command("sync_executions", stdout=out)

    assert out.getvalue().strip() == (
        "checked 1 running execution(s): 1 still running, 0 stopped, 0 vanished; "
        "registered outputs of 0 succeeded execution(s); 0 failed."
    )


def test_executions_sync_deleted_state_machine(asset, workflow, admin_user):
    execution = start(asset, workflow, admin_user)
    WorkflowExecution.objects.filter(pk=execution.pk).update(
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:vams-gone:" + str(uuid.uuid4())
    )

    executions_sync()

    execution.refresh_from_db()
    assert execution.error == VANISHED_ERROR

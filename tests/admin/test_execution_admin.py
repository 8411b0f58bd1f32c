import uuid

import pytest
from django.conf import settings
from django.urls import reverse

from executions.models import WorkflowExecution
from tests.admin.test_workflow_admin import ADD_URL, workflow_form_data
from tests.factories import make_asset, make_database, make_pipeline
from vams.aws import s3, stepfunctions
from vams.models import AssetFile
from workflows.models import Workflow

# A state machine that waits an hour, so its executions stay RUNNING.
HOLD_DEFINITION = {
    "StartAt": "Hold",
    "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}},
}
EXECUTIONS = "admin:executions_workflowexecution_changelist"


@pytest.fixture
def asset_file(db):
    asset = make_asset(make_database("db-a"), asset_id="chair")
    key = "chair/models/seat.obj"
    s3.put_object(bucket=settings.VAMS_ASSET_BUCKET, key=key, body=b"v 0 0 0\n")
    return AssetFile.objects.create(asset=asset, key=key, size=8)


@pytest.fixture
def holding_workflow(admin_client) -> Workflow:
    """A workflow saved through the admin, then pointed at a waiting machine."""
    pipeline = make_pipeline("convert-step")
    admin_client.post(
        reverse(ADD_URL), workflow_form_data([(pipeline, 1)]), follow=True
    )
    arn = stepfunctions.create_state_machine(
        name=f"vams-test-{uuid.uuid4().hex[:12]}", definition=HOLD_DEFINITION
    )
    # A queryset update skips the save receiver, so the test machine stays.
    Workflow.objects.filter(workflow_id="convert-and-preview").update(workflow_arn=arn)
    return Workflow.objects.get(workflow_id="convert-and-preview")


def execute(client, workflow, asset_file):
    url = reverse("admin:workflows_workflow_execute", args=[workflow.pk])
    return client.post(url, {"target": f"file:{asset_file.pk}"}, follow=True)


def test_execute_page_lists_asset_files(admin_client, holding_workflow, asset_file):
    url = reverse("admin:workflows_workflow_execute", args=[holding_workflow.pk])

    body = admin_client.get(url).content.decode()

    assert f'value="file:{asset_file.pk}"' in body
    assert "/models/seat.obj" in body
    assert f'value="asset:{asset_file.asset_id}"' in body


def test_execute_starts_execution(admin_client, holding_workflow, asset_file):
    response = execute(admin_client, holding_workflow, asset_file)

    execution = WorkflowExecution.objects.get()
    assert f"Started execution {execution.execution_id}" in response.content.decode()
    assert execution.status == WorkflowExecution.Status.RUNNING
    assert execution.input_asset_file_key == "chair/models/seat.obj"
    assert execution.trigger_source == "admin"


def test_execute_reports_running_duplicate(admin_client, holding_workflow, asset_file):
    execute(admin_client, holding_workflow, asset_file)

    response = execute(admin_client, holding_workflow, asset_file)

    assert "already has a running execution" in response.content.decode()
    assert WorkflowExecution.objects.count() == 1


def test_execute_forbidden_without_post(
    curator, curator_client, holding_workflow, asset_file
):
    from tests.admin.rules import allow

    allow(curator, "api", ["GET"])
    allow(curator, "workflow", ["GET"])
    url = reverse("admin:workflows_workflow_execute", args=[holding_workflow.pk])

    response = curator_client.post(url, {"target": f"file:{asset_file.pk}"})

    assert response.status_code == 403
    assert WorkflowExecution.objects.exists() is False


def test_execution_changelist_shows_execution(
    admin_client, holding_workflow, asset_file
):
    execute(admin_client, holding_workflow, asset_file)
    execution = WorkflowExecution.objects.get()

    body = admin_client.get(reverse(EXECUTIONS)).content.decode()

    assert str(execution.execution_id) in body
    assert "RUNNING" in body
    assert "chair/models/seat.obj" in body


def test_execution_stop_action_aborts(admin_client, holding_workflow, asset_file):
    execute(admin_client, holding_workflow, asset_file)
    execution = WorkflowExecution.objects.get()

    response = admin_client.post(
        reverse(EXECUTIONS),
        {"action": "stop_selected", "_selected_action": [execution.pk]},
        follow=True,
    )

    execution.refresh_from_db()
    assert f"Stopped execution {execution.execution_id}." in response.content.decode()
    assert execution.status == WorkflowExecution.Status.ABORTED
    assert execution.stop_date is not None


def test_execution_refresh_action_closes_stopped(
    admin_client, holding_workflow, asset_file
):
    execute(admin_client, holding_workflow, asset_file)
    execution = WorkflowExecution.objects.get()
    stepfunctions.stop_execution(
        execution_arn=execution.execution_arn, error="test.Stop", cause="stopped"
    )

    admin_client.post(
        reverse(EXECUTIONS),
        {"action": "refresh_status", "_selected_action": [execution.pk]},
    )

    execution.refresh_from_db()
    assert execution.status == WorkflowExecution.Status.ABORTED
    assert execution.stop_date is not None


def test_execute_rejected_for_deleted_workflow(
    admin_client, admin_user, holding_workflow, asset_file
):
    from workflows.services import workflow_soft_delete

    workflow_soft_delete(workflow=holding_workflow, user=admin_user)

    response = execute(admin_client, holding_workflow, asset_file)

    assert "was deleted and cannot be executed" in response.content.decode()
    assert WorkflowExecution.objects.exists() is False


def test_execution_detail_shows_error_and_cause(
    admin_client, holding_workflow, asset_file
):
    execute(admin_client, holding_workflow, asset_file)
    execution = WorkflowExecution.objects.get()
    WorkflowExecution.objects.filter(pk=execution.pk).update(
        error="convert.Failed", cause="The mesh has no faces."
    )
    url = reverse("admin:executions_workflowexecution_change", args=[execution.pk])

    body = admin_client.get(url).content.decode()

    assert "convert.Failed" in body
    assert "The mesh has no faces." in body
    assert 'name="_save"' not in body

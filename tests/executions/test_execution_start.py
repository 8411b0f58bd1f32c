import json
from unittest import mock

import pytest
from botocore.stub import Stubber
from django.conf import settings

from executions import services
from executions.models import WorkflowExecution
from executions.services import execution_start
from tests.executions.conftest import make_workflow
from tests.factories import make_asset, make_database, make_pipeline
from vams.aws import stepfunctions
from vams.aws.clients import get_client
from vams.exceptions import Forbidden, InvalidInput, Throttled, UpstreamFailure
from workflows.models import Pipeline, Workflow


def start(asset, workflow, user, **overrides):
    arguments = {
        "database_id": asset.database_id,
        "asset_id": asset.asset_id,
        "workflow_id": workflow.workflow_id,
        "workflow_database_id": workflow.database_id,
        "file_key": "models/part.glb",
        "user": user,
    }
    arguments.update(overrides)
    return execution_start(**arguments)


def execution_input(execution) -> dict:
    client = get_client("stepfunctions")
    response = client.describe_execution(executionArn=execution.execution_arn)
    return json.loads(response["input"])


def test_execution_start_records_running_execution(asset, workflow, admin_user):
    execution = start(asset, workflow, admin_user)

    execution.refresh_from_db()
    assert execution.status == WorkflowExecution.Status.RUNNING
    assert execution.stop_date is None
    assert execution.start_date is not None
    assert execution.execution_arn.endswith(f":{execution.execution_id}")
    assert execution.input_asset_file_key == f"{asset.base_key}models/part.glb"
    assert execution.started_by == "admin"
    assert execution.trigger_source == "api"


def test_execution_start_sends_input_document(asset, workflow, admin_user):
    execution = start(asset, workflow, admin_user)

    document = execution_input(execution)

    assert set(document) == {
        "bucketAsset",
        "bucketAssetAuxiliary",
        "inputAssetLocationKey",
        "inputAssetFileKey",
        "databaseId",
        "assetId",
        "workflowDatabaseId",
        "workflowId",
        "inputMetadata",
        "executingUserName",
        "executingRequestContext",
    }
    assert document["bucketAsset"] == settings.VAMS_ASSET_BUCKET
    assert document["bucketAssetAuxiliary"] == settings.VAMS_AUXILIARY_BUCKET
    assert document["inputAssetLocationKey"] == asset.base_key
    assert document["inputAssetFileKey"] == f"{asset.base_key}models/part.glb"
    assert document["databaseId"] == "db-a"
    assert document["workflowDatabaseId"] == "db-a"
    assert document["executingUserName"] == "admin"
    metadata = json.loads(document["inputMetadata"])
    assert metadata["VAMS"]["assetData"] == {
        "assetName": "Building",
        "description": "A building",
        "tags": ["facade", "scan"],
    }
    assert metadata["VAMS"]["fileMetadata"] == {}


def test_execution_start_without_file_key(asset, workflow, admin_user):
    execution = start(asset, workflow, admin_user, file_key=None)

    assert execution.input_asset_file_key == asset.base_key


@pytest.mark.parametrize(
    "file_key",
    ["models/part.glb", "/models/part.glb", "{base}models/part.glb", "/{base}models/part.glb"],
)
def test_execution_start_resolves_file_key_forms(asset, workflow, admin_user, file_key):
    execution = start(asset, workflow, admin_user, file_key=file_key.format(base=asset.base_key))

    assert execution.input_asset_file_key == f"{asset.base_key}models/part.glb"


def test_execution_start_accepts_root_file(asset, workflow, admin_user):
    execution = start(asset, workflow, admin_user, file_key="part.obj")

    assert execution.input_asset_file_key == f"{asset.base_key}part.obj"


def test_execution_start_keeps_plus_verbatim(asset, workflow, admin_user):
    execution = start(asset, workflow, admin_user, file_key="models/a+b.glb")

    assert execution.input_asset_file_key == f"{asset.base_key}models/a+b.glb"
    assert execution_input(execution)["inputAssetFileKey"].endswith("a+b.glb")


def test_execution_start_global_workflow(asset, admin_user):
    workflow = make_workflow("wf-global", "GLOBAL")

    execution = start(asset, workflow, admin_user)

    assert execution.workflow_database_id == "GLOBAL"


def test_execution_start_database_pipeline(asset, admin_user):
    local = make_pipeline("local-pipe", database_id="db-a")
    workflow = make_workflow("wf-local", "db-a", pipelines=[local])

    execution = start(asset, workflow, admin_user)

    assert execution.status == WorkflowExecution.Status.RUNNING


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"database_id": "GLOBAL"}, "databaseId"),
        ({"database_id": "d!"}, "databaseId"),
        ({"database_id": None}, "databaseId is a required field"),
        ({"asset_id": "bad/asset"}, "assetId"),
        ({"asset_id": "ends."}, "assetId"),
        ({"workflow_id": "abc"}, "workflowId"),
        ({"workflow_id": "Global"}, "workflowId"),
        ({"workflow_database_id": None}, "workflowDatabaseId is a required field"),
        ({"workflow_database_id": ""}, "workflowDatabaseId is a required field"),
        ({"workflow_database_id": "global"}, "workflowDatabaseId must be written GLOBAL"),
        ({"workflow_database_id": "bad id"}, "workflowDatabaseId"),
        ({"workflow_database_id": 7}, "workflowDatabaseId must be a string"),
        ({"file_key": ["models/part.glb"]}, "fileKey must be a string"),
        ({"file_key": "x" * 1100}, "fileKey"),
    ],
)
def test_execution_start_rejects_invalid_parameters(asset, workflow, admin_user, overrides, fragment):
    with pytest.raises(InvalidInput) as raised:
        start(asset, workflow, admin_user, **overrides)

    assert fragment in raised.value.message
    assert WorkflowExecution.objects.count() == 0


def test_execution_start_rejects_foreign_workflow(asset, admin_user):
    make_database("db-b")
    other = make_workflow("wf-other", "db-b")

    with pytest.raises(InvalidInput, match="Workflow can only be executed"):
        start(asset, other, admin_user)
    assert WorkflowExecution.objects.count() == 0


def test_execution_start_rejects_missing_asset(asset, workflow, admin_user):
    with pytest.raises(InvalidInput) as raised:
        start(asset, workflow, admin_user, asset_id="no-such-asset")

    assert raised.value.message == services.ASSET_NOT_FOUND_FOR_EXECUTE.format(
        asset_id="no-such-asset", database_id="db-a"
    )
    assert WorkflowExecution.objects.count() == 0


def test_execution_start_rejects_missing_workflow(asset, workflow, admin_user):
    with pytest.raises(InvalidInput, match="Workflow 'wf-none' was not found"):
        start(asset, workflow, admin_user, workflow_id="wf-none")
    assert WorkflowExecution.objects.count() == 0


def test_execution_start_rejects_soft_deleted_workflow(asset, workflow, admin_user):
    Workflow.objects.filter(pk=workflow.pk).delete()

    with pytest.raises(InvalidInput, match="was not found in 'db-a'"):
        start(asset, workflow, admin_user)
    assert WorkflowExecution.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ("disable", "is not enabled/accessible: it is disabled"),
        ("delete", "is not enabled/accessible: it does not exist or was deleted"),
    ],
)
def test_execution_start_rejects_unusable_pipeline(asset, workflow, admin_user, change, fragment):
    pipelines = Pipeline.objects.filter(database_id="GLOBAL", pipeline_id="global-pipe")
    if change == "disable":
        pipelines.update(enabled=False)
    else:
        pipelines.delete()

    with pytest.raises(InvalidInput) as raised:
        start(asset, workflow, admin_user)

    assert "Pipeline 'global-pipe' in 'GLOBAL'" in raised.value.message
    assert fragment in raised.value.message
    assert WorkflowExecution.objects.count() == 0


def test_execution_start_rejects_misplaced_pipeline(asset, admin_user):
    # The function names a GLOBAL pipeline that exists only in db-a.
    make_pipeline("only-local", database_id="db-a")
    pipeline = Pipeline.objects.get(pipeline_id="only-local")
    workflow = make_workflow("wf-wrong", "db-a", pipelines=[pipeline])
    functions = workflow.specified_pipelines["functions"]
    functions[0]["databaseId"] = "GLOBAL"
    Workflow.objects.filter(pk=workflow.pk).update(specified_pipelines={"functions": functions})
    workflow.refresh_from_db()

    with pytest.raises(InvalidInput, match="Pipeline 'only-local' in 'GLOBAL' is not enabled/accessible"):
        start(asset, workflow, admin_user)


@pytest.mark.parametrize("denied_type", ["asset", "workflow", "pipeline"])
def test_execution_start_forbids_denied_object(asset, workflow, admin_user, denied_type):
    def deny(*, user, obj, action):
        return not (obj["object__type"] == denied_type and action == "POST")

    with mock.patch("executions.services.authz_check", side_effect=deny):
        with pytest.raises(Forbidden, match="Not Authorized"):
            start(asset, workflow, admin_user)
    assert WorkflowExecution.objects.count() == 0


def test_execution_start_checks_asset_before_workflow(asset, admin_user):
    # A denied asset is reported before a missing workflow is looked up.
    def deny_asset(*, user, obj, action):
        return obj["object__type"] != "asset"

    with mock.patch("executions.services.authz_check", side_effect=deny_asset):
        with pytest.raises(Forbidden):
            execution_start(
                database_id=asset.database_id,
                asset_id=asset.asset_id,
                workflow_id="wf-none",
                workflow_database_id="db-a",
                file_key=None,
                user=admin_user,
            )


@pytest.mark.parametrize(
    "file_key",
    [
        "../other/part.glb",
        "models/../../other/part.glb",
        "{base}../other/part.glb",
        "//etc/passwd",
        "models\\part.glb",
        "models/%2e%2e/part.glb",
        "models/%2E%2E%2Fpart.glb",
        "models%2fpart.glb",
        "models%5cpart.glb",
        "models/%252e%252e/part.glb",
        "models/part.glb\x00",
        "models/%00part.glb",
    ],
)
def test_execution_start_rejects_key_outside_asset(asset, workflow, admin_user, file_key):
    with pytest.raises(InvalidInput) as raised:
        start(asset, workflow, admin_user, file_key=file_key.format(base=asset.base_key))

    assert "fileKey" in raised.value.message
    assert "inside the asset folder" in raised.value.message
    assert WorkflowExecution.objects.count() == 0


def test_execution_start_rejects_missing_file(asset, workflow, admin_user):
    with pytest.raises(InvalidInput, match="fileKey 'models/none.glb' was not found"):
        start(asset, workflow, admin_user, file_key="models/none.glb")
    assert WorkflowExecution.objects.count() == 0


def test_execution_start_does_not_decode_plus(asset, workflow, admin_user):
    # "a b.glb" exists, but "a+b" names the other file, and "%20" is not decoded.
    execution = start(asset, workflow, admin_user, file_key="models/a b.glb")

    assert execution.input_asset_file_key.endswith("models/a b.glb")
    with pytest.raises(InvalidInput, match="was not found"):
        start(asset, workflow, admin_user, file_key="models/a%20b.glb")


def test_execution_start_rejects_second_run_on_same_file(asset, workflow, admin_user):
    start(asset, workflow, admin_user)

    with pytest.raises(InvalidInput) as raised:
        start(asset, workflow, admin_user, file_key=f"/{asset.base_key}models/part.glb")

    assert "already has a running execution" in raised.value.message
    assert WorkflowExecution.objects.count() == 1


def test_execution_start_allows_other_file_and_workflow(asset, workflow, admin_user):
    other_workflow = make_workflow("wf-second", "db-a")

    start(asset, workflow, admin_user)
    start(asset, workflow, admin_user, file_key="part.obj")
    start(asset, workflow, admin_user, file_key=None)
    start(asset, other_workflow, admin_user)

    assert WorkflowExecution.objects.filter(stop_date__isnull=True).count() == 4


def test_execution_start_allows_rerun_after_finish(asset, workflow, admin_user):
    first = start(asset, workflow, admin_user)
    stepfunctions.stop_execution(execution_arn=first.execution_arn, error="test", cause="done")

    second = start(asset, workflow, admin_user)

    first.refresh_from_db()
    assert first.stop_date is not None
    assert first.status == WorkflowExecution.Status.ABORTED
    assert second.status == WorkflowExecution.Status.RUNNING


def test_execution_start_requires_state_machine(asset, admin_user):
    workflow = make_workflow("wf-nosm", "db-a", definition=None)
    Workflow.objects.filter(pk=workflow.pk).update(workflow_arn="")
    workflow.refresh_from_db()

    with pytest.raises(UpstreamFailure, match="has no state machine"):
        start(asset, workflow, admin_user)
    assert WorkflowExecution.objects.count() == 0


@pytest.mark.parametrize(
    ("code", "error_class", "fragment"),
    [
        ("ThrottlingException", Throttled, "throttled"),
        ("ExecutionLimitExceeded", UpstreamFailure, "limit of open executions"),
        ("InvalidArn", UpstreamFailure, "failed (InvalidArn)"),
        ("StateMachineDoesNotExist", UpstreamFailure, "save the workflow again"),
    ],
)
def test_execution_start_rolls_back_rejected_start(asset, workflow, admin_user, code, error_class, fragment):
    client = get_client("stepfunctions")
    with Stubber(client) as stubber:
        stubber.add_client_error("start_execution", service_error_code=code, http_status_code=400)
        with pytest.raises(error_class) as raised:
            start(asset, workflow, admin_user)

    assert fragment in raised.value.message
    assert WorkflowExecution.objects.count() == 0


def test_execution_start_retry_after_rejection(asset, workflow, admin_user):
    client = get_client("stepfunctions")
    with Stubber(client) as stubber:
        stubber.add_client_error("start_execution", service_error_code="ThrottlingException")
        with pytest.raises(Throttled):
            start(asset, workflow, admin_user)

    execution = start(asset, workflow, admin_user)

    assert execution.status == WorkflowExecution.Status.RUNNING


def test_execution_start_rejects_asset_of_other_database(db, workflow, admin_user):
    other = make_asset(make_database("db-b"), "xb1")

    with pytest.raises(InvalidInput, match="Asset 'xb1' was not found in database 'db-a'"):
        execution_start(
            database_id="db-a",
            asset_id=other.asset_id,
            workflow_id=workflow.workflow_id,
            workflow_database_id="db-a",
            file_key=None,
            user=admin_user,
        )

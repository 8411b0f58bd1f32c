import uuid
from unittest import mock

import pytest

from executions.models import WorkflowExecution
from executions.services import execution_start
from tests.executions.conftest import FAIL_DEFINITION, make_workflow, wait_until_stopped
from vams.aws import stepfunctions
from vams.dates import format_execution_date


def execute_path(asset, workflow_id="wf-hold"):
    return f"/database/{asset.database_id}/assets/{asset.asset_id}/workflows/{workflow_id}"


def executions_path(asset, workflow_id=None):
    path = f"/database/{asset.database_id}/assets/{asset.asset_id}/workflows/executions"
    return f"{path}/{workflow_id}" if workflow_id else path


def run(asset, workflow, user, file_key="models/part.glb"):
    return execution_start(
        database_id=asset.database_id,
        asset_id=asset.asset_id,
        workflow_id=workflow.workflow_id,
        workflow_database_id=workflow.database_id,
        file_key=file_key,
        user=user,
    )


def test_execute_route_returns_execution_id(api_client, asset, workflow):
    response = api_client.post(
        execute_path(asset), {"workflowDatabaseId": "db-a", "fileKey": "models/part.glb"}, format="json"
    )

    assert response.status_code == 200
    execution = WorkflowExecution.objects.get()
    assert response.json() == {"message": str(execution.execution_id)}
    assert response["Cache-Control"] == "no-cache, no-store"


def test_execute_route_accepts_trailing_slash(api_client, asset, workflow):
    response = api_client.post(execute_path(asset) + "/", {"workflowDatabaseId": "db-a"}, format="json")

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (None, "workflowDatabaseId is a required field"),
        ({}, "workflowDatabaseId is a required field"),
        ({"fileKey": "models/part.glb"}, "workflowDatabaseId is a required field"),
        ({"workflowDatabaseId": "db-b"}, "Workflow can only be executed"),
        ({"workflowDatabaseId": "db-a", "fileKey": "../x.glb"}, "fileKey"),
        ({"workflowDatabaseId": "db-a", "fileKey": 12}, "fileKey must be a string"),
    ],
)
def test_execute_route_rejects_bad_body(api_client, asset, workflow, body, fragment):
    response = api_client.post(execute_path(asset), body, format="json")

    assert response.status_code == 400
    assert fragment in response.json()["message"]
    assert WorkflowExecution.objects.count() == 0


def test_execute_route_rejects_body_that_is_not_json(api_client, asset, workflow):
    response = api_client.post(execute_path(asset), "{not json", content_type="application/json")

    assert response.status_code == 400
    assert "Invalid JSON" in response.json()["message"]


def test_execute_route_rejects_list_body(api_client, asset, workflow):
    response = api_client.post(execute_path(asset), [1, 2], format="json")

    assert response.status_code == 400
    assert "must be a JSON object" in response.json()["message"]


def test_execute_route_reports_missing_asset_as_400(api_client, asset, workflow):
    response = api_client.post(
        f"/database/db-a/assets/nothing-here/workflows/wf-hold", {"workflowDatabaseId": "db-a"}, format="json"
    )

    assert response.status_code == 400
    assert "Asset 'nothing-here' was not found" in response.json()["message"]


def test_execute_route_reports_running_duplicate(api_client, asset, workflow):
    body = {"workflowDatabaseId": "db-a", "fileKey": "models/part.glb"}
    first = api_client.post(execute_path(asset), body, format="json")

    second = api_client.post(execute_path(asset), body, format="json")

    assert first.status_code == 200
    assert second.status_code == 400
    assert "already has a running execution" in second.json()["message"]


def test_execute_route_forbids_denied_workflow(api_client, asset, workflow):
    with mock.patch(
        "executions.services.authz_check",
        side_effect=lambda *, user, obj, action: obj["object__type"] != "workflow",
    ):
        response = api_client.post(execute_path(asset), {"workflowDatabaseId": "db-a"}, format="json")

    assert response.status_code == 403
    assert response.json() == {"message": "Not Authorized"}


def test_execute_route_requires_token(anonymous_client, asset, workflow):
    response = anonymous_client.post(execute_path(asset), {"workflowDatabaseId": "db-a"}, format="json")

    assert response.status_code == 401


def test_execution_list_returns_running_only_by_default(api_client, asset, workflow, admin_user):
    finished = run(asset, workflow, admin_user, file_key="part.obj")
    stepfunctions.stop_execution(execution_arn=finished.execution_arn, error="test", cause="done")
    running = run(asset, workflow, admin_user)

    response = api_client.get(executions_path(asset))

    assert response.status_code == 200
    items = response.json()["message"]["Items"]
    assert [item["executionId"] for item in items] == [str(running.execution_id)]
    running.refresh_from_db()
    assert items[0] == {
        "workflowDatabaseId": "db-a",
        "workflowId": "wf-hold",
        "executionId": str(running.execution_id),
        "executionStatus": "RUNNING",
        "startDate": format_execution_date(running.start_date),
        "stopDate": "",
        "inputAssetFileKey": f"{asset.base_key}models/part.glb",
    }
    finished.refresh_from_db()
    assert finished.status == WorkflowExecution.Status.ABORTED
    assert finished.stop_date is not None


def test_execution_list_history_returns_every_status(api_client, asset, workflow, admin_user):
    failing = make_workflow("wf-fail", "db-a", definition=FAIL_DEFINITION)
    finished = run(asset, failing, admin_user, file_key="part.obj")
    wait_until_stopped(finished)
    running = run(asset, workflow, admin_user)

    response = api_client.get(executions_path(asset), {"history": "true"})

    items = response.json()["message"]["Items"]
    assert [item["executionId"] for item in items] == [
        str(running.execution_id),
        str(finished.execution_id),
    ]
    assert items[1]["executionStatus"] == "FAILED"
    assert items[1]["stopDate"] != ""
    assert items[1]["error"] == "test.Error"
    assert items[1]["cause"] == "why"
    assert items[0]["error"] == ""


def test_execution_list_history_paginates(api_client, asset, workflow, admin_user):
    for key in ("part.obj", "models/part.glb", None):
        run(asset, workflow, admin_user, file_key=key)

    first = api_client.get(executions_path(asset), {"history": "yes", "maxItems": "2"}).json()["message"]
    second = api_client.get(
        executions_path(asset),
        {"history": "yes", "maxItems": "2", "startingToken": first["NextToken"]},
    ).json()["message"]

    assert len(first["Items"]) == 2
    assert first["NextToken"]
    assert len(second["Items"]) == 1
    assert second["NextToken"] is None
    ids = [item["executionId"] for item in first["Items"] + second["Items"]]
    assert len(set(ids)) == 3


def test_execution_list_filters_by_workflow(api_client, asset, workflow, admin_user):
    global_workflow = make_workflow("wf-hold", "GLOBAL")
    other = make_workflow("wf-other", "db-a")
    local_run = run(asset, workflow, admin_user)
    global_run = run(asset, global_workflow, admin_user)
    run(asset, other, admin_user)

    both = api_client.get(executions_path(asset, "wf-hold")).json()["message"]["Items"]
    only_global = api_client.get(
        executions_path(asset, "wf-hold"), {"workflowDatabaseId": "GLOBAL"}
    ).json()["message"]["Items"]

    assert {item["executionId"] for item in both} == {
        str(local_run.execution_id),
        str(global_run.execution_id),
    }
    assert [item["executionId"] for item in only_global] == [str(global_run.execution_id)]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"history": "maybe"}, "history must be one of"),
        ({"workflowDatabaseId": "global"}, "workflowDatabaseId"),
        ({"maxItems": "0"}, "maxItems"),
        ({"startingToken": "forged"}, "startingToken"),
    ],
)
def test_execution_list_rejects_bad_query(api_client, asset, query, fragment):
    response = api_client.get(executions_path(asset), query)

    assert response.status_code == 400
    assert fragment in response.json()["message"]


def test_execution_list_reports_missing_asset_as_404(api_client, db):
    response = api_client.get("/database/db-a/assets/missing/workflows/executions")

    assert response.status_code == 404
    assert "Asset not found" in response.json()["message"]


def test_execution_list_forbids_denied_asset(api_client, asset):
    with mock.patch(
        "executions.selectors.authz_check",
        side_effect=lambda *, user, obj, action: obj["object__type"] != "asset",
    ):
        response = api_client.get(executions_path(asset))

    assert response.status_code == 403


def test_execution_list_drops_rows_of_denied_workflows(api_client, asset, workflow, admin_user):
    other = make_workflow("wf-other", "db-a")
    run(asset, workflow, admin_user)
    kept = run(asset, other, admin_user)

    def deny_hold(*, user, obj, action):
        return obj.get("workflowId") != "wf-hold"

    with mock.patch("executions.selectors.authz_check", side_effect=deny_hold):
        items = api_client.get(executions_path(asset)).json()["message"]["Items"]

    assert [item["executionId"] for item in items] == [str(kept.execution_id)]


def test_execution_list_judges_rows_in_asset_database(api_client, asset, admin_user):
    global_workflow = make_workflow("wf-global", "GLOBAL")
    run(asset, global_workflow, admin_user)
    seen = []

    def record(*, user, obj, action):
        seen.append(obj)
        return True

    with mock.patch("executions.selectors.authz_check", side_effect=record):
        api_client.get(executions_path(asset))

    assert {"object__type": "workflow", "databaseId": "db-a", "workflowId": "wf-global"} in seen


def test_execution_stop_route_aborts_running_execution(api_client, asset, workflow, admin_user):
    execution = run(asset, workflow, admin_user)
    path = f"{executions_path(asset, 'wf-hold')}/{execution.execution_id}/stop"

    response = api_client.post(path)

    assert response.status_code == 200
    assert response.json() == {"message": f"Execution {execution.execution_id} stopped"}
    execution.refresh_from_db()
    assert execution.status == WorkflowExecution.Status.ABORTED
    assert execution.stop_date is not None
    assert execution.error == "vams.Stopped"
    assert stepfunctions.describe_execution(execution_arn=execution.execution_arn).status == "ABORTED"


def test_execution_stop_route_rejects_stopped_execution(api_client, asset, workflow, admin_user):
    execution = run(asset, workflow, admin_user)
    path = f"{executions_path(asset, 'wf-hold')}/{execution.execution_id}/stop"
    api_client.post(path)

    response = api_client.post(path)

    assert response.status_code == 400
    assert "already ABORTED; only running executions can be stopped" in response.json()["message"]


@pytest.mark.parametrize("execution_id", ["not-a-uuid", str(uuid.uuid4())])
def test_execution_stop_route_reports_unknown_execution(api_client, asset, workflow, execution_id):
    response = api_client.post(f"{executions_path(asset, 'wf-hold')}/{execution_id}/stop")

    assert response.status_code == 404
    assert "was not found on asset" in response.json()["message"]


def test_execution_stop_route_forbids_denied_workflow(api_client, asset, workflow, admin_user):
    execution = run(asset, workflow, admin_user)

    with mock.patch(
        "executions.services.authz_check",
        side_effect=lambda *, user, obj, action: obj["object__type"] != "workflow",
    ):
        response = api_client.post(f"{executions_path(asset, 'wf-hold')}/{execution.execution_id}/stop")

    assert response.status_code == 403
    execution.refresh_from_db()
    assert execution.stop_date is None


def test_execute_route_runs_workflow_named_executions(api_client, asset):
    make_workflow("executions", "db-a")

    response = api_client.post(executions_path(asset), {"workflowDatabaseId": "db-a"}, format="json")

    assert response.status_code == 200
    assert WorkflowExecution.objects.get().workflow_id == "executions"


def test_execution_stop_route_reports_missing_asset(api_client, db):
    response = api_client.post(f"/database/db-a/assets/missing/workflows/executions/wf-hold/{uuid.uuid4()}/stop")

    assert response.status_code == 404
    assert "Asset not found" in response.json()["message"]


def test_execution_stop_route_reports_throttling(api_client, asset, workflow, admin_user):
    from botocore.stub import Stubber

    from vams.aws.clients import get_client

    execution = run(asset, workflow, admin_user)
    client = get_client("stepfunctions")
    with Stubber(client) as stubber:
        stubber.add_response(
            "describe_execution",
            {
                "executionArn": execution.execution_arn,
                "stateMachineArn": workflow.workflow_arn,
                "status": "RUNNING",
                "startDate": execution.start_date,
            },
        )
        stubber.add_client_error("stop_execution", service_error_code="ThrottlingException")
        response = api_client.post(f"{executions_path(asset, 'wf-hold')}/{execution.execution_id}/stop")

    assert response.status_code == 429
    execution.refresh_from_db()
    assert execution.stop_date is None


@pytest.mark.parametrize("workflow_id", ["ab", "GLOBAL", "bad*id"])
def test_execution_list_rejects_bad_workflow_id(api_client, asset, workflow_id):
    response = api_client.get(executions_path(asset, workflow_id))

    assert response.status_code == 400
    assert "workflowId" in response.json()["message"]


def test_execute_route_reads_json_without_content_type(api_client, asset, workflow):
    response = api_client.generic(
        "POST",
        execute_path(asset),
        '{"workflowDatabaseId": "db-a", "fileKey": "part.obj"}',
        content_type="text/plain",
    )

    assert response.status_code == 200
    assert WorkflowExecution.objects.get().input_asset_file_key.endswith("/part.obj")

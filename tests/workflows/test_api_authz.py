"""Object-level authorization on the workflow routes.

Route-level checks pass for the admin client; these tests replace the
object-level check where the workflow code calls it and record its calls.
"""

import pytest

from tests.factories import function_entry, make_pipeline, workflow_body
from workflows.models import Workflow


class FakeAuthz:
    """Deny every call whose object and action match one of ``denials``."""

    def __init__(self, *denials: tuple[dict, str]) -> None:
        self.denials = denials
        self.calls: list[tuple[dict, str]] = []

    def __call__(self, *, user, obj, action) -> bool:
        self.calls.append((dict(obj), action))
        for fields, denied_action in self.denials:
            if action == denied_action and all(
                obj.get(k) == v for k, v in fields.items()
            ):
                return False
        return True


@pytest.fixture
def install_authz(monkeypatch):
    def install(fake: FakeAuthz) -> FakeAuthz:
        monkeypatch.setattr("workflows.services.authz_check", fake)
        monkeypatch.setattr("workflows.selectors.authz_check", fake)
        return fake

    return install


@pytest.fixture
def pipeline(db):
    return make_pipeline("3d-conversion-pipeline", database_id="GLOBAL")


def save(api_client, workflow_id, database_id="my-database"):
    response = api_client.put(
        "/workflows", workflow_body(workflow_id, database_id), format="json"
    )
    assert response.status_code == 200
    return response


def test_authz_list_drops_rows_user_may_not_get(api_client, pipeline, install_authz):
    save(api_client, "wf-allowed")
    save(api_client, "wf-hidden")
    install_authz(FakeAuthz(({"workflowId": "wf-hidden"}, "GET")))

    response = api_client.get("/workflows")

    assert response.status_code == 200
    ids = [item["workflowId"] for item in response.json()["message"]["Items"]]
    assert ids == ["wf-allowed"]


def test_authz_list_checks_workflow_object(api_client, pipeline, install_authz):
    save(api_client, "wf-allowed")
    fake = install_authz(FakeAuthz())

    api_client.get("/database/my-database/workflows")

    assert fake.calls == [
        (
            {
                "object__type": "workflow",
                "databaseId": "my-database",
                "workflowId": "wf-allowed",
            },
            "GET",
        )
    ]


def test_authz_list_deleted_row_uses_deleted_database(
    api_client, pipeline, install_authz
):
    save(api_client, "wf-gone")
    api_client.delete("/database/my-database/workflows/wf-gone")
    fake = install_authz(FakeAuthz())

    api_client.get("/workflows?showDeleted=true")

    assert fake.calls == [
        (
            {
                "object__type": "workflow",
                "databaseId": "my-database#deleted",
                "workflowId": "wf-gone",
            },
            "GET",
        )
    ]


def test_authz_list_filtered_page_keeps_next_token(api_client, pipeline, install_authz):
    for workflow_id in ("wf-a1", "wf-a2", "wf-a3"):
        save(api_client, workflow_id)
    install_authz(
        FakeAuthz(({"workflowId": "wf-a1"}, "GET"), ({"workflowId": "wf-a2"}, "GET"))
    )

    first = api_client.get("/workflows?maxItems=2").json()["message"]
    second = api_client.get(
        "/workflows", {"maxItems": 2, "startingToken": first["NextToken"]}
    ).json()["message"]

    assert first["Items"] == []
    assert first["NextToken"] is not None
    assert [item["workflowId"] for item in second["Items"]] == ["wf-a3"]
    assert second["NextToken"] is None


def test_authz_get_denied_is_not_found(api_client, pipeline, install_authz):
    save(api_client, "wf-hidden")
    install_authz(FakeAuthz(({"workflowId": "wf-hidden"}, "GET")))

    response = api_client.get("/database/my-database/workflows/wf-hidden")

    assert response.status_code == 404
    assert response.json() == {"message": "Workflow not found"}


def test_authz_put_denied_pipeline_names_it(api_client, pipeline, install_authz):
    install_authz(FakeAuthz(({"object__type": "pipeline"}, "GET")))

    response = api_client.put("/workflows", workflow_body(), format="json")

    assert response.status_code == 403
    assert response.json()["message"].startswith("Not Authorized to read the pipeline")
    assert "'3d-conversion-pipeline'" in response.json()["message"]
    assert not Workflow.all_objects.exists()


def test_authz_put_pipeline_object_uses_entry_database(
    api_client, pipeline, install_authz
):
    local = make_pipeline("local-pipeline", database_id="my-database")
    fake = install_authz(FakeAuthz())
    body = workflow_body(functions=[function_entry(pipeline), function_entry(local)])

    api_client.put("/workflows", body, format="json")

    pipeline_calls = [
        call for call in fake.calls if call[0]["object__type"] == "pipeline"
    ]
    assert pipeline_calls == [
        (
            {
                "object__type": "pipeline",
                "databaseId": "GLOBAL",
                "pipelineId": "3d-conversion-pipeline",
                "pipelineType": "standardFile",
                "pipelineExecutionType": "Lambda",
            },
            "GET",
        ),
        (
            {
                "object__type": "pipeline",
                "databaseId": "my-database",
                "pipelineId": "local-pipeline",
                "pipelineType": "standardFile",
                "pipelineExecutionType": "Lambda",
            },
            "GET",
        ),
    ]


def test_authz_put_denied_workflow_is_forbidden(api_client, pipeline, install_authz):
    install_authz(FakeAuthz(({"object__type": "workflow"}, "PUT")))

    response = api_client.put("/workflows", workflow_body(), format="json")

    assert response.status_code == 403
    assert response.json() == {"message": "Not Authorized"}
    assert not Workflow.all_objects.exists()


def test_authz_put_checks_pipelines_before_workflow(
    api_client, pipeline, install_authz
):
    fake = install_authz(FakeAuthz())

    api_client.put("/workflows", workflow_body(), format="json")

    assert [(obj["object__type"], action) for obj, action in fake.calls] == [
        ("pipeline", "GET"),
        ("workflow", "PUT"),
    ]


def test_authz_put_denied_hides_pipeline_existence(api_client, pipeline, install_authz):
    install_authz(FakeAuthz(({"object__type": "pipeline"}, "GET")))
    body = workflow_body(functions=[function_entry(pipeline, name="no-such-pipeline")])

    response = api_client.put("/workflows", body, format="json")

    assert response.status_code == 403


def test_authz_delete_denied_is_forbidden(api_client, pipeline, install_authz):
    save(api_client, "wf-kept")
    install_authz(FakeAuthz(({"workflowId": "wf-kept"}, "DELETE")))

    response = api_client.delete("/database/my-database/workflows/wf-kept")

    assert response.status_code == 403
    assert response.json() == {"message": "Not Authorized"}
    assert Workflow.objects.filter(workflow_id="wf-kept").exists()


def test_authz_route_denied_for_user_without_rules(db, pipeline):
    from tests.factories import client_for, make_user

    client = client_for(make_user("no-rules"))

    response = client.get("/workflows")

    assert response.status_code == 403
    assert response.json() == {"message": "Not Authorized"}

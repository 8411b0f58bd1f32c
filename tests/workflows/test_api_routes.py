"""A walk over the workflow routes with the published example bodies."""

import re

import pytest

from tests.factories import make_pipeline
from vams.dates import format_workflow_date
from workflows.models import Workflow

WORKFLOW_DATE = re.compile(r'^"[A-Z][a-z]+ \d{2} \d{4} - \d{2}:\d{2}:\d{2}"$')

EXAMPLE_PUT_BODY = {
    "workflowId": "convert-and-preview",
    "databaseId": "my-database",
    "description": "Convert 3D files and generate preview thumbnails",
    "specifiedPipelines": {
        "functions": [
            {
                "name": "3d-conversion-pipeline",
                "databaseId": "GLOBAL",
                "pipelineType": "standardFile",
                "pipelineExecutionType": "Lambda",
                "outputType": ".gltf",
                "waitForCallback": "Disabled",
                "userProvidedResource": (
                    '{"resourceId": "vams-3dconversion", "resourceType": "Lambda", '
                    '"isProvided": false}'
                ),
            }
        ]
    },
    "autoTriggerOnFileExtensionsUpload": ".fbx,.obj",
}
ITEM_KEYS = [
    "workflowId",
    "databaseId",
    "description",
    "specifiedPipelines",
    "workflow_arn",
    "autoTriggerOnFileExtensionsUpload",
    "dateCreated",
    "dateModified",
    "object__type",
]


@pytest.fixture
def example_pipeline(db):
    return make_pipeline("3d-conversion-pipeline", database_id="GLOBAL")


def put_example(api_client, body=None):
    return api_client.put("/workflows", body or EXAMPLE_PUT_BODY, format="json")


def assert_example_item(item: dict) -> None:
    stored = Workflow.objects.get(
        database_id="my-database", workflow_id="convert-and-preview"
    )
    assert list(item) == ITEM_KEYS
    assert item["workflowId"] == "convert-and-preview"
    assert item["databaseId"] == "my-database"
    assert item["description"] == EXAMPLE_PUT_BODY["description"]
    sent = EXAMPLE_PUT_BODY["specifiedPipelines"]["functions"][0]
    expected_entry = {**sent, "pipelineId": sent["name"], "object__type": "pipeline"}
    assert item["specifiedPipelines"] == {"functions": [expected_entry]}
    assert item["workflow_arn"] == stored.workflow_arn
    assert item["autoTriggerOnFileExtensionsUpload"] == ".fbx,.obj"
    assert WORKFLOW_DATE.match(item["dateCreated"])
    assert WORKFLOW_DATE.match(item["dateModified"])
    assert item["dateCreated"] == format_workflow_date(stored.date_created)
    assert item["dateModified"] == format_workflow_date(stored.date_modified)
    assert item["object__type"] == "workflow"


def test_routes_put_example_body_succeeds(api_client, example_pipeline):
    response = put_example(api_client)

    assert response.status_code == 200
    assert response.json() == {"message": "Succeeded"}
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-cache, no-store"
    stored = Workflow.objects.get(
        database_id="my-database", workflow_id="convert-and-preview"
    )
    assert stored.modified_by == "admin"
    assert stored.auto_trigger_on_file_extensions_upload == ".fbx,.obj"


def test_routes_list_all_returns_example_item(api_client, example_pipeline):
    put_example(api_client)

    response = api_client.get("/workflows")

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["message"]
    assert list(body["message"]) == ["Items", "NextToken"]
    assert body["message"]["NextToken"] is None
    assert len(body["message"]["Items"]) == 1
    assert_example_item(body["message"]["Items"][0])


def test_routes_list_database_returns_example_item(api_client, example_pipeline):
    put_example(api_client)

    response = api_client.get("/database/my-database/workflows")

    assert response.status_code == 200
    assert response.json()["message"]["NextToken"] is None
    [item] = response.json()["message"]["Items"]
    assert_example_item(item)


def test_routes_get_one_returns_example_item(api_client, example_pipeline):
    put_example(api_client)

    response = api_client.get("/database/my-database/workflows/convert-and-preview")

    assert response.status_code == 200
    assert list(response.json()) == ["message"]
    assert_example_item(response.json()["message"])


def test_routes_put_update_keeps_date_created(api_client, example_pipeline):
    put_example(api_client)
    stored = Workflow.objects.get(workflow_id="convert-and-preview")
    earlier = stored.date_created.replace(year=2025)
    Workflow.objects.filter(pk=stored.pk).update(
        date_created=earlier, date_modified=earlier
    )
    changed = {**EXAMPLE_PUT_BODY, "description": "Second description"}

    response = put_example(api_client, changed)

    assert response.status_code == 200
    assert response.json() == {"message": "Succeeded"}
    assert Workflow.all_objects.filter(workflow_id="convert-and-preview").count() == 1
    updated = Workflow.objects.get(workflow_id="convert-and-preview")
    assert updated.pk == stored.pk
    assert updated.description == "Second description"
    assert updated.date_created == earlier
    assert updated.date_modified > earlier


def test_routes_put_replaces_every_field(api_client, example_pipeline):
    put_example(api_client)
    changed = {key: value for key, value in EXAMPLE_PUT_BODY.items()}
    del changed["autoTriggerOnFileExtensionsUpload"]

    response = put_example(api_client, changed)

    assert response.status_code == 200
    stored = Workflow.objects.get(workflow_id="convert-and-preview")
    assert stored.auto_trigger_on_file_extensions_upload == ""


def test_routes_delete_example_workflow(api_client, example_pipeline):
    put_example(api_client)

    response = api_client.delete("/database/my-database/workflows/convert-and-preview")

    assert response.status_code == 200
    assert response.json() == {"message": "Workflow deleted"}
    deleted = Workflow.all_objects.get(workflow_id="convert-and-preview")
    assert deleted.deleted_at is not None
    assert deleted.deleted_by == "admin"
    assert not Workflow.objects.filter(workflow_id="convert-and-preview").exists()


def test_routes_get_after_delete_is_not_found(api_client, example_pipeline):
    put_example(api_client)
    api_client.delete("/database/my-database/workflows/convert-and-preview")

    response = api_client.get("/database/my-database/workflows/convert-and-preview")

    assert response.status_code == 404
    assert response.json() == {"message": "Workflow not found"}


def test_routes_get_deleted_with_show_deleted(api_client, example_pipeline):
    put_example(api_client)
    api_client.delete("/database/my-database/workflows/convert-and-preview")

    response = api_client.get(
        "/database/my-database/workflows/convert-and-preview?showDeleted=true"
    )

    assert response.status_code == 200
    assert response.json()["message"]["databaseId"] == "my-database#deleted"


def test_routes_delete_twice_is_not_found(api_client, example_pipeline):
    put_example(api_client)
    api_client.delete("/database/my-database/workflows/convert-and-preview")

    response = api_client.delete("/database/my-database/workflows/convert-and-preview")

    assert response.status_code == 404
    assert response.json() == {"message": "Workflow not found"}


def test_routes_get_missing_is_not_found(api_client):
    response = api_client.get("/database/my-database/workflows/no-such-workflow")

    assert response.status_code == 404
    assert response.json() == {"message": "Workflow not found"}


def test_routes_recreate_after_delete_makes_new_row(api_client, example_pipeline):
    put_example(api_client)
    first = Workflow.objects.get(workflow_id="convert-and-preview")
    earlier = first.date_created.replace(year=2025)
    Workflow.objects.filter(pk=first.pk).update(date_created=earlier)
    api_client.delete("/database/my-database/workflows/convert-and-preview")

    response = put_example(api_client)

    assert response.status_code == 200
    recreated = Workflow.objects.get(workflow_id="convert-and-preview")
    assert recreated.pk != first.pk
    assert recreated.date_created > earlier
    assert Workflow.all_objects.filter(workflow_id="convert-and-preview").count() == 2


@pytest.mark.parametrize("path", ["/workflows/", "/database/my-database/workflows/"])
def test_routes_trailing_slash_lists(api_client, example_pipeline, path):
    put_example(api_client)

    response = api_client.get(path)

    assert response.status_code == 200
    [item] = response.json()["message"]["Items"]
    assert item["workflowId"] == "convert-and-preview"


def test_routes_trailing_slash_get_one(api_client, example_pipeline):
    put_example(api_client)

    response = api_client.get("/database/my-database/workflows/convert-and-preview/")

    assert response.status_code == 200
    assert response.json()["message"]["workflowId"] == "convert-and-preview"


def test_routes_trailing_slash_put(api_client, example_pipeline):
    response = api_client.put("/workflows/", EXAMPLE_PUT_BODY, format="json")

    assert response.status_code == 200
    assert response.json() == {"message": "Succeeded"}


def test_routes_trailing_slash_delete(api_client, example_pipeline):
    put_example(api_client)

    response = api_client.delete("/database/my-database/workflows/convert-and-preview/")

    assert response.status_code == 200
    assert response.json() == {"message": "Workflow deleted"}


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/workflows"),
        ("put", "/workflows"),
        ("get", "/database/my-database/workflows"),
        ("get", "/database/my-database/workflows/convert-and-preview"),
        ("delete", "/database/my-database/workflows/convert-and-preview"),
    ],
)
def test_routes_without_token_are_unauthorized(anonymous_client, method, path):
    response = getattr(anonymous_client, method)(path)

    assert response.status_code == 401
    assert "message" in response.json()


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/workflows"),
        ("put", "/workflows"),
        ("get", "/database/my-database/workflows/"),
        ("delete", "/database/my-database/workflows/convert-and-preview"),
    ],
)
def test_routes_with_bad_token_are_unauthorized(anonymous_client, method, path):
    anonymous_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-token")

    response = getattr(anonymous_client, method)(path)

    assert response.status_code == 401
    assert "message" in response.json()


def test_routes_put_without_token_stores_nothing(anonymous_client, example_pipeline):
    anonymous_client.put("/workflows", EXAMPLE_PUT_BODY, format="json")

    assert not Workflow.all_objects.exists()


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/workflows"),
        ("delete", "/workflows"),
        ("put", "/database/my-database/workflows"),
        ("post", "/database/my-database/workflows/convert-and-preview"),
        ("put", "/database/my-database/workflows/convert-and-preview/"),
    ],
)
def test_routes_other_methods_are_not_found(api_client, method, path):
    response = getattr(api_client, method)(path)

    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_routes_put_too_large_body_is_rejected(api_client, example_pipeline, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {**EXAMPLE_PUT_BODY, "description": "x" * 2000}

    response = put_example(api_client, body)

    assert response.status_code == 413
    assert response.json() == {
        "message": "Request body is larger than 1000 bytes; send a smaller body."
    }
    assert not Workflow.all_objects.exists()

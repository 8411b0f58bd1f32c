"""Inputs that returned 5xx, kept as ordinary regression tests.

Schemathesis found the NUL characters. Probing the kinds of input it does not
generate (deep nesting, very long numbers, lone surrogates) found the rest.
Each test covers the kind of input, not only the one value that failed.
"""

import json

import pytest

from tests.factories import function_entry, make_pipeline, workflow_body
from workflows.models import Workflow

# PostgreSQL text and jsonb columns reject NUL, so a PUT body that carried one
# into a save returned 500 there. SQLite stored it.
NUL_BODIES = {
    "description": lambda body, entry: body.update(description="desc\x00ription"),
    "unknown top-level value": lambda body, entry: body.update(extra="x\x00"),
    "unknown key": lambda body, entry: body.update({"extra\x00": "x"}),
    "unknown function value": lambda body, entry: entry.update(notes="a\x00b"),
    "nested unknown value": lambda body, entry: entry.update(notes={"n": ["\x00"]}),
}


@pytest.mark.parametrize("where", NUL_BODIES)
def test_put_workflow_nul_character_rejected(api_client, where):
    entry = function_entry(make_pipeline())
    body = workflow_body(functions=[entry])
    NUL_BODIES[where](body, entry)

    response = api_client.put("/workflows", body, format="json")

    assert response.status_code == 400
    assert "NUL character" in response.json()["message"]
    assert not Workflow.all_objects.exists()


def test_put_workflow_nul_message_names_field(api_client):
    body = workflow_body(description="desc\x00ription")

    response = api_client.put("/workflows", body, format="json")

    assert response.json()["message"].startswith("description contains a NUL")


def test_put_workflow_nul_in_key_shown_escaped(api_client):
    body = workflow_body()
    body["specifiedPipelines"]["functions"][0]["bad\x00key"] = "x"

    response = api_client.put("/workflows", body, format="json")

    message = response.json()["message"]
    assert "specifiedPipelines.functions[0].bad\\x00key" in message
    assert "\x00" not in message


# Python's json module raises RecursionError on deeply nested input, which
# returned 500 on every route that reads a JSON body.
DEEP_ARRAY = "[" * 100_000 + "]" * 100_000
DEEP_BODIES = {
    "deep array": DEEP_ARRAY,
    "deep value": '{"workflowDatabaseId": ' + DEEP_ARRAY + "}",
}
EXECUTE_PATH = "/database/my-database/assets/xa1b2/workflows/convert-and-preview"


@pytest.mark.parametrize("body", DEEP_BODIES.values(), ids=list(DEEP_BODIES))
@pytest.mark.parametrize(
    "method,path", [("put", "/workflows"), ("post", EXECUTE_PATH)]
)
def test_deeply_nested_body_rejected(api_client, method, path, body):
    send = getattr(api_client, method)

    response = send(path, body, content_type="application/json")

    assert response.status_code == 400
    assert "nested more than 64 levels" in response.json()["message"]


def test_put_workflow_body_over_depth_limit_rejected(api_client):
    # Shallow enough for json, but the stored body is walked recursively.
    body = '{"workflowId": ' + "[" * 64 + "]" * 64 + "}"

    response = api_client.put("/workflows", body, content_type="application/json")

    assert response.status_code == 400
    assert "nested more than 64 levels" in response.json()["message"]


def test_token_deeply_nested_body_rejected(anonymous_client):
    response = anonymous_client.post(
        "/auth/token/", DEEP_ARRAY, content_type="application/json"
    )

    assert response.status_code == 400


def test_json_depth_limit_allows_documented_body(api_client):
    make_pipeline()
    body = workflow_body()
    body["specifiedPipelines"]["functions"][0]["notes"] = {"a": [[[["deep"]]]]}

    response = api_client.put("/workflows", body, format="json")

    assert response.status_code == 200


# int() raises ValueError for strings of more than 4300 digits, so a long
# digit string returned 500 instead of the range error.
LONG_NUMBER = "9" * 5000


@pytest.mark.parametrize("name", ["maxItems", "pageSize"])
def test_page_parameter_long_number_rejected(api_client, name):
    response = api_client.get("/workflows", {name: LONG_NUMBER})

    assert response.status_code == 400
    assert f"{name} must be a whole number" in response.json()["message"]


def test_page_parameter_leading_zeros_accepted(api_client):
    response = api_client.get("/workflows", {"maxItems": "0" * 5000 + "1"})

    assert response.status_code == 200


@pytest.mark.parametrize("field", ["taskTimeout", "taskHeartbeatTimeout"])
def test_put_workflow_long_timeout_rejected(api_client, field):
    pipeline = make_pipeline(wait_for_callback="Enabled", task_timeout="3600")
    entry = function_entry(pipeline, **{field: LONG_NUMBER})

    response = api_client.put(
        "/workflows", workflow_body(functions=[entry]), format="json"
    )

    assert response.status_code == 400
    assert f"{field} must be a string of whole seconds" in response.json()["message"]


# A \ud800 escape decodes to a lone surrogate that cannot be encoded as
# UTF-8, so saving or sending it returned 500.
SURROGATE_BODIES = {
    "put description": (
        "put",
        "/workflows",
        lambda: {**workflow_body(), "description": "abcd\ud800"},
    ),
    "put function value": (
        "put",
        "/workflows",
        lambda: workflow_body(
            functions=[function_entry(make_pipeline(), notes="\udfff")]
        ),
    ),
    "put key": ("put", "/workflows", lambda: {**workflow_body(), "\ud800": "x"}),
    "execute file key": (
        "post",
        EXECUTE_PATH,
        lambda: {"workflowDatabaseId": "my-database", "fileKey": "a/\ud800.fbx"},
    ),
}


@pytest.mark.parametrize("case", SURROGATE_BODIES)
def test_lone_surrogate_in_body_rejected(api_client, case):
    method, path, build = SURROGATE_BODIES[case]
    body = json.dumps(build())

    send = getattr(api_client, method)

    response = send(path, body, content_type="application/json")

    assert response.status_code == 400
    assert "unpaired surrogate" in response.json()["message"]
    assert not Workflow.all_objects.exists()

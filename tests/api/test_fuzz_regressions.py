"""Inputs the API fuzzing found, kept as ordinary regression tests.

Each test states the kind of input, not only the one value the fuzzer sent.
"""

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

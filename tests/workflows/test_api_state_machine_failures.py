"""A Step Functions failure during a save or delete leaves the database unchanged."""

import pytest

from tests.factories import make_pipeline, workflow_body
from vams.aws import stepfunctions
from vams.aws.errors import AwsError
from vams.exceptions import UpstreamFailure
from workflows.models import Workflow


@pytest.fixture
def pipeline(db):
    return make_pipeline("3d-conversion-pipeline", database_id="GLOBAL")


def fail_with(code: str):
    def fail(**kwargs):
        raise AwsError("stepfunctions", "Call", code, "failed on purpose")

    return fail


def test_failure_raised_in_post_save_rolls_back_create(api_client, pipeline):
    from django.db.models.signals import post_save

    def fail_receiver(sender, instance, **kwargs):
        raise UpstreamFailure("Step Functions failed on purpose.")

    post_save.connect(fail_receiver, sender=Workflow, dispatch_uid="test-fail-receiver")
    try:
        response = api_client.put("/workflows", workflow_body(), format="json")
    finally:
        post_save.disconnect(sender=Workflow, dispatch_uid="test-fail-receiver")

    assert response.status_code == 500
    assert response.json() == {"message": "Step Functions failed on purpose."}
    assert not Workflow.all_objects.exists()


def test_failure_on_create_stores_nothing(api_client, pipeline, monkeypatch):
    monkeypatch.setattr(
        stepfunctions, "create_state_machine", fail_with("InternalFailure")
    )

    response = api_client.put("/workflows", workflow_body(), format="json")

    assert response.status_code == 500
    assert "state machine" in response.json()["message"]
    assert not Workflow.all_objects.exists()


def test_throttling_on_create_is_429(api_client, pipeline, monkeypatch):
    monkeypatch.setattr(
        stepfunctions, "create_state_machine", fail_with("ThrottlingException")
    )

    response = api_client.put("/workflows", workflow_body(), format="json")

    assert response.status_code == 429
    assert not Workflow.all_objects.exists()


def test_failure_on_update_keeps_previous_row(api_client, pipeline, monkeypatch):
    api_client.put("/workflows", workflow_body(), format="json")
    before = Workflow.objects.get(workflow_id="convert-and-preview")
    monkeypatch.setattr(
        stepfunctions, "update_state_machine", fail_with("InternalFailure")
    )

    # A changed function entry changes the definition, so the machine is updated.
    changed = workflow_body(description="A changed description")
    changed["specifiedPipelines"]["functions"][0]["outputType"] = ".glb"

    response = api_client.put("/workflows", changed, format="json")

    assert response.status_code == 500
    after = Workflow.objects.get(workflow_id="convert-and-preview")
    assert after.description == before.description
    assert after.date_modified == before.date_modified
    assert after.workflow_arn == before.workflow_arn


def test_failure_on_delete_keeps_row_live(api_client, pipeline, monkeypatch):
    api_client.put("/workflows", workflow_body(), format="json")
    monkeypatch.setattr(
        stepfunctions, "delete_state_machine", fail_with("InternalFailure")
    )

    response = api_client.delete("/database/my-database/workflows/convert-and-preview")

    assert response.status_code == 500
    assert Workflow.objects.filter(workflow_id="convert-and-preview").exists()
    assert not Workflow.all_objects.filter(deleted_at__isnull=False).exists()


def test_save_stores_state_machine_arn(api_client, pipeline):
    api_client.put("/workflows", workflow_body(), format="json")

    stored = Workflow.objects.get(workflow_id="convert-and-preview")
    item = api_client.get("/database/my-database/workflows/convert-and-preview").json()

    assert stored.workflow_arn.startswith("arn:aws:states:")
    assert item["message"]["workflow_arn"] == stored.workflow_arn

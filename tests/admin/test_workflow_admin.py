import pytest
from django.urls import reverse

from tests.factories import make_pipeline
from workflows.models import Workflow

ADD_URL = "admin:workflows_workflow_add"
CHANGELIST = "admin:workflows_workflow_changelist"


def workflow_form_data(steps, **fields) -> dict:
    """Return the add/change form POST data; ``steps`` is [(pipeline, order)]."""
    data = {
        "database_id": "GLOBAL",
        "workflow_id": "convert-and-preview",
        "description": "Convert then preview",
        "auto_trigger_on_file_extensions_upload": "",
        "functions-TOTAL_FORMS": str(len(steps) + 1),
        "functions-INITIAL_FORMS": "0",
        "functions-MIN_NUM_FORMS": "0",
        "functions-MAX_NUM_FORMS": "1000",
    }
    for index, (pipeline, order) in enumerate(steps):
        data[f"functions-{index}-pipeline"] = (
            f"{pipeline.database_id}/{pipeline.pipeline_id}"
        )
        data[f"functions-{index}-ORDER"] = str(order)
    data.update(fields)
    return data


@pytest.fixture
def two_pipelines(db):
    return make_pipeline("convert-step"), make_pipeline(
        "preview-step", output_type=".png"
    )


@pytest.fixture
def saved_workflow(admin_client, two_pipelines):
    first, second = two_pipelines
    admin_client.post(
        reverse(ADD_URL), workflow_form_data([(first, 1), (second, 2)]), follow=True
    )
    return Workflow.objects.get(workflow_id="convert-and-preview")


def test_workflow_add_page_offers_live_pipelines(admin_client, two_pipelines):
    response = admin_client.get(reverse(ADD_URL))

    body = response.content.decode()
    assert response.status_code == 200
    assert 'value="GLOBAL/convert-step"' in body
    assert 'value="GLOBAL/preview-step"' in body


def test_workflow_add_saves_steps_in_order(admin_client, two_pipelines):
    first, second = two_pipelines

    response = admin_client.post(
        reverse(ADD_URL), workflow_form_data([(first, 2), (second, 1)])
    )

    assert response.status_code == 302
    workflow = Workflow.objects.get(workflow_id="convert-and-preview")
    assert [entry["name"] for entry in workflow.functions] == [
        "preview-step",
        "convert-step",
    ]
    assert workflow.modified_by == "admin"


def test_workflow_add_creates_state_machine(admin_client, saved_workflow):
    from vams.aws import stepfunctions

    machine = stepfunctions.describe_state_machine(arn=saved_workflow.workflow_arn)

    assert machine is not None


def test_workflow_add_shows_service_message(admin_client, two_pipelines):
    response = admin_client.post(reverse(ADD_URL), workflow_form_data([]))

    assert response.status_code == 200
    assert "At least one pipeline function" in response.content.decode()
    assert Workflow.all_objects.exists() is False


def test_workflow_add_rejects_existing_id(admin_client, saved_workflow, two_pipelines):
    response = admin_client.post(
        reverse(ADD_URL), workflow_form_data([(two_pipelines[0], 1)])
    )

    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert len(Workflow.objects.get(pk=saved_workflow.pk).functions) == 2


def test_workflow_change_shows_definition(admin_client, saved_workflow):
    url = reverse("admin:workflows_workflow_change", args=[saved_workflow.pk])

    body = admin_client.get(url).content.decode()

    assert saved_workflow.workflow_arn in body
    assert 'class="state-machine-definition"' in body
    assert "&quot;StartAt&quot;" in body


def test_workflow_change_replaces_steps(admin_client, saved_workflow, two_pipelines):
    first, _ = two_pipelines
    url = reverse("admin:workflows_workflow_change", args=[saved_workflow.pk])
    data = workflow_form_data([(first, 1)], description="Convert only")

    response = admin_client.post(url, data)

    assert response.status_code == 302
    saved_workflow.refresh_from_db()
    assert [entry["name"] for entry in saved_workflow.functions] == ["convert-step"]
    assert saved_workflow.description == "Convert only"


def test_workflow_delete_view_soft_deletes(admin_client, saved_workflow):
    url = reverse("admin:workflows_workflow_delete", args=[saved_workflow.pk])

    response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert Workflow.all_objects.get(pk=saved_workflow.pk).is_deleted is True


def test_workflow_restore_action_recreates(admin_client, admin_user, saved_workflow):
    from vams.aws import stepfunctions
    from workflows.services import workflow_soft_delete

    workflow_soft_delete(workflow=saved_workflow, user=admin_user)

    admin_client.post(
        reverse(CHANGELIST) + "?state=deleted",
        {"action": "restore_selected", "_selected_action": [saved_workflow.pk]},
    )

    restored = Workflow.objects.get(workflow_id="convert-and-preview")
    assert restored.pk != saved_workflow.pk
    assert restored.functions == saved_workflow.functions
    assert stepfunctions.describe_state_machine(arn=restored.workflow_arn) is not None


def test_workflow_changelist_hides_deleted(admin_client, saved_workflow):
    Workflow.all_objects.filter(pk=saved_workflow.pk).update(
        deleted_at="2026-01-01T00:00:00Z"
    )

    change_url = reverse("admin:workflows_workflow_change", args=[saved_workflow.pk])

    alive_body = admin_client.get(reverse(CHANGELIST)).content.decode()
    deleted_body = admin_client.get(
        reverse(CHANGELIST) + "?state=deleted"
    ).content.decode()

    assert f'href="{change_url}"' not in alive_body
    assert f'href="{change_url}' in deleted_body


def test_workflow_change_read_only_without_put(
    read_only_curator_client, saved_workflow
):
    url = reverse("admin:workflows_workflow_change", args=[saved_workflow.pk])

    body = read_only_curator_client.get(url).content.decode()

    assert 'name="_save"' not in body
    assert 'name="description"' not in body
    assert "convert-step" in body


def test_workflow_change_post_forbidden_without_put(
    read_only_curator_client, saved_workflow, two_pipelines
):
    url = reverse("admin:workflows_workflow_change", args=[saved_workflow.pk])
    data = workflow_form_data([(two_pipelines[0], 1)], description="Changed")

    response = read_only_curator_client.post(url, data)

    assert response.status_code == 403
    assert "Not authorized" in response.content.decode()
    saved_workflow.refresh_from_db()
    assert saved_workflow.description == "Convert then preview"


def test_workflow_changelist_hides_change_link_without_put(
    read_only_curator_client, saved_workflow
):
    body = read_only_curator_client.get(reverse(CHANGELIST)).content.decode()

    assert "convert-and-preview" in body
    assert "Execute on a file" in body


def test_workflow_changelist_drops_denied_rows(curator, curator_client, admin_user):
    from authz.services import grant
    from tests.admin.rules import allow
    from tests.factories import function_entry
    from workflows.services import workflow_create_or_update

    pipeline = make_pipeline("convert-step")
    for database_id in ("db-seen", "db-hidden"):
        workflow_create_or_update(
            data={
                "databaseId": database_id,
                "workflowId": f"flow-in-{database_id}",
                "description": "Scoped workflow",
                "specifiedPipelines": {"functions": [function_entry(pipeline)]},
            },
            user=admin_user,
        )
    allow(curator, "api", ["GET"])
    grant(
        curator,
        object_type="workflow",
        actions=["GET"],
        criteria_and=[("databaseId", "equals", "db-seen")],
    )

    body = curator_client.get(reverse(CHANGELIST)).content.decode()

    assert "flow-in-db-seen" in body
    assert "flow-in-db-hidden" not in body


def test_workflow_change_marks_missing_pipeline(
    admin_client, saved_workflow, two_pipelines
):
    from workflows.models import Pipeline

    Pipeline.objects.filter(pk=two_pipelines[1].pk).delete()
    url = reverse("admin:workflows_workflow_change", args=[saved_workflow.pk])

    body = admin_client.get(url).content.decode()

    assert "GLOBAL/preview-step (pipeline not found)" in body

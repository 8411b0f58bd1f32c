import pytest
from django.urls import reverse

from tests.factories import function_entry, make_pipeline
from workflows.models import Pipeline, Workflow

CHANGELIST = "admin:workflows_pipeline_changelist"


def run_action(client, action: str, pipelines, **params):
    return client.post(
        reverse(CHANGELIST)
        + ("?state=" + params["state"] if "state" in params else ""),
        {"action": action, "_selected_action": [pipeline.pk for pipeline in pipelines]},
        follow=True,
    )


def test_pipeline_changelist_hides_deleted_by_default(admin_client):
    make_pipeline("alive-pipeline")
    Pipeline.objects.filter(pk=make_pipeline("gone-pipeline").pk).delete()

    body = admin_client.get(reverse(CHANGELIST)).content.decode()

    assert "alive-pipeline" in body
    assert "gone-pipeline" not in body


def test_pipeline_changelist_shows_deleted_under_filter(admin_client):
    make_pipeline("alive-pipeline")
    Pipeline.objects.filter(pk=make_pipeline("gone-pipeline").pk).delete()

    body = admin_client.get(reverse(CHANGELIST) + "?state=deleted").content.decode()

    assert "gone-pipeline" in body
    assert "alive-pipeline" not in body


def test_pipeline_disable_action_disables(admin_client):
    pipeline = make_pipeline("convert")

    run_action(admin_client, "disable_selected", [pipeline])

    pipeline.refresh_from_db()
    assert pipeline.enabled is False


def test_pipeline_enable_action_enables(admin_client):
    pipeline = make_pipeline("convert", enabled=False)

    run_action(admin_client, "enable_selected", [pipeline])

    pipeline.refresh_from_db()
    assert pipeline.enabled is True


def test_pipeline_delete_action_soft_deletes(admin_client):
    pipeline = make_pipeline("convert")

    run_action(admin_client, "delete_selected_pipelines", [pipeline])

    assert Pipeline.objects.filter(pk=pipeline.pk).exists() is False
    assert Pipeline.all_objects.get(pk=pipeline.pk).deleted_by == "admin"


def test_pipeline_delete_rejected_while_in_use(admin_client):
    pipeline = make_pipeline("convert")
    Workflow.objects.bulk_create(  # bulk_create skips the state machine receiver
        [
            Workflow(
                database_id="GLOBAL",
                workflow_id="uses-convert",
                description="Uses convert",
                specified_pipelines={"functions": [function_entry(pipeline)]},
                date_created="2026-01-01T00:00:00Z",
                date_modified="2026-01-01T00:00:00Z",
            )
        ]
    )

    response = run_action(admin_client, "delete_selected_pipelines", [pipeline])

    assert Pipeline.objects.filter(pk=pipeline.pk).exists() is True
    assert "is used by workflow(s) GLOBAL/uses-convert" in response.content.decode()


def test_pipeline_restore_action_restores(admin_client):
    pipeline = make_pipeline("convert")
    Pipeline.objects.filter(pk=pipeline.pk).delete()

    run_action(admin_client, "restore_selected", [pipeline], state="deleted")

    assert Pipeline.objects.filter(pk=pipeline.pk).exists() is True


def test_pipeline_restore_rejected_when_id_taken(admin_client):
    deleted = make_pipeline("convert")
    Pipeline.objects.filter(pk=deleted.pk).delete()
    make_pipeline("convert")

    response = run_action(admin_client, "restore_selected", [deleted], state="deleted")

    assert Pipeline.all_objects.get(pk=deleted.pk).is_deleted is True
    assert "cannot be restored" in response.content.decode()


def test_pipeline_disable_rejected_without_put(curator, curator_client):
    from tests.admin.rules import allow

    allow(curator, "api", ["GET", "PUT"])
    allow(curator, "pipeline", ["GET"])
    pipeline = make_pipeline("convert")

    response = run_action(curator_client, "disable_selected", [pipeline])

    pipeline.refresh_from_db()
    assert pipeline.enabled is True
    assert "Not Authorized to change: GLOBAL/convert." in response.content.decode()


def pipeline_form_data(**overrides) -> dict:
    data = {
        "database_id": "GLOBAL",
        "pipeline_id": "mesh-convert",
        "description": "Convert meshes",
        "pipeline_type": "standardFile",
        "pipeline_execution_type": "Lambda",
        "asset_type": ".obj",
        "output_type": ".glb",
        "wait_for_callback": "Disabled",
        "task_timeout": "",
        "task_heartbeat_timeout": "",
        "input_parameters": "",
        "user_provided_resource": '{"resourceId": "mesh-convert-function"}',
        "enabled": "on",
    }
    data.update(overrides)
    return data


def test_pipeline_add_saves_valid_pipeline(admin_client):
    response = admin_client.post(
        reverse("admin:workflows_pipeline_add"), pipeline_form_data()
    )

    assert response.status_code == 302
    assert Pipeline.objects.filter(pipeline_id="mesh-convert").exists() is True


def test_pipeline_add_drops_timeouts_without_callback(admin_client):
    admin_client.post(
        reverse("admin:workflows_pipeline_add"),
        pipeline_form_data(task_timeout="60", task_heartbeat_timeout="30"),
    )

    pipeline = Pipeline.objects.get(pipeline_id="mesh-convert")
    assert pipeline.task_timeout == ""
    assert pipeline.task_heartbeat_timeout == ""


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"database_id": "no-such-db"}, "Database no-such-db does not exist"),
        ({"pipeline_id": "abc"}, "4 to 64 letters"),
        ({"pipeline_id": "global"}, "GLOBAL cannot name a pipeline."),
        ({"output_type": "glb"}, "Use a dot followed by 1 to 7 letters"),
        ({"user_provided_resource": "[1]"}, "Enter a JSON object such as"),
        ({"input_parameters": "not json"}, "Enter a JSON object, or leave it blank."),
        (
            {"pipeline_execution_type": "SQS"},
            "resourceId must be a queue URL",
        ),
        (
            {"wait_for_callback": "Enabled", "task_timeout": "604801"},
            "Enter whole seconds from 1 to 604800.",
        ),
        (
            {
                "wait_for_callback": "Enabled",
                "task_timeout": "60",
                "task_heartbeat_timeout": "60",
            },
            "below the task timeout (60)",
        ),
    ],
)
def test_pipeline_add_rejects_invalid_field(admin_client, overrides, message):
    response = admin_client.post(
        reverse("admin:workflows_pipeline_add"), pipeline_form_data(**overrides)
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert Pipeline.all_objects.exists() is False


def test_pipeline_add_rejects_existing_id(admin_client):
    make_pipeline("mesh-convert")

    response = admin_client.post(
        reverse("admin:workflows_pipeline_add"), pipeline_form_data()
    )

    assert response.status_code == 200
    assert "Pipeline GLOBAL/mesh-convert already exists" in response.content.decode()
    assert Pipeline.objects.count() == 1


def test_pipeline_change_keeps_keys_read_only(admin_client):
    pipeline = make_pipeline("convert")

    response = admin_client.get(
        reverse("admin:workflows_pipeline_change", args=[pipeline.pk])
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert 'name="pipeline_id"' not in body
    assert 'name="pipeline_execution_type"' not in body
    assert 'name="description"' in body

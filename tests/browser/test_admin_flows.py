"""Curator flows through the admin in a real browser."""

import re

import pytest
from django.conf import settings

from authz.models import ADMIN_ROLE, Role
from authz.services import role_create
from tests.admin.rules import allow
from tests.browser.conftest import ADMIN_PASSWORD, log_in, save_screenshot
from tests.factories import make_asset, make_database, make_pipeline, make_user
from vams.aws import s3
from vams.models import AssetFile
from workflows.models import Workflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def superuser(transactional_db):
    """A superuser whose built-in admin role may do everything.

    The role's rules come from a data migration. A transactional test's flush
    can remove them before this test runs, so they are granted again here.
    """
    role = Role.objects.filter(name=ADMIN_ROLE).first() or role_create(name=ADMIN_ROLE)
    for object_type in ("api", "database", "asset", "pipeline", "workflow"):
        allow(role, object_type, ["GET", "PUT", "POST", "DELETE"])
    user = make_user("admin", is_superuser=True)
    user.set_password(ADMIN_PASSWORD)
    user.save()
    return user


@pytest.fixture
def catalog(transactional_db):
    """Two GLOBAL pipelines and an asset with one file stored in S3."""
    make_pipeline("convert-step")
    make_pipeline("preview-step", output_type=".png")
    asset = make_asset(make_database("db-a"), asset_id="chair")
    key = "chair/models/seat.obj"
    s3.put_object(bucket=settings.VAMS_ASSET_BUCKET, key=key, body=b"v 0 0 0\n")
    return AssetFile.objects.create(asset=asset, key=key, size=8)


def messages_text(page) -> str:
    return page.inner_text("ul.messagelist")


def test_browser_workflow_lifecycle(page, live_server, superuser, catalog):
    log_in(page, live_server, "admin")
    save_screenshot(page, "lifecycle-01-index")

    page.goto(f"{live_server.url}/admin/workflows/workflow/add/")
    page.fill("#id_database_id", "GLOBAL")
    page.fill("#id_workflow_id", "browser-flow")
    page.fill("#id_description", "Made in the browser")
    page.select_option("#id_functions-0-pipeline", "GLOBAL/convert-step")
    page.fill("#id_functions-0-ORDER", "1")
    page.select_option("#id_functions-1-pipeline", "GLOBAL/preview-step")
    page.fill("#id_functions-1-ORDER", "2")
    save_screenshot(page, "lifecycle-02-add-filled")
    page.click("input[name=_save]")
    assert "was added successfully" in messages_text(page)
    save_screenshot(page, "lifecycle-03-changelist")

    page.click("text=browser-flow")
    page.click("summary:has-text('State machine')")
    page.wait_for_selector("pre.state-machine-definition")
    assert "StartAt" in page.inner_text("pre.state-machine-definition")
    save_screenshot(page, "lifecycle-04-change")

    page.click("a.executelink")
    page.select_option("#id_target", f"file:{catalog.pk}")
    save_screenshot(page, "lifecycle-05-execute")
    page.click("input[name=_execute]")
    started = messages_text(page)
    assert re.search(r"Started execution [0-9a-f-]{36}", started)
    execution_id = re.search(r"[0-9a-f-]{36}", started).group(0)
    assert execution_id in page.inner_text("#result_list")
    save_screenshot(page, "lifecycle-06-executions")

    workflow = Workflow.objects.get(workflow_id="browser-flow")
    page.goto(f"{live_server.url}/admin/workflows/workflow/{workflow.pk}/delete/")
    page.click("input[type=submit]")
    assert "was deleted successfully" in messages_text(page)
    assert "browser-flow" not in page.inner_text("#changelist")
    save_screenshot(page, "lifecycle-07-deleted")

    page.goto(f"{live_server.url}/admin/workflows/workflow/?state=deleted")
    page.check(f"input[name=_selected_action][value='{workflow.pk}']")
    page.select_option("select[name=action]", "restore_selected")
    page.click("button[name=index]")
    assert "Restored workflow GLOBAL/browser-flow." in messages_text(page)
    save_screenshot(page, "lifecycle-08-restored")
    assert Workflow.objects.filter(workflow_id="browser-flow").exists() is True


def test_browser_curator_cannot_change_workflow(page, live_server, superuser, catalog):
    from workflows.services import workflow_create_or_update

    workflow = workflow_create_or_update(
        data={
            "databaseId": "GLOBAL",
            "workflowId": "read-only-flow",
            "description": "Curators may only look",
            "specifiedPipelines": {
                "functions": [
                    {
                        "name": "convert-step",
                        "databaseId": "GLOBAL",
                        "pipelineType": "standardFile",
                        "pipelineExecutionType": "Lambda",
                        "outputType": ".gltf",
                        "waitForCallback": "Disabled",
                        "userProvidedResource": '{"resourceId": "vams-3dconversion"}',
                    }
                ]
            },
        },
        user=superuser,
    )
    curator = make_user("curator", is_staff=True)
    curator.set_password(ADMIN_PASSWORD)
    curator.save()
    allow(curator, "api", ["GET", "PUT", "POST", "DELETE"])
    allow(curator, "workflow", ["GET"])
    allow(curator, "pipeline", ["GET"])

    log_in(page, live_server, "curator")
    change_url = f"{live_server.url}/admin/workflows/workflow/{workflow.pk}/change/"
    page.goto(change_url)
    save_screenshot(page, "curator-01-view-only")
    assert page.locator("input[name=_save]").count() == 0
    assert page.locator("#id_description").count() == 0
    assert "Curators may only look" in page.inner_text("#content-main")

    # Submit the page's form anyway, as a hand-made request would.
    with page.expect_navigation():
        page.evaluate(
            """() => {
                const form = document.getElementById('workflow_form');
                const field = document.createElement('input');
                field.name = 'description';
                field.value = 'Changed by a curator';
                form.appendChild(field);
                form.submit();
            }"""
        )
    save_screenshot(page, "curator-02-refused-post")
    assert page.locator("#content h1").inner_text() == "Not authorized"
    workflow.refresh_from_db()
    assert workflow.description == "Curators may only look"


def test_browser_asset_upload_lists_file(
    page, live_server, superuser, catalog, tmp_path
):
    upload = tmp_path / "back.obj"
    upload.write_bytes(b"v 1 1 1\n")

    log_in(page, live_server, "admin")
    page.goto(f"{live_server.url}/admin/vams/asset/{catalog.asset_id}/change/")
    page.set_input_files("#id_upload", str(upload))
    page.fill("#id_upload_path", "models/back.obj")
    save_screenshot(page, "asset-01-upload-filled")
    page.click("input[name=_continue]")

    assert "Uploaded chair/models/back.obj." in messages_text(page)
    assert "chair/models/back.obj" in page.inner_text("#files-group")
    assert "chair/models/seat.obj" in page.inner_text("#files-group")
    save_screenshot(page, "asset-02-uploaded")


def test_browser_pipeline_disable_action(page, live_server, superuser, catalog):
    from workflows.models import Pipeline

    pipeline = Pipeline.objects.get(pipeline_id="convert-step")

    log_in(page, live_server, "admin")
    page.goto(f"{live_server.url}/admin/workflows/pipeline/")
    page.check(f"input[name=_selected_action][value='{pipeline.pk}']")
    page.select_option("select[name=action]", "disable_selected")
    page.click("button[name=index]")

    assert "Disabled 1 pipeline(s)." in messages_text(page)
    save_screenshot(page, "pipelines-01-disabled")
    pipeline.refresh_from_db()
    assert pipeline.enabled is False

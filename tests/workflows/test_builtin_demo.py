import io
import json
from unittest import mock

import pytest
import trimesh
from django.core.management import call_command
from django.core.management.base import CommandError

from vams.aws import s3
from vams.models import AssetFile
from workflows.builtin import demo
from workflows.builtin.pipelines import register_builtin_pipelines
from workflows.models import Workflow


def test_terrain_obj_is_a_colored_grid():
    mesh = trimesh.load(
        trimesh.util.wrap_as_stream(demo.terrain_obj_bytes()), file_type="obj"
    )

    assert len(mesh.vertices) == 15_525
    assert len(mesh.faces) == 30_552
    assert mesh.visual.kind == "vertex"
    assert mesh.extents[0] > 20_000


@pytest.mark.django_db
def test_seed_demo_creates_catalog(admin_user):
    register_builtin_pipelines()

    catalog = demo.seed_demo(user=admin_user)

    assert catalog.database.database_id == "demo"
    keys = sorted(
        AssetFile.objects.filter(asset=catalog.asset).values_list("key", flat=True)
    )
    assert keys == [catalog.image_key, catalog.mesh_key]
    assert (
        s3.head_object(bucket=catalog.asset.bucket_name, key=catalog.mesh_key)
        is not None
    )
    assert catalog.workflow.workflow_arn.startswith("arn:aws:states:")
    names = [entry["name"] for entry in catalog.workflow.functions]
    assert names == ["convert-mesh-glb", "preview-thumbnail", "extract-metadata"]


@pytest.mark.django_db
def test_seed_demo_runs_twice(admin_user):
    register_builtin_pipelines()
    first = demo.seed_demo(user=admin_user)

    second = demo.seed_demo(user=admin_user)

    assert second.asset.pk == first.asset.pk
    assert AssetFile.objects.filter(asset=second.asset).count() == 2
    assert Workflow.objects.filter(workflow_id="convert-and-preview").count() == 1


@pytest.mark.django_db
def test_demo_execute_command_names_route(admin_user):
    assert demo.demo_execute_command("http://127.0.0.1:8000", "t0k") == ""
    register_builtin_pipelines()
    demo.seed_demo(user=admin_user)

    command = demo.demo_execute_command("http://127.0.0.1:8000", "t0k")

    url = "http://127.0.0.1:8000/database/demo/assets/demo-terrain-and-photo/workflows/convert-and-preview"
    assert url in command
    body = json.loads(command.split(" -d ", 1)[1].strip("'"))
    assert body == {
        "workflowDatabaseId": "demo",
        "fileKey": "demo-terrain-and-photo/terrain/jacksboro_fault_dem.obj",
    }


@pytest.mark.django_db
def test_seed_demo_command_reports_catalog(admin_user):
    stdout = io.StringIO()

    call_command("seed_demo", "--username", admin_user.username, stdout=stdout)

    assert (
        "Demo ready: database demo, asset demo-terrain-and-photo" in stdout.getvalue()
    )


@pytest.mark.django_db
def test_seed_demo_command_rejects_unknown_user():
    with pytest.raises(CommandError, match="User 'nobody' does not exist"):
        call_command("seed_demo", "--username", "nobody")


@pytest.mark.django_db
def test_seed_demo_restores_missing_objects(admin_user):
    register_builtin_pipelines()
    first = demo.seed_demo(user=admin_user)
    bucket = first.asset.bucket_name
    # An emulator restart loses the S3 objects and keeps the rows.
    s3.delete_object(bucket=bucket, key=first.image_key)
    s3.delete_object(bucket=bucket, key=first.mesh_key)

    with mock.patch.object(demo.assets, "asset_file_add") as add:
        second = demo.seed_demo(user=admin_user)

    assert add.call_count == 0
    restored = s3.get_object_bytes(bucket=bucket, key=second.image_key)
    assert restored == demo.photograph_bytes()
    image = s3.head_object(bucket=bucket, key=second.image_key)
    assert image.content_type == "image/jpeg"
    assert s3.head_object(bucket=bucket, key=second.mesh_key) is not None
    assert AssetFile.objects.filter(asset=second.asset).count() == 2


@pytest.mark.django_db
def test_seed_demo_keeps_present_objects(admin_user):
    register_builtin_pipelines()
    first = demo.seed_demo(user=admin_user)

    with (
        mock.patch.object(demo.assets, "asset_file_add") as add,
        mock.patch.object(demo.s3, "put_object") as put,
    ):
        demo.seed_demo(user=admin_user)

    assert add.call_count == 0
    assert put.call_count == 0
    assert AssetFile.objects.filter(asset=first.asset).count() == 2

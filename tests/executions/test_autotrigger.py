import io
from unittest import mock

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from executions.autotrigger import asset_file_added, is_trigger_excluded, workflow_matches
from executions.models import WorkflowExecution
from tests.executions.conftest import make_workflow
from tests.factories import make_asset, make_database, make_user
from vams.assets import asset_file_add
from vams.aws import s3
from vams.exceptions import Forbidden, InvalidInput
from vams.models import AssetFile


@pytest.mark.parametrize(
    ("setting", "key", "expected"),
    [
        ("jpg,png", "xa/photo.jpg", True),
        (".JPG, .png", "xa/photo.jpg", True),
        ("jpg", "xa/PHOTO.JPG", True),
        ("..glb", "xa/models/part.glb", True),
        ("gz", "xa/a.tar.gz", True),
        ("tar.gz", "xa/a.tar.gz", False),
        ("all", "xa/README", True),
        (".ALL", "xa/part.glb", True),
        (" All ", "xa/part.glb", True),
        ("jpg", "xa/README", False),
        ("obj", "xa/part.glb", False),
        ("", "xa/part.glb", False),
        (" , ,", "xa/part.glb", False),
        ("j.pg,glb", "xa/part.glb", True),
        ("glb", "xa/part.glb", True),
        ("glb", "xa/folder.glb/readme", False),
    ],
)
def test_workflow_matches_extension_rules(setting, key, expected):
    assert workflow_matches(setting, key) is expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("xa/models/part.glb", False),
        ("xa/part.glb", False),
        ("xa/pipelines/out.glb", True),
        ("xa/pipeline-tmp/out.glb", True),
        ("xa/preview/a.png", True),
        ("preview-set/part.glb", True),
        ("xa/temp-uploads/part.glb", True),
        ("xa/workspace/part.glb", True),
        ("xa/part.glb.previewFile.png", True),
        ("xa/mypipeline/part.glb", False),
    ],
)
def test_is_trigger_excluded_skips_internal_folders(key, expected):
    assert is_trigger_excluded(key) is expected


def add(asset, relative_path, user, capture, content=b"data"):
    with capture(execute=True):
        return asset_file_add(asset=asset, relative_path=relative_path, content=content, user=user)


def test_asset_file_add_uploads_and_records(asset, admin_user, django_capture_on_commit_callbacks):
    asset_file = add(asset, "scans/new.e57", admin_user, django_capture_on_commit_callbacks, b"12345")

    assert asset_file.key == f"{asset.base_key}scans/new.e57"
    assert asset_file.size == 5
    assert asset_file.source == AssetFile.Source.UPLOAD
    stored = s3.head_object(bucket=settings.VAMS_ASSET_BUCKET, key=asset_file.key)
    assert stored.size == 5


def test_asset_file_add_starts_matching_workflows(asset, admin_user, django_capture_on_commit_callbacks):
    make_workflow("wf-glb", "db-a", auto_trigger="glb")
    make_workflow("wf-all", "GLOBAL", auto_trigger="all")
    make_workflow("wf-obj", "db-a", auto_trigger="obj")
    make_workflow("wf-none", "db-a", auto_trigger="")
    make_database("db-b")
    make_workflow("wf-other-db", "db-b", auto_trigger="glb")

    asset_file = add(asset, "models/new.GLB", admin_user, django_capture_on_commit_callbacks)

    executions = WorkflowExecution.objects.filter(input_asset_file_key=asset_file.key)
    assert sorted(executions.values_list("workflow_database_id", "workflow_id")) == [
        ("GLOBAL", "wf-all"),
        ("db-a", "wf-glb"),
    ]
    assert set(executions.values_list("trigger_source", flat=True)) == {"auto-trigger"}
    assert set(executions.values_list("started_by", flat=True)) == {"admin"}


def test_asset_file_add_triggers_for_root_file(asset, admin_user, django_capture_on_commit_callbacks):
    make_workflow("wf-glb", "db-a", auto_trigger=".glb")

    asset_file = add(asset, "top.glb", admin_user, django_capture_on_commit_callbacks)

    execution = WorkflowExecution.objects.get()
    assert execution.input_asset_file_key == asset_file.key == f"{asset.base_key}top.glb"


def test_asset_file_add_does_not_trigger_without_match(asset, admin_user, django_capture_on_commit_callbacks):
    make_workflow("wf-obj", "db-a", auto_trigger="obj,fbx")

    add(asset, "notes.txt", admin_user, django_capture_on_commit_callbacks)

    assert WorkflowExecution.objects.count() == 0


def test_asset_file_add_does_not_trigger_before_commit(asset, admin_user, django_capture_on_commit_callbacks):
    make_workflow("wf-all", "db-a", auto_trigger="all")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        asset_file_add(asset=asset, relative_path="a.glb", content=b"x", user=admin_user)

    assert len(callbacks) == 1
    assert WorkflowExecution.objects.count() == 0


def test_asset_file_added_continues_after_failure(asset, admin_user, caplog):
    broken = make_workflow("wf-broken", "db-a", auto_trigger="glb")
    broken.specified_pipelines = {"functions": [{"name": "missing-pipe", "databaseId": "db-a"}]}
    type(broken).objects.filter(pk=broken.pk).update(specified_pipelines=broken.specified_pipelines)
    make_workflow("wf-good", "db-a", auto_trigger="glb")
    asset_file = AssetFile.objects.get(asset=asset, key=f"{asset.base_key}models/part.glb")

    summary = asset_file_added(asset_file, user=admin_user)

    assert summary.workflows_triggered == 2
    assert summary.workflows_failed == 1
    assert summary.workflows_succeeded == 1
    assert WorkflowExecution.objects.get().workflow_id == "wf-good"
    failure = [record for record in caplog.records if "Auto-trigger failed" in record.getMessage()]
    assert len(failure) == 1
    assert "wf-broken" in failure[0].getMessage()
    assert asset_file.key in failure[0].getMessage()


def test_asset_file_added_skips_pipeline_folder(asset, admin_user):
    make_workflow("wf-all", "db-a", auto_trigger="all")
    asset_file = AssetFile.objects.create(asset=asset, key=f"{asset.base_key}pipelines/out.glb")

    summary = asset_file_added(asset_file, user=admin_user)

    assert summary.workflows_found == 0
    assert WorkflowExecution.objects.count() == 0


@pytest.mark.parametrize("path", ["../escape.glb", "a/../../b.glb", "dir/", "", "a\\b.glb", "a/./b.glb"])
def test_asset_file_add_rejects_bad_path(asset, admin_user, path):
    with pytest.raises(InvalidInput, match="is invalid"):
        asset_file_add(asset=asset, relative_path=path, content=b"x", user=admin_user)
    assert AssetFile.objects.filter(asset=asset).count() == 4


def test_asset_file_add_applies_extension_restriction(asset, admin_user):
    asset.database.restrict_file_uploads_to_extensions = ".glb, obj"
    asset.database.save()

    with pytest.raises(InvalidInput, match="accepts only glb, obj"):
        asset_file_add(asset=asset, relative_path="a.exe", content=b"x", user=admin_user)


def test_asset_file_add_requires_put_on_asset(asset):
    viewer = make_user("viewer")

    with pytest.raises(Forbidden):
        asset_file_add(asset=asset, relative_path="a.glb", content=b"x", user=viewer)
    assert not AssetFile.objects.filter(key=f"{asset.base_key}a.glb").exists()


def test_asset_file_add_rolls_back_on_upload_failure(asset, admin_user):
    from vams.aws.errors import AwsError
    from vams.exceptions import UpstreamFailure

    with mock.patch(
        "vams.assets.s3.put_object", side_effect=AwsError("s3", "put_object", "InternalError", "x")
    ):
        with pytest.raises(UpstreamFailure, match="was not added"):
            asset_file_add(asset=asset, relative_path="a.glb", content=b"x", user=admin_user)
    assert not AssetFile.objects.filter(key=f"{asset.base_key}a.glb").exists()


def test_add_asset_file_command_uploads_file(asset, admin_user, tmp_path):
    source = tmp_path / "scan.e57"
    source.write_bytes(b"points")
    out = io.StringIO()

    call_command("add_asset_file", "db-a", asset.asset_id, str(source), "--as", "scans/s.e57", stdout=out)

    assert AssetFile.objects.filter(key=f"{asset.base_key}scans/s.e57", size=6).exists()
    assert f"Added {asset.base_key}scans/s.e57 (6 bytes)." in out.getvalue()


def test_add_asset_file_command_reports_missing_user(asset, admin_user, tmp_path):
    source = tmp_path / "scan.e57"
    source.write_bytes(b"points")

    with pytest.raises(CommandError) as raised:
        call_command("add_asset_file", "db-a", asset.asset_id, str(source), "--user", "nobody")

    assert str(raised.value) == (
        "User 'nobody' was not found; pass --user with an existing username."
    )
    assert not AssetFile.objects.filter(key=f"{asset.base_key}scan.e57").exists()


def test_add_asset_file_command_reports_missing_asset(db, admin_user, tmp_path):
    source = tmp_path / "scan.e57"
    source.write_bytes(b"points")

    with pytest.raises(CommandError, match="was not found in database"):
        call_command("add_asset_file", "db-a", "nope", str(source))

import json
import threading
import uuid
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection

from executions import outputs
from executions.models import WorkflowExecution
from executions.outputs import consume_output_messages, location_for, outputs_register, process_output_message
from executions.services import execution_start
from tests.executions.conftest import make_workflow
from tests.factories import make_asset, make_database, make_pipeline, make_user
from vams.aws import s3, sqs, stepfunctions
from vams.aws.errors import AwsError
from vams.models import AssetFile


def bucket_keys(prefix: str) -> set[str]:
    return {item.key for item in s3.list_objects(bucket=settings.VAMS_ASSET_BUCKET, prefix=prefix)}


def put(key: str, body: bytes = b"out") -> None:
    s3.put_object(bucket=settings.VAMS_ASSET_BUCKET, key=key, body=body)


def start(asset, workflow, user, file_key="models/part.glb"):
    return execution_start(
        database_id=asset.database_id,
        asset_id=asset.asset_id,
        workflow_id=workflow.workflow_id,
        workflow_database_id=workflow.database_id,
        file_key=file_key,
        user=user,
    )


def output_prefix(execution) -> str:
    return f"pipelines/global-pipe/00-global-pipe/output/{execution.execution_id}/"


def write_outputs(execution) -> str:
    prefix = output_prefix(execution)
    put(f"{prefix}files/models/part.gltf")
    put(f"{prefix}files/part.bin")
    put(f"{prefix}previews/notes.txt")
    put(f"{prefix}previews/thumb.png")
    put(f"{prefix}previews/zz.jpg")
    put(f"{prefix}metadata/asset.metadata.json", b'{"metadata": []}')
    put(f"{prefix}metadata/readme.txt")
    return prefix


def message_for(execution, prefix: str, token: str = "token") -> str:
    asset = execution.asset
    body = {
        "databaseId": asset.database_id,
        "assetId": asset.asset_id,
        "workflowDatabaseId": execution.workflow_database_id,
        "workflowId": execution.workflow_id,
        "assetLocationKey": asset.base_key,
        "filesPathKey": f"{prefix}files/",
        "metadataPathKey": f"{prefix}metadata/",
        "previewPathKey": f"{prefix}previews/",
        "description": "Output from 00-global-pipe",
        "executionId": str(execution.execution_id),
        "pipeline": "global-pipe",
        "outputType": ".gltf",
        "executingUserName": "admin",
        "executingRequestContext": {},
        "TaskToken": token,
    }
    return json.dumps({"body": body})


def test_outputs_register_copies_all_folders(asset, workflow, admin_user):
    execution = start(asset, workflow, admin_user)
    prefix = write_outputs(execution)

    result = outputs_register(execution=execution, location=location_for(prefix))

    assert result.files == 2
    assert result.metadata_files == 1
    base = asset.base_key
    registered = AssetFile.objects.filter(asset=asset, source=AssetFile.Source.PIPELINE)
    assert set(registered.values_list("key", flat=True)) == {
        f"{base}models/part.gltf",
        f"{base}part.bin",
        f"{base}asset.metadata.json",
    }
    assert set(registered.values_list("execution_id", flat=True)) == {str(execution.execution_id)}
    assert {f"{base}models/part.gltf", f"{base}part.bin"} <= bucket_keys(base)
    asset.refresh_from_db()
    assert asset.preview_key == f"{asset.base_key}previews/thumb.png"
    assert bucket_keys(asset.preview_key) == {asset.preview_key}
    assert asset.asset_type == "folder"


def test_outputs_register_deletes_sources(
    asset, workflow, admin_user, django_capture_on_commit_callbacks
):
    execution = start(asset, workflow, admin_user)
    prefix = write_outputs(execution)

    with django_capture_on_commit_callbacks(execute=True):
        outputs_register(execution=execution, location=location_for(prefix))

    # Only objects that were not registered stay behind.
    assert bucket_keys(prefix) == {
        f"{prefix}previews/notes.txt",
        f"{prefix}previews/zz.jpg",
        f"{prefix}metadata/readme.txt",
    }


def test_outputs_register_runs_once(asset, workflow, admin_user):
    execution = start(asset, workflow, admin_user)
    prefix = write_outputs(execution)

    first = outputs_register(execution=execution, location=location_for(prefix))
    AssetFile.objects.filter(source=AssetFile.Source.PIPELINE).delete()
    second = outputs_register(execution=execution, location=location_for(prefix))

    assert first is not None
    assert second is None
    assert AssetFile.objects.filter(source=AssetFile.Source.PIPELINE).count() == 0
    execution.refresh_from_db()
    assert execution.outputs_registered_at is not None


def test_outputs_register_skips_folder_with_executable(asset, workflow, admin_user):
    execution = start(asset, workflow, admin_user)
    prefix = output_prefix(execution)
    put(f"{prefix}files/model.glb")
    put(f"{prefix}files/tool.exe")

    result = outputs_register(execution=execution, location=location_for(prefix))

    assert result.files == 0
    assert f"{prefix}files/model.glb" in result.skipped
    assert not AssetFile.objects.filter(source=AssetFile.Source.PIPELINE).exists()


def test_outputs_register_extension_rule(asset, workflow, admin_user):
    asset.database.restrict_file_uploads_to_extensions = ".glb"
    asset.database.save()
    execution = start(asset, workflow, admin_user)
    prefix = output_prefix(execution)
    put(f"{prefix}files/a.glb")
    put(f"{prefix}files/b.txt")

    result = outputs_register(execution=execution, location=location_for(prefix))

    assert result.files == 1
    assert result.skipped == [f"{prefix}files/b.txt"]


def test_outputs_register_file_preview_base(asset, workflow, admin_user):
    execution = start(asset, workflow, admin_user)
    prefix = output_prefix(execution)
    put(f"{prefix}files/models/part.glb.previewFile.png")
    put(f"{prefix}files/orphan.glb.previewFile.png")

    result = outputs_register(execution=execution, location=location_for(prefix))

    # models/part.glb is on the asset already; orphan.glb is nowhere.
    assert result.files == 1
    assert result.skipped == [f"{prefix}files/orphan.glb.previewFile.png"]


def test_outputs_register_claims_but_skips_denied_user(asset, workflow, admin_user):
    execution = start(asset, workflow, admin_user)
    prefix = write_outputs(execution)

    with mock.patch("executions.outputs.authz_check", return_value=False):
        with pytest.raises(outputs.OutputsNotAuthorized, match="may not change asset"):
            outputs_register(execution=execution, location=location_for(prefix))

    assert not AssetFile.objects.filter(source=AssetFile.Source.PIPELINE).exists()
    execution.refresh_from_db()
    assert execution.outputs_registered_at is not None


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"executionId": "nope"}, "is not a UUID"),
        ({"executionId": str(uuid.UUID(int=7))}, "is not recorded"),
        ({"assetId": "other"}, "assetId 'other' does not match"),
        ({"filesPathKey": "pipelines/a/files/"}, "filesPathKey"),
        ({"previewPathKey": "pipelines/a/b/output/{other}/previews/"}, "previewPathKey"),
        ({"metadataPathKey": "{prefix}files/"}, "metadataPathKey"),
    ],
)
def test_process_output_message_answers_invalid_message(asset, workflow, admin_user, change, fragment):
    execution = start(asset, workflow, admin_user)
    prefix = write_outputs(execution)
    body = json.loads(message_for(execution, prefix))
    for name, value in change.items():
        body["body"][name] = value.format(other=uuid.uuid4(), prefix=prefix)

    with mock.patch("executions.outputs.stepfunctions.send_task_success") as answer:
        outcome = process_output_message(json.dumps(body))

    assert outcome.done is True
    assert outcome.output["statusCode"] == 400
    assert fragment in outcome.output["message"]
    answer.assert_called_once()
    assert not AssetFile.objects.filter(source=AssetFile.Source.PIPELINE).exists()


@pytest.mark.parametrize("text", ["not json", "[]", '{"body": {}}', '{"body": "{}"}'])
def test_process_output_message_without_token(db, text):
    outcome = process_output_message(text)

    assert outcome.done is True
    assert outcome.output["statusCode"] == 400


def test_process_output_message_s3_failure(asset, workflow, admin_user):
    execution = start(asset, workflow, admin_user)
    prefix = write_outputs(execution)
    from vams.aws.errors import AwsError

    with mock.patch(
        "executions.outputs.s3.copy_object",
        side_effect=AwsError("s3", "copy_object", "InternalError", "boom"),
    ):
        outcome = process_output_message(message_for(execution, prefix))

    assert outcome.done is False
    execution.refresh_from_db()
    assert execution.outputs_registered_at is None
    assert not AssetFile.objects.filter(source=AssetFile.Source.PIPELINE).exists()


def test_process_output_message_dead_token(asset, workflow, admin_user):
    execution = start(asset, workflow, admin_user)
    prefix = write_outputs(execution)

    outcome = process_output_message(message_for(execution, prefix, token="no-such-token"))

    assert outcome.done is True
    assert outcome.output["filesRegistered"] == 2


def callback_workflow(queue_url: str):
    pipeline = make_pipeline(
        "sqs-pipe",
        database_id="GLOBAL",
        pipeline_execution_type="SQS",
        wait_for_callback="Enabled",
        task_timeout="600",
        user_provided_resource=json.dumps({"resourceId": queue_url, "resourceType": "SQS"}),
    )
    return make_workflow("wf-sqs", "db-a", pipelines=[pipeline], definition=None)


def receive_one(url: str) -> dict:
    for _ in range(40):
        messages = sqs.receive_messages(url=url, max_messages=1, wait_seconds=1)
        if messages:
            sqs.delete_message(url=url, receipt_handle=messages[0].receipt_handle)
            return json.loads(messages[0].body)
    raise AssertionError("no pipeline message arrived")


@pytest.mark.e2e
def test_execution_succeeds_after_outputs(asset, admin_user):
    pipeline_queue = sqs.ensure_queue(f"test-pipeline-{uuid.uuid4().hex[:8]}")
    workflow = callback_workflow(pipeline_queue)
    execution = start(asset, workflow, admin_user)

    payload = receive_one(pipeline_queue)["body"]
    files_uri = payload["outputS3AssetFilesPath"]
    files_key = files_uri.split("/", 3)[3]
    put(f"{files_key}converted/part.gltf")
    stepfunctions.send_task_success(task_token=payload["TaskToken"], output={"ok": True})

    handled = 0
    for _ in range(40):
        handled += consume_output_messages(max_messages=10, wait_seconds=1)
        execution.refresh_from_db()
        if execution.outputs_registered_at is not None:
            break

    # The consumer itself records the end, without a refresh or a sync.
    assert handled >= 1
    assert execution.status == WorkflowExecution.Status.SUCCEEDED
    assert execution.stop_date is not None
    assert AssetFile.objects.filter(
        asset=asset, key=f"{asset.base_key}converted/part.gltf", execution_id=str(execution.execution_id)
    ).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_outputs_register_once_under_racing_consumers(admin_role):
    user = make_user("admin", is_superuser=True)
    asset = make_asset(make_database("db-a"), f"xr{uuid.uuid4().hex[:8]}")
    s3.put_object(bucket=settings.VAMS_ASSET_BUCKET, key=f"{asset.base_key}models/part.glb", body=b"x")
    workflow = make_workflow()
    execution = start(asset, workflow, user)
    prefix = write_outputs(execution)
    message = message_for(execution, prefix)
    barrier = threading.Barrier(8)
    outcomes = []

    def consume():
        try:
            barrier.wait()
            outcomes.append(process_output_message(message).output)
        finally:
            connection.close()

    threads = [threading.Thread(target=consume) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    registered = [output for output in outcomes if output.get("filesRegistered") is not None]
    assert len(outcomes) == 8
    assert len(registered) == 1
    assert sum(output["message"] == outputs.ALREADY_REGISTERED for output in outcomes) == 7
    assert AssetFile.objects.filter(source=AssetFile.Source.PIPELINE).count() == 3


def test_output_message_keeps_running_row(asset, workflow, admin_user):
    execution = start(asset, workflow, admin_user)
    prefix = write_outputs(execution)

    with (
        mock.patch.object(stepfunctions, "send_task_success"),
        mock.patch.object(outputs, "STOP_POLL_SECONDS", 0.3),
    ):
        outcome = process_output_message(message_for(execution, prefix))

    assert outcome.done is True
    execution.refresh_from_db()
    assert execution.status == WorkflowExecution.Status.RUNNING
    assert execution.stop_date is None


def test_output_message_refresh_failure_logged(asset, workflow, admin_user, caplog):
    execution = start(asset, workflow, admin_user)
    prefix = write_outputs(execution)
    failure = AwsError(service="states", operation="DescribeExecution", code="ServiceUnavailable", message="down")

    with (
        mock.patch.object(stepfunctions, "send_task_success"),
        mock.patch.object(outputs, "execution_refresh", side_effect=failure),
    ):
        outcome = process_output_message(message_for(execution, prefix))

    assert outcome.done is True
    assert outcome.output["filesRegistered"] == 2
    assert "after task success failed" in caplog.text

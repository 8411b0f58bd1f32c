import json
import time
import uuid

import pytest
import trimesh
from django.conf import settings

from vams.aws import events, s3, sqs, stepfunctions
from workflows.builtin import payload, worker
from workflows.builtin.errors import InvalidPayload
from workflows.builtin.pipelines import builtin_pipeline, ensure_queue
from workflows.statemachine import build_definition

BUCKET = "vams-assets"


def _body(**overrides) -> dict:
    body = {
        "inputS3AssetFilePath": f"s3://{BUCKET}/xa1/models/box.obj",
        "outputS3AssetFilesPath": f"s3://{BUCKET}/pipelines/p/j/output/e1/files/",
        "outputS3AssetPreviewPath": f"s3://{BUCKET}/pipelines/p/j/output/e1/previews/",
        "outputS3AssetMetadataPath": f"s3://{BUCKET}/pipelines/p/j/output/e1/metadata/",
        "bucketAsset": BUCKET,
        "inputAssetFileKey": "xa1/models/box.obj",
        "inputAssetLocationKey": "xa1/",
        "outputType": ".glb",
        "inputParameters": "",
    }
    body.update(overrides)
    return body


def test_message_body_reads_sqs_message():
    body = payload.message_body(json.dumps({"body": _body(TaskToken="t1")}))

    assert body["TaskToken"] == "t1"


def test_message_body_unwraps_eventbridge_event():
    event = {
        "detail-type": "extract-metadata",
        "source": "vams.pipeline",
        "detail": {"body": _body()},
    }

    body = payload.message_body(json.dumps(event))

    assert body["outputType"] == ".glb"


def test_message_body_rejects_message_without_body():
    with pytest.raises(InvalidPayload, match="no 'body' object"):
        payload.message_body(json.dumps({"detail-type": "x", "detail": {"other": 1}}))


def test_parse_request_reads_paths_and_execution():
    request = payload.parse_request(_body(inputParameters='{"size": 256}'))

    assert request.input == payload.S3Location(BUCKET, "xa1/models/box.obj")
    assert request.files.key == "pipelines/p/j/output/e1/files/"
    assert request.execution_id == "e1"
    assert request.input_parameters == {"size": 256}
    assert request.is_first_step is True


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"outputS3AssetFilesPath": ""}, "is missing outputS3AssetFilesPath"),
        ({"inputS3AssetFilePath": "https://example/x"}, "is not an s3:// URL"),
        ({"outputType": "glb"}, "is not an extension"),
    ],
)
def test_parse_request_rejects_bad_payload(overrides, message):
    with pytest.raises(InvalidPayload, match=message):
        payload.parse_request(_body(**overrides))


def _upload_box(key: str) -> None:
    s3.put_object(
        bucket=BUCKET,
        key=key,
        body=trimesh.creation.box().export(file_type="obj").encode(),
    )


def test_process_message_without_token_uploads_outputs():
    prefix = f"pipelines/convert-mesh-glb/j/output/{uuid.uuid4()}/"
    _upload_box("xa1/models/box.obj")
    body = _body(
        outputS3AssetFilesPath=f"s3://{BUCKET}/{prefix}files/",
        outputS3AssetPreviewPath=f"s3://{BUCKET}/{prefix}previews/",
        outputS3AssetMetadataPath=f"s3://{BUCKET}/{prefix}metadata/",
    )

    outcome = worker.process_message(
        builtin_pipeline("convert-mesh-glb"), json.dumps({"body": body})
    )

    assert outcome.succeeded, outcome.cause
    keys = [item.key for item in s3.list_objects(bucket=BUCKET, prefix=prefix)]
    assert keys == [f"{prefix}files/models/box.glb"]


def test_process_message_later_step_fallback():
    prefix = f"pipelines/convert-mesh-glb/j/output/{uuid.uuid4()}/"
    _upload_box("xa1/models/box.obj")
    body = _body(
        inputS3AssetFilePath=f"s3://{BUCKET}/{prefix}files/",
        outputS3AssetFilesPath=f"s3://{BUCKET}/{prefix}files/",
        outputS3AssetPreviewPath=f"s3://{BUCKET}/{prefix}previews/",
        outputS3AssetMetadataPath=f"s3://{BUCKET}/{prefix}metadata/",
        outputType=".json",
    )

    outcome = worker.process_message(
        builtin_pipeline("extract-metadata"), json.dumps({"body": body})
    )

    assert outcome.succeeded, outcome.cause
    document = json.loads(
        s3.get_object_bytes(
            bucket=BUCKET, key=f"{prefix}metadata/models/box.obj.metadata.json"
        )
    )
    assert {
        "metadataKey": "faceCount",
        "metadataValue": "12",
        "metadataValueType": "number",
    } in document["metadata"]


def test_process_message_fetches_obj_companions():
    prefix = f"pipelines/preview-thumbnail/j/output/{uuid.uuid4()}/"
    mesh = trimesh.creation.box()
    mesh.visual.face_colors = [200, 30, 30, 255]
    text, extra = trimesh.exchange.obj.export_obj(
        mesh, return_texture=True, include_texture=True, mtl_name="red.mtl"
    )
    s3.put_object(bucket=BUCKET, key="xa2/red.obj", body=text.encode())
    for name, data in extra.items():
        s3.put_object(bucket=BUCKET, key=f"xa2/{name}", body=data)
    body = _body(
        inputS3AssetFilePath=f"s3://{BUCKET}/xa2/red.obj",
        inputAssetFileKey="xa2/red.obj",
        inputAssetLocationKey="xa2/",
        outputS3AssetFilesPath=f"s3://{BUCKET}/{prefix}files/",
        outputS3AssetPreviewPath=f"s3://{BUCKET}/{prefix}previews/",
        outputS3AssetMetadataPath=f"s3://{BUCKET}/{prefix}metadata/",
        outputType=".png",
    )

    outcome = worker.process_message(
        builtin_pipeline("preview-thumbnail"), json.dumps({"body": body})
    )

    assert outcome.succeeded, outcome.cause
    assert outcome.output["outputs"] == [
        f"{prefix}files/red.obj.previewFile.png",
        f"{prefix}previews/red.png",
    ]


def test_process_message_whole_asset_folder():
    prefix = f"pipelines/convert-mesh-glb/j/output/{uuid.uuid4()}/"
    mesh = trimesh.creation.box()
    text, extra = trimesh.exchange.obj.export_obj(
        mesh, return_texture=True, include_texture=True, mtl_name="part.mtl"
    )
    s3.put_object(bucket=BUCKET, key="xa3/models/part.obj", body=text.encode())
    s3.put_object(bucket=BUCKET, key="xa3/models/part.mtl", body=b"newmtl a\n")
    s3.put_object(bucket=BUCKET, key="xa3/readme.txt", body=b"notes")
    body = _body(
        inputS3AssetFilePath=f"s3://{BUCKET}/xa3/",
        inputAssetFileKey="xa3/",
        inputAssetLocationKey="xa3/",
        outputS3AssetFilesPath=f"s3://{BUCKET}/{prefix}files/",
        outputS3AssetPreviewPath=f"s3://{BUCKET}/{prefix}previews/",
        outputS3AssetMetadataPath=f"s3://{BUCKET}/{prefix}metadata/",
    )

    outcome = worker.process_message(
        builtin_pipeline("convert-mesh-glb"), json.dumps({"body": body})
    )

    assert outcome.succeeded, outcome.cause
    assert outcome.output["outputs"] == [f"{prefix}files/models/part.glb"]


def test_process_message_reports_unreadable_input():
    s3.put_object(
        bucket=BUCKET, key="xa1/broken.glb", body=b"glTF\x02\x00\x00\x00garbage"
    )
    body = _body(inputS3AssetFilePath=f"s3://{BUCKET}/xa1/broken.glb")

    outcome = worker.process_message(
        builtin_pipeline("convert-mesh-glb"), json.dumps({"body": body})
    )

    assert outcome.succeeded is False
    assert outcome.error == "UnreadableInput"
    assert outcome.cause.startswith("broken.glb could not be read as GLB")


def test_process_message_reports_missing_input():
    body = _body(inputS3AssetFilePath=f"s3://{BUCKET}/xa1/missing.obj")

    outcome = worker.process_message(
        builtin_pipeline("convert-mesh-glb"), json.dumps({"body": body})
    )

    assert outcome.succeeded is False
    assert outcome.error == "InputNotFound"
    assert "missing.obj does not exist" in outcome.cause


def _function_entry(pipeline_id: str, queue_url: str) -> dict:
    pipeline = builtin_pipeline(pipeline_id)
    entry = {
        "name": pipeline_id,
        "databaseId": "GLOBAL",
        "pipelineType": pipeline.pipeline_type,
        "pipelineExecutionType": pipeline.execution_type,
        "outputType": pipeline.output_type,
        "waitForCallback": "Enabled",
        "taskTimeout": "120",
        "taskHeartbeatTimeout": "60",
        "userProvidedResource": json.dumps(
            {"resourceId": queue_url, "resourceType": "SQS"}
        ),
    }
    return entry


def _start(functions: list[dict], file_key: str) -> str:
    output_url = sqs.queue_url(settings.VAMS_OUTPUT_QUEUE_NAME)
    definition = build_definition("worker-test", functions, output_queue_url=output_url)
    arn = stepfunctions.create_state_machine(
        name=f"vams-worker-test-{uuid.uuid4().hex[:8]}", definition=definition
    )
    execution_input = {
        "bucketAsset": BUCKET,
        "bucketAssetAuxiliary": settings.VAMS_AUXILIARY_BUCKET,
        "inputAssetLocationKey": file_key.split("/")[0] + "/",
        "inputAssetFileKey": file_key,
        "databaseId": "db",
        "assetId": file_key.split("/")[0],
        "workflowDatabaseId": "GLOBAL",
        "workflowId": "worker-test",
        "inputMetadata": "{}",
        "executingUserName": "admin",
        "executingRequestContext": {},
    }
    name = str(uuid.uuid4())
    return stepfunctions.start_execution(
        state_machine_arn=arn, name=name, payload=execution_input
    ).arn


def _poll_until(pipeline_id: str, url: str, *, attempts: int = 20) -> int:
    handled = 0
    for _ in range(attempts):
        handled = worker.poll_queue(builtin_pipeline(pipeline_id), url, wait_seconds=1)
        if handled:
            return handled
    return handled


def _output_prefix(execution_name: str) -> str:
    """Return the execution's output folder, found from the objects written there."""
    marker = f"/output/{execution_name}/"
    for item in s3.list_objects(bucket=BUCKET, prefix="pipelines/convert-mesh-glb/"):
        if marker in item.key:
            return item.key[: item.key.index(marker) + len(marker)]
    raise AssertionError(f"no outputs for execution {execution_name}")


def test_worker_runs_sqs_then_eventbridge_steps():
    convert_url = ensure_queue(builtin_pipeline("convert-mesh-glb"))
    metadata_url = ensure_queue(builtin_pipeline("extract-metadata"))
    metadata_entry = _function_entry("extract-metadata", "")
    metadata_entry["userProvidedResource"] = json.dumps(
        {
            "resourceId": "default",
            "resourceType": "EventBridge",
            "eventSource": "vams.pipeline",
        }
    )
    _upload_box("xw1/box.obj")
    execution_arn = _start(
        [_function_entry("convert-mesh-glb", convert_url), metadata_entry],
        "xw1/box.obj",
    )
    execution_name = execution_arn.rsplit(":", 1)[-1]

    assert _poll_until("convert-mesh-glb", convert_url) == 1
    assert _poll_until("extract-metadata", metadata_url) == 1

    prefix = _output_prefix(execution_name)
    keys = [item.key for item in s3.list_objects(bucket=BUCKET, prefix=prefix)]
    assert keys == [f"{prefix}files/box.glb", f"{prefix}metadata/box.glb.metadata.json"]
    glb = s3.get_object_bytes(bucket=BUCKET, key=f"{prefix}files/box.glb")
    loaded = trimesh.load(
        trimesh.util.wrap_as_stream(glb), file_type="glb", force="mesh"
    )
    assert len(loaded.faces) == 12
    # Both task results were accepted, so the run now waits in the output step.
    snapshot = stepfunctions.describe_execution(execution_arn=execution_arn)
    assert snapshot.status == "RUNNING"
    stepfunctions.stop_execution(
        execution_arn=execution_arn, error="TestDone", cause="checked"
    )


def test_worker_failure_fails_execution():
    convert_url = ensure_queue(builtin_pipeline("convert-mesh-glb"))
    s3.put_object(
        bucket=BUCKET, key="xw2/broken.glb", body=b"glTF\x02\x00\x00\x00garbage"
    )
    execution_arn = _start(
        [_function_entry("convert-mesh-glb", convert_url)], "xw2/broken.glb"
    )

    assert _poll_until("convert-mesh-glb", convert_url) == 1

    for _ in range(40):
        snapshot = stepfunctions.describe_execution(execution_arn=execution_arn)
        if snapshot.status != "RUNNING":
            break
        time.sleep(0.25)
    assert snapshot.status == "FAILED"
    # moto 5.2's SendTaskFailure handler drops the cause, so only the error
    # name reaches the execution here; process_message tests check the cause.
    assert snapshot.error == "UnreadableInput"


def test_eventbridge_rule_delivers_to_queue():
    url = ensure_queue(builtin_pipeline("extract-metadata"))

    events.put_event(
        bus_name="default",
        source="vams.pipeline",
        detail_type="extract-metadata",
        detail={"body": _body(TaskToken="from-event")},
    )

    for _ in range(10):
        messages = sqs.receive_messages(url=url, wait_seconds=1)
        if messages:
            break
    assert payload.message_body(messages[0].body)["TaskToken"] == "from-event"
    sqs.delete_message(url=url, receipt_handle=messages[0].receipt_handle)

"""A two-pipeline workflow runs to the end in the emulator.

The test sends each task token back itself.

The first pipeline is an SQS queue and the second an EventBridge rule that
routes to another queue; both wait for a callback. The closing output step's
message is read from the output queue and answered here, standing in for the
output consumer. A single-pipeline workflow whose callback never comes shows
the retries on timeout.
"""

import json
import time
import uuid

import pytest
from django.conf import settings

from tests.workflows.machines import save_workflow
from vams.aws import events, sqs, stepfunctions
from workflows.statemachine import EXECUTION_INPUT_KEYS

pytestmark = [pytest.mark.django_db, pytest.mark.e2e]

POLL_ATTEMPTS = 60
POLL_PAUSE_SECONDS = 0.2


@pytest.fixture
def two_pipelines() -> dict:
    """Create an SQS pipeline's queue and an EventBridge rule routing to another."""
    run_id = uuid.uuid4().hex[:8]
    sqs_queue_url = sqs.ensure_queue(f"e2e-sqs-pipeline-{run_id}")
    event_queue_url = sqs.ensure_queue(f"e2e-eventbridge-pipeline-{run_id}")
    event_source = f"e2e.pipeline.{run_id}"
    events.ensure_rule_to_queue(
        rule_name=f"e2e-pipeline-{run_id}",
        event_pattern={"source": [event_source]},
        queue_arn=sqs.queue_arn(event_queue_url),
    )
    functions = [
        {
            "name": "convert-glb",
            "databaseId": "GLOBAL",
            "pipelineType": "standardFile",
            "pipelineExecutionType": "SQS",
            "outputType": ".glb",
            "waitForCallback": "Enabled",
            "taskTimeout": "300",
            "userProvidedResource": json.dumps(
                {"resourceId": sqs_queue_url, "resourceType": "SQS"}
            ),
        },
        {
            "name": "make-preview",
            "databaseId": "GLOBAL",
            "pipelineType": "previewFile",
            "pipelineExecutionType": "EventBridge",
            "outputType": ".png",
            "waitForCallback": "Enabled",
            "taskTimeout": "300",
            "userProvidedResource": json.dumps(
                {"resourceType": "EventBridge", "eventSource": event_source}
            ),
        },
    ]
    workflow = save_workflow(
        workflow_id=f"e2e-{run_id}", specified_pipelines={"functions": functions}
    )
    return {
        "workflow": workflow,
        "sqs_queue_url": sqs_queue_url,
        "event_queue_url": event_queue_url,
    }


def execution_input(workflow) -> dict:
    document = {
        "bucketAsset": settings.VAMS_ASSET_BUCKET,
        "bucketAssetAuxiliary": settings.VAMS_AUXILIARY_BUCKET,
        "inputAssetLocationKey": "xa1b2/",
        "inputAssetFileKey": "xa1b2/model.obj",
        "databaseId": "my-database",
        "assetId": "xa1b2",
        "workflowDatabaseId": workflow.database_id,
        "workflowId": workflow.workflow_id,
        "inputMetadata": "{}",
        "executingUserName": "admin",
        "executingRequestContext": {"requestId": "e2e"},
    }
    assert set(document) == set(EXECUTION_INPUT_KEYS)
    return document


def start(workflow) -> stepfunctions.StartedExecution:
    return stepfunctions.start_execution(
        state_machine_arn=workflow.workflow_arn,
        name=str(uuid.uuid4()),
        payload=execution_input(workflow),
    )


def receive_body(queue_url: str, *, matches=lambda body: True) -> dict:
    """Return the first message body on the queue that ``matches``, deleting it."""
    for _ in range(POLL_ATTEMPTS):
        for message in sqs.receive_messages(
            url=queue_url, max_messages=10, wait_seconds=1
        ):
            body = json.loads(message.body)
            if matches(body):
                sqs.delete_message(url=queue_url, receipt_handle=message.receipt_handle)
                return body
    raise AssertionError(f"No matching message arrived on {queue_url}.")


def wait_until_stopped(execution_arn: str) -> stepfunctions.ExecutionSnapshot:
    for _ in range(POLL_ATTEMPTS):
        snapshot = stepfunctions.describe_execution(execution_arn=execution_arn)
        if snapshot.status != "RUNNING":
            return snapshot
        time.sleep(POLL_PAUSE_SECONDS)
    raise AssertionError(f"Execution {execution_arn} is still running.")


def fail_first_pipeline(two_pipelines) -> stepfunctions.ExecutionSnapshot:
    started = start(two_pipelines["workflow"])
    message = receive_body(two_pipelines["sqs_queue_url"])
    stepfunctions.send_task_failure(
        task_token=message["body"]["TaskToken"],
        error="ConversionFailed",
        cause="The mesh has no faces.",
    )
    return wait_until_stopped(started.arn)


def test_e2e_two_callbacks_succeed(two_pipelines):
    workflow = two_pipelines["workflow"]
    started = start(workflow)
    execution_name = started.arn.rsplit(":", 1)[-1]

    first = receive_body(two_pipelines["sqs_queue_url"])["body"]
    stepfunctions.send_task_success(
        task_token=first["TaskToken"], output={"converted": True}
    )
    event = receive_body(two_pipelines["event_queue_url"])
    second = event["detail"]["body"]
    stepfunctions.send_task_success(
        task_token=second["TaskToken"], output={"preview": True}
    )
    output = receive_body(
        sqs.queue_url(settings.VAMS_OUTPUT_QUEUE_NAME),
        matches=lambda body: body.get("body", {}).get("executionId") == execution_name,
    )["body"]
    stepfunctions.send_task_success(
        task_token=output["TaskToken"], output={"registered": 1}
    )
    snapshot = wait_until_stopped(started.arn)

    assert snapshot.status == "SUCCEEDED"
    assert (
        first["inputS3AssetFilePath"]
        == f"s3://{settings.VAMS_ASSET_BUCKET}/xa1b2/model.obj"
    )
    assert first["outputType"] == ".glb"
    assert event["detail-type"] == "make-preview"
    assert second["inputS3AssetFilePath"] == first["outputS3AssetFilesPath"]
    assert second["inputOutputS3AssetAuxiliaryFilesPath"] == (
        f"s3://{settings.VAMS_AUXILIARY_BUCKET}/xa1b2/model.obj/preview/make-preview/"
    )
    assert output["filesPathKey"] == (
        f"pipelines/convert-glb/00-convert-glb/output/{execution_name}/files/"
    )
    assert output["pipeline"] == "make-preview"
    assert output["outputType"] == ".png"
    assert output["workflowId"] == workflow.workflow_id
    assert json.loads(snapshot.output)["01-make-preview"]["output"] == {"preview": True}


def test_e2e_pipeline_failure_fails_execution(two_pipelines):
    snapshot = fail_first_pipeline(two_pipelines)

    assert snapshot.status == "FAILED"
    assert snapshot.error == "ConversionFailed"
    # A failure the pipeline reports is final: the task is not sent again.
    assert (
        sqs.receive_messages(url=two_pipelines["sqs_queue_url"], wait_seconds=1) == []
    )


@pytest.mark.xfail(
    strict=True,
    reason=(
        "moto 5.2.5 drops the cause of SendTaskFailure "
        "(moto/stepfunctions/responses.py)"
    ),
)
def test_e2e_pipeline_failure_keeps_cause(two_pipelines):
    snapshot = fail_first_pipeline(two_pipelines)

    assert snapshot.cause == "The mesh has no faces."


def test_e2e_timed_out_task_is_retried(aws_emulator):
    queue_url = sqs.ensure_queue(f"e2e-timeout-{uuid.uuid4().hex[:8]}")
    entry = {
        "name": "slow-pipeline",
        "databaseId": "GLOBAL",
        "pipelineType": "standardFile",
        "pipelineExecutionType": "SQS",
        "outputType": ".glb",
        "waitForCallback": "Enabled",
        "taskTimeout": "1",
        "userProvidedResource": json.dumps(
            {"resourceId": queue_url, "resourceType": "SQS"}
        ),
    }
    workflow = save_workflow(
        workflow_id="e2e-timeout", specified_pipelines={"functions": [entry]}
    )
    started = start(workflow)

    # No callback is sent, so the first attempt and two retries (after 5 s and
    # 10 s) time out.
    attempts = [receive_body(queue_url)["body"] for _ in range(3)]
    snapshot = wait_until_stopped(started.arn)

    assert all("TaskToken" in body for body in attempts)
    assert snapshot.status == "FAILED"
    # Step Functions reports States.Timeout as the error. moto 5.2.5 cannot end a
    # Fail state with a States.* error, so it reports States.Runtime with a cause
    # that names States.Timeout.
    assert "States.Timeout" in snapshot.error + snapshot.cause

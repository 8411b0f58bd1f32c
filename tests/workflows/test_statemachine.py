import json

import pytest

from workflows.statemachine import (
    EXECUTION_INPUT_KEYS,
    FAIL_STATE,
    OUTPUT_STATE,
    RETRYABLE_ERRORS,
    DefinitionError,
    build_definition,
    pipeline_state_name,
)

OUTPUT_QUEUE_URL = "http://127.0.0.1:1/123456789012/vams-process-output"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/pipeline-queue"

PAYLOAD_KEYS = {
    "inputS3AssetFilePath.$",
    "outputS3AssetFilesPath.$",
    "outputS3AssetPreviewPath.$",
    "outputS3AssetMetadataPath.$",
    "inputOutputS3AssetAuxiliaryFilesPath.$",
    "bucketAssetAuxiliary.$",
    "bucketAsset.$",
    "assetId.$",
    "databaseId.$",
    "workflowDatabaseId.$",
    "workflowId.$",
    "inputAssetFileKey.$",
    "inputAssetLocationKey.$",
    "inputMetadata.$",
    "executingUserName.$",
    "executingRequestContext.$",
    "outputType",
    "inputParameters",
}
OUTPUT_BODY_KEYS = {
    "databaseId.$",
    "assetId.$",
    "workflowDatabaseId.$",
    "workflowId.$",
    "assetLocationKey.$",
    "filesPathKey.$",
    "metadataPathKey.$",
    "previewPathKey.$",
    "description",
    "executionId.$",
    "pipeline",
    "outputType",
    "executingUserName.$",
    "executingRequestContext.$",
    "TaskToken.$",
}


def function(name="convert-glb", execution_type="Lambda", **overrides) -> dict:
    resources = {
        "Lambda": {"resourceId": "vams-convert", "resourceType": "Lambda"},
        "SQS": {"resourceId": QUEUE_URL, "resourceType": "SQS"},
        "EventBridge": {"resourceId": "default", "resourceType": "EventBridge"},
    }
    entry = {
        "name": name,
        "databaseId": "GLOBAL",
        "pipelineType": "standardFile",
        "pipelineExecutionType": execution_type,
        "outputType": ".glb",
        "waitForCallback": "Disabled",
        "userProvidedResource": json.dumps(resources[execution_type]),
    }
    entry.update(overrides)
    return entry


def build(*functions: dict) -> dict:
    return build_definition(
        "my-workflow", list(functions), output_queue_url=OUTPUT_QUEUE_URL
    )


def task_state(definition: dict, index: int = 0) -> dict:
    return definition["States"][list(definition["States"])[index]]


def payload_body(state: dict) -> dict:
    parameters = state["Parameters"]
    if "Payload" in parameters:
        return parameters["Payload"]["body"]
    if "MessageBody" in parameters:
        return parameters["MessageBody"]["body"]
    return parameters["Entries"][0]["Detail"]["body"]


def test_build_definition_lists_states_in_order():
    definition = build(function("first-step"), function("second-step"))

    assert definition["Comment"] == "VAMS Pipeline Workflow for my-workflow"
    assert definition["StartAt"] == "00-first-step"
    assert list(definition["States"]) == [
        "00-first-step",
        "01-second-step",
        OUTPUT_STATE,
        FAIL_STATE,
    ]
    assert definition["States"]["00-first-step"]["Next"] == "01-second-step"
    assert definition["States"]["01-second-step"]["Next"] == OUTPUT_STATE
    assert definition["States"][OUTPUT_STATE]["End"] is True


def test_build_definition_is_deterministic():
    functions = [function("first-step", "SQS"), function("second-step", "EventBridge")]

    first = build(*functions)
    second = build(*functions)

    assert first == second


def test_build_definition_lambda_without_callback():
    state = task_state(build(function(execution_type="Lambda")))

    assert state["Type"] == "Task"
    assert state["Resource"] == "arn:aws:states:::lambda:invoke"
    assert state["Parameters"]["FunctionName"] == "vams-convert"
    assert "TimeoutSeconds" not in state
    assert "HeartbeatSeconds" not in state
    assert set(payload_body(state)) == PAYLOAD_KEYS


def test_build_definition_lambda_with_callback():
    entry = function(
        execution_type="Lambda", waitForCallback="Enabled", taskTimeout="600"
    )

    state = task_state(build(entry))

    assert state["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert state["TimeoutSeconds"] == 600
    assert "HeartbeatSeconds" not in state
    assert set(payload_body(state)) == PAYLOAD_KEYS | {"TaskToken.$"}
    assert payload_body(state)["TaskToken.$"] == "$$.Task.Token"


def test_build_definition_sqs_without_callback():
    state = task_state(build(function(execution_type="SQS")))

    assert state["Resource"] == "arn:aws:states:::sqs:sendMessage"
    assert state["Parameters"]["QueueUrl"] == QUEUE_URL
    assert set(state["Parameters"]) == {"QueueUrl", "MessageBody"}
    assert set(payload_body(state)) == PAYLOAD_KEYS


def test_build_definition_sqs_with_callback():
    entry = function(execution_type="SQS", waitForCallback="Enabled", taskTimeout="120")

    state = task_state(build(entry))

    assert state["Resource"] == "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
    assert state["TimeoutSeconds"] == 120
    assert len(payload_body(state)) == 19


def test_build_definition_eventbridge_defaults():
    entry = function(
        execution_type="EventBridge",
        userProvidedResource=json.dumps(
            {"resourceType": "EventBridge", "eventDetailType": None}
        ),
    )

    state = task_state(build(entry))

    assert state["Resource"] == "arn:aws:states:::events:putEvents"
    [event] = state["Parameters"]["Entries"]
    assert event["EventBusName"] == "default"
    assert event["Source"] == "vams.pipeline"
    assert event["DetailType"] == "convert-glb"
    assert set(event["Detail"]["body"]) == PAYLOAD_KEYS


def test_build_definition_eventbridge_with_callback_and_own_bus():
    bus_arn = "arn:aws:events:us-east-1:123456789012:event-bus/pipelines"
    resource = {
        "resourceId": bus_arn,
        "resourceType": "EventBridge",
        "eventSource": "my.converter",
        "eventDetailType": "ConvertRequested",
    }
    entry = function(
        execution_type="EventBridge",
        waitForCallback="Enabled",
        userProvidedResource=json.dumps(resource),
    )

    state = task_state(build(entry))

    assert state["Resource"] == "arn:aws:states:::events:putEvents.waitForTaskToken"
    [event] = state["Parameters"]["Entries"]
    assert event["EventBusName"] == bus_arn
    assert event["Source"] == "my.converter"
    assert event["DetailType"] == "ConvertRequested"
    assert "TaskToken.$" in event["Detail"]["body"]


def test_build_definition_callback_default_timeout():
    state = task_state(build(function(waitForCallback="Enabled")))

    assert state["TimeoutSeconds"] == 86400


def test_build_definition_callback_heartbeat():
    entry = function(
        waitForCallback="Enabled", taskTimeout="3600", taskHeartbeatTimeout="60"
    )

    state = task_state(build(entry))

    assert state["TimeoutSeconds"] == 3600
    assert state["HeartbeatSeconds"] == 60


def test_build_definition_disabled_callback_ignores_timeouts():
    entry = function(
        waitForCallback="Sometimes", taskTimeout="600", taskHeartbeatTimeout="60"
    )

    state = task_state(build(entry))

    assert state["Resource"] == "arn:aws:states:::lambda:invoke"
    assert "TimeoutSeconds" not in state
    assert "HeartbeatSeconds" not in state
    assert "TaskToken.$" not in payload_body(state)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"taskTimeout": "soon"}, "taskTimeout 'soon'"),
        ({"taskTimeout": "0"}, "taskTimeout '0'"),
        (
            {"taskTimeout": "60", "taskHeartbeatTimeout": "60"},
            "must be below its taskTimeout",
        ),
        (
            {"taskTimeout": "60", "taskHeartbeatTimeout": "-1"},
            "taskHeartbeatTimeout '-1'",
        ),
    ],
)
def test_build_definition_rejects_bad_timeouts(overrides, fragment):
    entry = function(waitForCallback="Enabled", **overrides)

    with pytest.raises(DefinitionError, match=fragment):
        build(entry)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"pipelineExecutionType": "Batch"}, "pipelineExecutionType 'Batch'"),
        ({"userProvidedResource": "not json"}, "not a JSON object"),
        ({"userProvidedResource": "[1, 2]"}, "not a JSON object"),
        (
            {"userProvidedResource": json.dumps({"resourceType": "Lambda"})},
            "no resourceId",
        ),
    ],
)
def test_build_definition_rejects_bad_entries(overrides, fragment):
    entry = function(**overrides)

    with pytest.raises(DefinitionError, match=fragment):
        build(entry)


def test_build_definition_rejects_empty_functions():
    with pytest.raises(DefinitionError, match="at least one pipeline function"):
        build()


def test_build_definition_payload_copies_execution_input():
    body = payload_body(task_state(build(function())))

    copied = {
        key[:-2] for key in body if key.endswith(".$") and body[key] == f"$.{key[:-2]}"
    }
    assert copied == set(EXECUTION_INPUT_KEYS)


def test_build_definition_payload_paths():
    first = function("convert-glb")
    second = function("make-preview", pipelineType="previewFile")

    definition = build(first, second)
    first_body = payload_body(task_state(definition, 0))
    second_body = payload_body(task_state(definition, 1))

    files = (
        "States.Format("
        "'s3://{}/pipelines/convert-glb/00-convert-glb/output/{}/files/', "
        "$.bucketAsset, $$.Execution.Name)"
    )
    assert first_body["inputS3AssetFilePath.$"] == (
        "States.Format('s3://{}/{}', $.bucketAsset, $.inputAssetFileKey)"
    )
    assert first_body["outputS3AssetFilesPath.$"] == files
    assert first_body["outputS3AssetPreviewPath.$"] == files.replace(
        "/files/", "/previews/"
    )
    assert first_body["outputS3AssetMetadataPath.$"] == files.replace(
        "/files/", "/metadata/"
    )
    assert first_body["inputOutputS3AssetAuxiliaryFilesPath.$"] == (
        "States.Format('s3://{}/{}/pipelines/convert-glb/', "
        "$.bucketAssetAuxiliary, $.inputAssetFileKey)"
    )
    assert second_body["inputS3AssetFilePath.$"] == files
    assert second_body["outputS3AssetFilesPath.$"] == files
    assert second_body["inputOutputS3AssetAuxiliaryFilesPath.$"] == (
        "States.Format('s3://{}/{}/preview/make-preview/', "
        "$.bucketAssetAuxiliary, $.inputAssetFileKey)"
    )


def test_build_definition_payload_literals():
    entry = function(outputType=".usdz", inputParameters='{"quality": "high"}')

    body = payload_body(task_state(build(entry)))

    assert body["outputType"] == ".usdz"
    assert body["inputParameters"] == '{"quality": "high"}'


def test_build_definition_drops_unparsable_input_parameters():
    body = payload_body(task_state(build(function(inputParameters="{quality"))))

    assert body["inputParameters"] == ""


def test_build_definition_result_path_keeps_input():
    definition = build(function("convert-glb"))

    assert task_state(definition)["ResultPath"] == "$['00-convert-glb'].output"
    assert (
        definition["States"][OUTPUT_STATE]["ResultPath"]
        == "$['process-outputs'].output"
    )


def test_build_definition_retries_only_transient_errors():
    state = task_state(build(function()))

    [retry] = state["Retry"]
    assert retry["ErrorEquals"] == list(RETRYABLE_ERRORS)
    assert "States.ALL" not in retry["ErrorEquals"]
    assert "States.TaskFailed" not in retry["ErrorEquals"]
    assert retry["MaxAttempts"] == 2
    assert retry["IntervalSeconds"] == 5
    assert retry["BackoffRate"] == 2.0


def test_build_definition_fail_path():
    definition = build(function("first-step"), function("second-step"))

    for name in ("00-first-step", "01-second-step", OUTPUT_STATE):
        [catch] = definition["States"][name]["Catch"]
        assert catch == {
            "ErrorEquals": ["States.ALL"],
            "ResultPath": "$.error",
            "Next": FAIL_STATE,
        }
    assert definition["States"][FAIL_STATE] == {
        "Type": "Fail",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }


def test_build_definition_output_step():
    definition = build(
        function("convert-glb"), function("make-preview", "SQS", outputType=".png")
    )

    state = definition["States"][OUTPUT_STATE]

    assert state["Resource"] == "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
    assert state["Parameters"]["QueueUrl"] == OUTPUT_QUEUE_URL
    body = state["Parameters"]["MessageBody"]["body"]
    assert set(body) == OUTPUT_BODY_KEYS
    assert body["description"] == "Output from 01-make-preview"
    assert body["pipeline"] == "make-preview"
    assert body["outputType"] == ".png"
    assert body["assetLocationKey.$"] == "$.inputAssetLocationKey"
    assert body["filesPathKey.$"] == (
        "States.Format('pipelines/convert-glb/00-convert-glb/output/{}/files/', "
        "$$.Execution.Name)"
    )
    assert body["executionId.$"] == "$$.Execution.Name"
    assert state["TimeoutSeconds"] > 0


def test_pipeline_state_name_fits_80_characters():
    name = pipeline_state_name(3, {"name": "x" * 100})

    assert name.startswith("03-xxx")
    assert len(name) == 80


def test_pipeline_state_name_replaces_unsafe_characters():
    name = pipeline_state_name(0, {"name": "convert glb['x']"})

    assert name == "00-convert_glb__x__"


def test_build_definition_escapes_format_template():
    body = payload_body(task_state(build(function("it's{1}"))))

    assert (
        "pipelines/it\\'s\\{1\\}/00-it_s_1_/output/" in body["outputS3AssetFilesPath.$"]
    )

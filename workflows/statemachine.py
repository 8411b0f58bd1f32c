"""Build the Step Functions definition (Amazon States Language) of a workflow.

``build_definition`` is a pure function, so the same function entries always
give the same definition. ``reconcile_state_machines`` relies on that to find
drift by comparing definitions. The execution input and the payload each pipeline gets
are the ones VAMS uses, so a pipeline written for VAMS runs unchanged:

- Execution input: the keys in ``EXECUTION_INPUT_KEYS``.
- Pipeline payload: ``{"body": {...}}`` with 18 keys, plus ``TaskToken`` when the
  function waits for a callback.
- Output layout: every pipeline writes to
  ``s3://<bucketAsset>/pipelines/<first function>/<first job>/output/<execution>/``
  with ``files/``, ``previews/`` and ``metadata/`` folders.

After the last pipeline, a closing task sends the output locations to this
service's output queue and waits for its task token, so an execution succeeds
only once its outputs are registered on the asset.
"""

import json
import re

EXECUTION_INPUT_KEYS = (
    "bucketAsset",
    "bucketAssetAuxiliary",
    "inputAssetLocationKey",
    "inputAssetFileKey",
    "databaseId",
    "assetId",
    "workflowDatabaseId",
    "workflowId",
    "inputMetadata",
    "executingUserName",
    "executingRequestContext",
)
# Execution input keys that every pipeline payload copies unchanged.
PAYLOAD_COPIED_KEYS = (
    "bucketAssetAuxiliary",
    "bucketAsset",
    "assetId",
    "databaseId",
    "workflowDatabaseId",
    "workflowId",
    "inputAssetFileKey",
    "inputAssetLocationKey",
    "inputMetadata",
    "executingUserName",
    "executingRequestContext",
)

FAIL_STATE = "WorkflowProcessingJobFailed"
OUTPUT_STATE = "process-outputs"
STATE_NAME_MAX_LENGTH = 80
# Step Functions rejects whitespace, brackets, quotes and most punctuation in
# state names, and the name is also quoted inside a ResultPath.
STATE_NAME_UNSAFE = re.compile(r"[^-_.a-zA-Z0-9]")

DEFAULT_TASK_TIMEOUT_SECONDS = 86400
# The output consumer may be down for a while. After a week the execution fails
# with States.Timeout, well before the one-year limit of a standard execution.
OUTPUT_TASK_TIMEOUT_SECONDS = 604800

DEFAULT_EVENT_BUS = "default"
DEFAULT_EVENT_SOURCE = "vams.pipeline"

LAMBDA_RESOURCE = "arn:aws:states:::lambda:invoke"
SQS_RESOURCE = "arn:aws:states:::sqs:sendMessage"
EVENTBRIDGE_RESOURCE = "arn:aws:states:::events:putEvents"
CALLBACK_SUFFIX = ".waitForTaskToken"

# Errors worth sending again: the task timed out or missed a heartbeat, or the
# Lambda service itself failed or throttled. A failure that the pipeline reports
# with SendTaskFailure, or an error raised inside a Lambda function, is final.
RETRYABLE_ERRORS = (
    "States.Timeout",
    "States.HeartbeatTimeout",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
RETRY_INTERVAL_SECONDS = 5
RETRY_BACKOFF_RATE = 2.0
RETRY_MAX_ATTEMPTS = 2

ERROR_RESULT_PATH = "$.error"


class DefinitionError(ValueError):
    """A function entry that cannot become a task state.

    The message names the entry's index and the field at fault.
    """


def build_definition(
    workflow_id: str, functions: list[dict], *, output_queue_url: str
) -> dict:
    """Return the state machine definition for the ordered function entries.

    Raises DefinitionError when an entry has an unknown execution type, a
    ``userProvidedResource`` that is not a JSON object, a missing resource, or
    timeouts that are not positive whole seconds.
    """
    if not functions:
        raise DefinitionError("A workflow needs at least one pipeline function.")

    state_names = [
        pipeline_state_name(index, entry) for index, entry in enumerate(functions)
    ]
    layout = OutputLayout(
        first_function=_function_name(functions[0]), first_job=state_names[0]
    )

    states = {}
    for index, entry in enumerate(functions):
        is_last = index == len(functions) - 1
        next_state = OUTPUT_STATE if is_last else state_names[index + 1]
        payload = pipeline_payload(index, entry, layout)
        states[state_names[index]] = pipeline_task_state(
            index, entry, payload, state_name=state_names[index], next_state=next_state
        )
    states[OUTPUT_STATE] = output_task_state(
        functions[-1],
        layout,
        last_job=state_names[-1],
        output_queue_url=output_queue_url,
    )
    # NOTE: moto 5.2 cannot end a Fail state with an error named "States.*". In
    # the emulator a timed-out task therefore ends as States.Runtime, with a
    # cause that names States.Timeout. Step Functions accepts such names in a Fail state
    # (VAMS's own Fail state sets States.TaskFailed).
    states[FAIL_STATE] = {
        "Type": "Fail",
        "ErrorPath": f"{ERROR_RESULT_PATH}.Error",
        "CausePath": f"{ERROR_RESULT_PATH}.Cause",
    }
    return {
        "Comment": f"VAMS Pipeline Workflow for {workflow_id}",
        "StartAt": state_names[0],
        "States": states,
    }


def pipeline_state_name(index: int, entry: dict) -> str:
    """Return the task state name: the 0-based index and the function name.

    Characters that Step Functions rejects become ``_``. The name also serves
    as the job name inside the output paths.
    """
    name = STATE_NAME_UNSAFE.sub("_", _function_name(entry))
    return f"{index:02d}-{name}"[:STATE_NAME_MAX_LENGTH]


class OutputLayout:
    """The S3 folders a run writes to, as ``States.Format`` expressions."""

    def __init__(self, *, first_function: str, first_job: str) -> None:
        function_part = _escape_format(first_function)
        job_part = _escape_format(first_job)
        self.prefix = f"pipelines/{function_part}/{job_part}/output/"

    def folder_key(self, folder: str) -> str:
        """Return the bucket-relative key of ``files``, ``previews`` or ``metadata``."""
        return f"States.Format('{self.prefix}{{}}/{folder}/', $$.Execution.Name)"

    def folder_uri(self, folder: str) -> str:
        template = f"s3://{{}}/{self.prefix}{{}}/{folder}/"
        return f"States.Format('{template}', $.bucketAsset, $$.Execution.Name)"


def pipeline_payload(index: int, entry: dict, layout: OutputLayout) -> dict:
    """Return the ``{"body": {...}}`` payload sent to the function at ``index``."""
    if index == 0:
        input_path = "States.Format('s3://{}/{}', $.bucketAsset, $.inputAssetFileKey)"
    else:
        input_path = layout.folder_uri("files")
    auxiliary_folder = (
        "preview" if entry.get("pipelineType") == "previewFile" else "pipelines"
    )
    auxiliary_path = (
        f"States.Format('s3://{{}}/{{}}/{auxiliary_folder}/"
        f"{_escape_format(_function_name(entry))}/', "
        "$.bucketAssetAuxiliary, $.inputAssetFileKey)"
    )

    body = {
        "inputS3AssetFilePath.$": input_path,
        "outputS3AssetFilesPath.$": layout.folder_uri("files"),
        "outputS3AssetPreviewPath.$": layout.folder_uri("previews"),
        "outputS3AssetMetadataPath.$": layout.folder_uri("metadata"),
        "inputOutputS3AssetAuxiliaryFilesPath.$": auxiliary_path,
    }
    for key in PAYLOAD_COPIED_KEYS:
        body[f"{key}.$"] = f"$.{key}"
    body["outputType"] = entry.get("outputType", "")
    body["inputParameters"] = _input_parameters(entry)
    if _waits_for_callback(entry):
        body["TaskToken.$"] = "$$.Task.Token"
    return {"body": body}


def pipeline_task_state(
    index: int, entry: dict, payload: dict, *, state_name: str, next_state: str
) -> dict:
    """Return the Task state that runs one function and hands on to ``next_state``."""
    execution_type = entry.get("pipelineExecutionType") or "Lambda"
    resource = _user_provided_resource(index, entry)
    resource_id = resource.get("resourceId") or ""

    if execution_type == "Lambda":
        resource_arn = LAMBDA_RESOURCE
        parameters = {
            "FunctionName": _required(index, "resourceId", resource_id),
            "Payload": payload,
        }
    elif execution_type == "SQS":
        resource_arn = SQS_RESOURCE
        parameters = {
            "QueueUrl": _required(index, "resourceId", resource_id),
            "MessageBody": payload,
        }
    elif execution_type == "EventBridge":
        resource_arn = EVENTBRIDGE_RESOURCE
        entry_parameters = {
            "EventBusName": resource_id or DEFAULT_EVENT_BUS,
            "Source": resource.get("eventSource") or DEFAULT_EVENT_SOURCE,
            "DetailType": resource.get("eventDetailType") or _function_name(entry),
            "Detail": payload,
        }
        parameters = {"Entries": [entry_parameters]}
    else:
        raise DefinitionError(
            f"Pipeline entry {index} has an invalid pipelineExecutionType "
            f"{execution_type!r}. "
            "Use Lambda, SQS or EventBridge."
        )

    state = {"Type": "Task", "Resource": resource_arn, "Parameters": parameters}
    if _waits_for_callback(entry):
        state["Resource"] = resource_arn + CALLBACK_SUFFIX
        state.update(_callback_timeouts(index, entry))
    state.update(_result_and_errors(state_name))
    state["Next"] = next_state
    return state


def output_task_state(
    last_entry: dict, layout: OutputLayout, *, last_job: str, output_queue_url: str
) -> dict:
    """Return the closing Task state that hands the output locations to this service."""
    body = {
        "databaseId.$": "$.databaseId",
        "assetId.$": "$.assetId",
        "workflowDatabaseId.$": "$.workflowDatabaseId",
        "workflowId.$": "$.workflowId",
        "assetLocationKey.$": "$.inputAssetLocationKey",
        "filesPathKey.$": layout.folder_key("files"),
        "metadataPathKey.$": layout.folder_key("metadata"),
        "previewPathKey.$": layout.folder_key("previews"),
        "description": f"Output from {last_job}",
        "executionId.$": "$$.Execution.Name",
        "pipeline": _function_name(last_entry),
        "outputType": last_entry.get("outputType", ""),
        "executingUserName.$": "$.executingUserName",
        "executingRequestContext.$": "$.executingRequestContext",
        "TaskToken.$": "$$.Task.Token",
    }
    state = {
        "Type": "Task",
        "Resource": SQS_RESOURCE + CALLBACK_SUFFIX,
        "Parameters": {"QueueUrl": output_queue_url, "MessageBody": {"body": body}},
        "TimeoutSeconds": OUTPUT_TASK_TIMEOUT_SECONDS,
    }
    state.update(_result_and_errors(OUTPUT_STATE))
    state["End"] = True
    return state


def _result_and_errors(state_name: str) -> dict:
    # Bracket notation, because moto 5.2's JSONPath lexer rejects "-" after a dot.
    return {
        "ResultPath": f"$['{state_name}'].output",
        "Retry": [
            {
                "ErrorEquals": list(RETRYABLE_ERRORS),
                "IntervalSeconds": RETRY_INTERVAL_SECONDS,
                "BackoffRate": RETRY_BACKOFF_RATE,
                "MaxAttempts": RETRY_MAX_ATTEMPTS,
            }
        ],
        "Catch": [
            {
                "ErrorEquals": ["States.ALL"],
                "ResultPath": ERROR_RESULT_PATH,
                "Next": FAIL_STATE,
            }
        ],
    }


def _callback_timeouts(index: int, entry: dict) -> dict:
    timeouts = {
        "TimeoutSeconds": _seconds(index, "taskTimeout", entry.get("taskTimeout"))
        or DEFAULT_TASK_TIMEOUT_SECONDS
    }
    heartbeat = _seconds(
        index, "taskHeartbeatTimeout", entry.get("taskHeartbeatTimeout")
    )
    if heartbeat:
        if heartbeat >= timeouts["TimeoutSeconds"]:
            raise DefinitionError(
                f"Pipeline entry {index} has taskHeartbeatTimeout {heartbeat}, "
                "which must be "
                f"below its taskTimeout {timeouts['TimeoutSeconds']}."
            )
        timeouts["HeartbeatSeconds"] = heartbeat
    return timeouts


def _seconds(index: int, field: str, value) -> int | None:
    """Return ``value`` as positive whole seconds, or None when it is blank."""
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    try:
        seconds = int(text)
    except ValueError:
        seconds = 0
    if seconds <= 0:
        raise DefinitionError(
            f"Pipeline entry {index} has an invalid {field} {value!r}. "
            "Use a whole number of seconds above 0."
        )
    return seconds


def _user_provided_resource(index: int, entry: dict) -> dict:
    raw = entry.get("userProvidedResource")
    if isinstance(raw, dict):
        return raw
    try:
        resource = json.loads(raw or "")
    except (TypeError, ValueError):
        resource = None
    if not isinstance(resource, dict):
        raise DefinitionError(
            f"Pipeline entry {index} has a userProvidedResource that is not "
            "a JSON object."
        )
    return resource


def _input_parameters(entry: dict) -> str:
    """Return the entry's inputParameters when they parse as JSON, else ""."""
    raw = entry.get("inputParameters") or ""
    if not isinstance(raw, str):
        return ""
    try:
        json.loads(raw)
    except ValueError:
        return ""
    return raw


def _required(index: int, field: str, value: str) -> str:
    if not value:
        raise DefinitionError(
            f"Pipeline entry {index} has no {field} in its userProvidedResource."
        )
    return value


def _waits_for_callback(entry: dict) -> bool:
    return entry.get("waitForCallback") == "Enabled"


def _function_name(entry: dict) -> str:
    return str(entry.get("name") or "")


def _escape_format(text: str) -> str:
    """Escape the characters that ``States.Format`` treats specially in its template."""
    for special in ("\\", "'", "{", "}"):
        text = text.replace(special, "\\" + special)
    return text

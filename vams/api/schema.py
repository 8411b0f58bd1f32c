"""OpenAPI description of the workflows API, for drf-spectacular.

The serializers here only describe bodies, and no view validates with them. Views
take one of the ready ``extend_schema`` decorators at the bottom, so the
details of each route live in this module and the view files stay short.
``postprocess_schema`` tidies what drf-spectacular generates: route spelling,
token operations and the links that drive stateful fuzzing.
"""

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers

from vams.api.pagination import MAX_ITEMS_LIMIT, PAGE_SIZE_LIMIT

# Identifiers: letters, digits, "-" and "_". The service also rejects any case
# of "global" where GLOBAL is not allowed, which a pattern cannot express.
DATABASE_ID_PATTERN = r"^[-_a-zA-Z0-9]{3,63}$"
OBJECT_ID_PATTERN = r"^[-_a-zA-Z0-9]{4,64}$"

ERROR_DESCRIPTIONS = {
    400: "Invalid input. The message names the value and the rule it breaks.",
    401: "Missing, invalid or expired bearer token.",
    403: "Not authorized for this route or object.",
    404: "Not found.",
    429: "AWS throttled the request. Retry later.",
    500: "Internal server error, or a Step Functions call failed.",
}


class ErrorMessageSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="One sentence that describes what failed.")


class StatusMessageSerializer(serializers.Serializer):
    message = serializers.CharField(help_text='Outcome, e.g. "Succeeded".')


class FunctionEntrySerializer(serializers.Serializer):
    """One pipeline step of a workflow, in execution order."""

    name = serializers.RegexField(
        OBJECT_ID_PATTERN, help_text="Id of the pipeline this step runs."
    )
    databaseId = serializers.RegexField(
        DATABASE_ID_PATTERN,
        help_text="Database of the pipeline: GLOBAL or the workflow's database.",
    )
    pipelineType = serializers.ChoiceField(["standardFile", "previewFile"])
    pipelineExecutionType = serializers.ChoiceField(["Lambda", "SQS", "EventBridge"])
    outputType = serializers.CharField(help_text="Output file extension, e.g. .glb.")
    waitForCallback = serializers.ChoiceField(["Enabled", "Disabled"])
    userProvidedResource = serializers.CharField(
        help_text="JSON object as text: resourceId, resourceType, isProvided, ..."
    )
    taskTimeout = serializers.CharField(
        required=False, help_text="Seconds. Used when the callback is enabled."
    )
    taskHeartbeatTimeout = serializers.CharField(
        required=False, help_text="Seconds, below taskTimeout."
    )
    inputParameters = serializers.CharField(
        required=False, help_text="JSON object as text, passed to the pipeline."
    )


class SpecifiedPipelinesSerializer(serializers.Serializer):
    functions = serializers.ListField(child=FunctionEntrySerializer(), min_length=1)


class WorkflowRequestSerializer(serializers.Serializer):
    """Body of PUT /workflows. A workflow with the same ids is replaced."""

    workflowId = serializers.RegexField(OBJECT_ID_PATTERN)
    databaseId = serializers.RegexField(
        DATABASE_ID_PATTERN, help_text="Owning database, or GLOBAL for all databases."
    )
    description = serializers.CharField(min_length=4, max_length=256)
    specifiedPipelines = SpecifiedPipelinesSerializer()
    autoTriggerOnFileExtensionsUpload = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Comma-separated extensions (jpg,png) or all. Blank turns it off.",
    )


class WorkflowSerializer(serializers.Serializer):
    workflowId = serializers.CharField()
    databaseId = serializers.CharField(
        help_text='Owning database or GLOBAL, or "<id>#deleted" for a soft-deleted workflow.'
    )
    description = serializers.CharField()
    specifiedPipelines = SpecifiedPipelinesSerializer()
    workflow_arn = serializers.CharField(help_text="ARN of the state machine.")
    autoTriggerOnFileExtensionsUpload = serializers.CharField(allow_blank=True)
    dateCreated = serializers.CharField(
        help_text='JSON-quoted UTC date, e.g. "\\"March 15 2026 - 10:30:00\\"".'
    )
    dateModified = serializers.CharField(help_text="Same format as dateCreated.")


class WorkflowPageSerializer(serializers.Serializer):
    Items = WorkflowSerializer(many=True)
    NextToken = serializers.CharField(
        allow_null=True,
        help_text="Pass as startingToken for the next page. Null on the last page.",
    )


class WorkflowListResponseSerializer(serializers.Serializer):
    message = WorkflowPageSerializer()


class WorkflowResponseSerializer(serializers.Serializer):
    message = WorkflowSerializer()


class ExecuteRequestSerializer(serializers.Serializer):
    workflowDatabaseId = serializers.RegexField(
        DATABASE_ID_PATTERN,
        help_text="Database of the workflow: GLOBAL or the asset's database.",
    )
    fileKey = serializers.CharField(
        required=False,
        help_text="File to process, relative to the asset or as its full key. "
        "Without it the workflow runs on the whole asset.",
    )


class ExecuteResponseSerializer(serializers.Serializer):
    message = serializers.UUIDField(help_text="Execution id.")


class ExecutionSerializer(serializers.Serializer):
    workflowDatabaseId = serializers.CharField()
    workflowId = serializers.CharField()
    executionId = serializers.CharField()
    executionStatus = serializers.ChoiceField(
        ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]
    )
    startDate = serializers.CharField(help_text="UTC, MM/DD/YYYY, HH:MM:SS.")
    stopDate = serializers.CharField(
        required=False, allow_blank=True, help_text="Same format as startDate. Blank while running."
    )
    inputAssetFileKey = serializers.CharField(required=False)


class ExecutionPageSerializer(serializers.Serializer):
    Items = ExecutionSerializer(many=True)
    NextToken = serializers.CharField(required=False, allow_null=True)


class ExecutionListResponseSerializer(serializers.Serializer):
    message = ExecutionPageSerializer()


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """Return the documented ``{"message": ...}`` error response per status."""
    return {
        status: OpenApiResponse(ErrorMessageSerializer, ERROR_DESCRIPTIONS[status])
        for status in statuses
    }


PAGE_PARAMETERS = [
    OpenApiParameter(
        "maxItems",
        OpenApiTypes.INT,
        description=f"Maximum stored items read for this page, 1 to {MAX_ITEMS_LIMIT}.",
        default=MAX_ITEMS_LIMIT,
    ),
    OpenApiParameter(
        "pageSize",
        OpenApiTypes.INT,
        description=f"Items read per query, 1 to {PAGE_SIZE_LIMIT}.",
        default=PAGE_SIZE_LIMIT,
    ),
    OpenApiParameter(
        "startingToken",
        OpenApiTypes.STR,
        description="NextToken of the previous page.",
    ),
]

SHOW_DELETED_PARAMETER = OpenApiParameter(
    "showDeleted",
    OpenApiTypes.STR,
    enum=["true", "false", "1", "0", "yes", "no"],
    description="Add soft-deleted workflows to the list (any letter case).",
    default="false",
)

TAG_WORKFLOWS = ["workflows"]
TAG_EXECUTIONS = ["executions"]

workflow_list_schema = extend_schema(
    operation_id="listWorkflows",
    summary="List workflows",
    tags=TAG_WORKFLOWS,
    parameters=[*PAGE_PARAMETERS, SHOW_DELETED_PARAMETER],
    request=None,
    responses={
        200: WorkflowListResponseSerializer,
        **error_responses(400, 401, 403, 500),
    },
)

database_workflow_list_schema = extend_schema(
    operation_id="listDatabaseWorkflows",
    summary="List the workflows of one database",
    tags=TAG_WORKFLOWS,
    parameters=[*PAGE_PARAMETERS, SHOW_DELETED_PARAMETER],
    request=None,
    responses={
        200: WorkflowListResponseSerializer,
        **error_responses(400, 401, 403, 500),
    },
)

workflow_get_schema = extend_schema(
    operation_id="getWorkflow",
    summary="Get a workflow",
    tags=TAG_WORKFLOWS,
    parameters=[SHOW_DELETED_PARAMETER],
    request=None,
    responses={
        200: WorkflowResponseSerializer,
        **error_responses(400, 401, 403, 404, 500),
    },
)

workflow_delete_schema = extend_schema(
    operation_id="deleteWorkflow",
    summary="Soft-delete a workflow and delete its state machine",
    tags=TAG_WORKFLOWS,
    request=None,
    responses={
        200: OpenApiResponse(
            StatusMessageSerializer, 'Body: {"message": "Workflow deleted"}.'
        ),
        **error_responses(400, 401, 403, 404, 429, 500),
    },
)

workflow_put_schema = extend_schema(
    operation_id="putWorkflow",
    summary="Create or update a workflow and its state machine",
    tags=TAG_WORKFLOWS,
    request=WorkflowRequestSerializer,
    responses={
        200: OpenApiResponse(
            StatusMessageSerializer, 'Body: {"message": "Succeeded"}.'
        ),
        **error_responses(400, 401, 403, 429, 500),
    },
)

workflow_execute_schema = extend_schema(
    operation_id="executeWorkflow",
    summary="Start a workflow on one asset or one of its files",
    tags=TAG_EXECUTIONS,
    request=ExecuteRequestSerializer,
    responses={
        200: ExecuteResponseSerializer,
        **error_responses(400, 401, 403, 429, 500),
    },
)

HISTORY_PARAMETER = OpenApiParameter(
    "history",
    OpenApiTypes.STR,
    enum=["true", "false", "1", "0", "yes", "no"],
    description="Return finished executions too, with their error and cause.",
    default="false",
)
WORKFLOW_DATABASE_ID_PARAMETER = OpenApiParameter(
    "workflowDatabaseId",
    OpenApiTypes.STR,
    pattern=DATABASE_ID_PATTERN,
    description="Only executions of workflows stored in this database (or GLOBAL).",
)
EXECUTION_LIST_PARAMETERS = [
    *PAGE_PARAMETERS,
    HISTORY_PARAMETER,
    WORKFLOW_DATABASE_ID_PARAMETER,
]

execution_list_schema = extend_schema(
    operation_id="listExecutions",
    summary="List the executions of workflows on an asset",
    description="Running executions only, unless history is set.",
    tags=TAG_EXECUTIONS,
    parameters=EXECUTION_LIST_PARAMETERS,
    request=None,
    responses={
        200: ExecutionListResponseSerializer,
        **error_responses(400, 401, 403, 404, 429, 500),
    },
)

execution_list_by_workflow_schema = extend_schema(
    operation_id="listWorkflowExecutions",
    summary="List the executions of one workflow on an asset",
    description="Running executions only, unless history is set.",
    tags=TAG_EXECUTIONS,
    parameters=EXECUTION_LIST_PARAMETERS,
    request=None,
    responses={
        200: ExecutionListResponseSerializer,
        **error_responses(400, 401, 403, 404, 429, 500),
    },
)

execution_stop_schema = extend_schema(
    operation_id="stopExecution",
    summary="Stop a running execution",
    tags=TAG_EXECUTIONS,
    request=None,
    responses={
        200: OpenApiResponse(
            StatusMessageSerializer, 'Body: {"message": "Execution <id> stopped"}.'
        ),
        **error_responses(400, 401, 403, 404, 429, 500),
    },
)

# A route that only exists as another route's alias stays out of the document.
undocumented = extend_schema(exclude=True)

PATH_PARAMETER_DESCRIPTIONS = {
    "databaseId": "Database identifier, or GLOBAL where global objects are meant.",
    "workflowId": "Workflow identifier.",
    "assetId": "Asset identifier.",
    "executionId": "Execution id returned by the execute route.",
}


# The token routes reference this component even when no view of ours does.
ERROR_MESSAGE_COMPONENT = {
    "type": "object",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
}

TOKEN_OPERATIONS = {
    "/auth/token/": ("obtainToken", "Obtain an access and refresh token pair"),
    "/auth/token/refresh/": ("refreshToken", "Obtain a new access token"),
}
TOKEN_ERROR_DESCRIPTIONS = {
    400: "A required field is missing, blank or invalid.",
    401: "Wrong username or password, or an invalid or expired refresh token.",
}

# OpenAPI links from an operation's 200 response to the operations that can
# use its output. Stateful fuzzing follows them to reach stored objects.
SAVED_WORKFLOW_PARAMETERS = {
    "databaseId": "$request.body#/databaseId",
    "workflowId": "$request.body#/workflowId",
}
EXECUTED_PARAMETERS = {
    "databaseId": "$request.path.databaseId",
    "assetId": "$request.path.assetId",
    "workflowId": "$request.path.workflowId",
}
RESPONSE_LINKS = {
    "putWorkflow": {
        "GetSavedWorkflow": (
            "getWorkflow",
            SAVED_WORKFLOW_PARAMETERS,
        ),
        "DeleteSavedWorkflow": (
            "deleteWorkflow",
            SAVED_WORKFLOW_PARAMETERS,
        ),
        "ListWorkflowsOfDatabase": (
            "listDatabaseWorkflows",
            {"databaseId": "$request.body#/databaseId"},
        ),
    },
    "executeWorkflow": {
        "ListExecutionsOfWorkflow": ("listWorkflowExecutions", EXECUTED_PARAMETERS),
        "StopStartedExecution": (
            "stopExecution",
            {**EXECUTED_PARAMETERS, "executionId": "$response.body#/message"},
        ),
    },
}


def postprocess_schema(result: dict, generator, request, public: bool) -> dict:
    """Spell routes as documented, describe the token routes and add links."""
    result["paths"] = {
        _documented_path(path): item for path, item in result["paths"].items()
    }
    for item in result["paths"].values():
        for operation in item.values():
            _describe_path_parameters(operation)
    for path, (operation_id, summary) in TOKEN_OPERATIONS.items():
        operation = result["paths"].get(path, {}).get("post")
        if operation is not None:
            _describe_token_operation(operation, operation_id, summary)
    operations = {
        operation.get("operationId"): operation
        for item in result["paths"].values()
        for operation in item.values()
    }
    for source_id, links in RESPONSE_LINKS.items():
        source = operations.get(source_id)
        if source is None:
            continue
        response = source["responses"]["200"]
        for name, (target_id, parameters) in links.items():
            if target_id in operations:
                response.setdefault("links", {})[name] = {
                    "operationId": target_id,
                    "parameters": parameters,
                }
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorMessage", ERROR_MESSAGE_COMPONENT)
    return result


def _documented_path(path: str) -> str:
    """Spell path parameters in camelCase and drop the optional trailing slash.

    The workflows API documents its routes without the slash. The token routes
    keep it, the form that the run command's banner and clients use.
    """
    path = re.sub(r"\{(\w+)\}", lambda match: "{%s}" % _camel(match[1]), path)
    if path.startswith("/auth/") or path == "/":
        return path
    return path.rstrip("/")


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _describe_path_parameters(operation: dict) -> None:
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "path":
            continue
        parameter["name"] = _camel(parameter["name"])
        description = PATH_PARAMETER_DESCRIPTIONS.get(parameter["name"])
        if description:
            parameter["description"] = description


def _describe_token_operation(operation: dict, operation_id: str, summary: str) -> None:
    operation["operationId"] = operation_id
    operation["summary"] = summary
    operation["tags"] = ["auth"]
    operation["security"] = []
    for status, description in TOKEN_ERROR_DESCRIPTIONS.items():
        operation["responses"][str(status)] = {
            "description": description,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/ErrorMessage"}
                }
            },
        }

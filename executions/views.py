"""The execution routes of the Workflows API. Each view parses the request, calls
one service or selector, and wraps the result in the ``{"message": ...}`` envelope."""

import json

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from executions.selectors import execution_list
from executions.services import execution_start, execution_stop
from executions.validation import parse_boolean
from vams.api import schema as api_schema
from vams.api.envelope import envelope, list_envelope
from vams.api.exception_handler import INVALID_JSON
from vams.api.pagination import parse_page_request
from vams.api.parsers import BODY_TOO_DEEP, check_json_document
from vams.exceptions import InvalidInput

BODY_NOT_OBJECT = "Request body must be a JSON object with workflowDatabaseId; got {kind}."
STOPPED = "Execution {execution_id} stopped"


def _body_object(request: Request) -> dict:
    """Parse the raw body as JSON whatever the Content-Type, as the VAMS gateway does."""
    raw = request.body
    if not raw or not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidInput(INVALID_JSON) from None
    except RecursionError:
        raise InvalidInput(BODY_TOO_DEEP) from None
    check_json_document(data)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput(BODY_NOT_OBJECT.format(kind=type(data).__name__))
    return data


def _execute(request: Request, database_id: str, asset_id: str, workflow_id: str) -> Response:
    body = _body_object(request)
    execution = execution_start(
        database_id=database_id,
        asset_id=asset_id,
        workflow_id=workflow_id,
        workflow_database_id=body.get("workflowDatabaseId"),
        file_key=body.get("fileKey"),
        user=request.user,
    )
    return envelope(str(execution.execution_id))


def _list(request: Request, database_id: str, asset_id: str, workflow_id: str | None) -> Response:
    params = request.query_params
    history = parse_boolean(params.get("history"), field="history")
    page = parse_page_request(params)
    items, next_token = execution_list(
        user=request.user,
        database_id=database_id,
        asset_id=asset_id,
        workflow_id=workflow_id,
        workflow_database_id=params.get("workflowDatabaseId") or None,
        page=page,
        history=history,
    )
    return list_envelope(items, next_token)


class AssetWorkflowExecutionsApi(APIView):
    """GET .../workflows/executions lists the asset's executions.

    POST on the same path executes a workflow whose id is "executions", as the
    execute route's pattern matches it too.
    """

    @api_schema.execution_list_schema
    def get(self, request: Request, database_id: str, asset_id: str) -> Response:
        return _list(request, database_id, asset_id, None)

    @api_schema.undocumented
    def post(self, request: Request, database_id: str, asset_id: str) -> Response:
        return _execute(request, database_id, asset_id, "executions")


class AssetWorkflowApi(APIView):
    """POST .../workflows/{workflowId} executes the workflow on the asset."""

    @api_schema.workflow_execute_schema
    def post(self, request: Request, database_id: str, asset_id: str, workflow_id: str) -> Response:
        return _execute(request, database_id, asset_id, workflow_id)


class WorkflowExecutionsApi(APIView):
    """GET .../workflows/executions/{workflowId} lists one workflow's executions."""

    @api_schema.execution_list_by_workflow_schema
    def get(self, request: Request, database_id: str, asset_id: str, workflow_id: str) -> Response:
        return _list(request, database_id, asset_id, workflow_id)


class ExecutionStopApi(APIView):
    """POST .../workflows/executions/{workflowId}/{executionId}/stop stops a running execution."""

    @api_schema.execution_stop_schema
    def post(
        self,
        request: Request,
        database_id: str,
        asset_id: str,
        workflow_id: str,
        execution_id: str,
    ) -> Response:
        execution = execution_stop(
            database_id=database_id,
            asset_id=asset_id,
            workflow_id=workflow_id,
            execution_id=execution_id,
            user=request.user,
        )
        return envelope(STOPPED.format(execution_id=execution.execution_id))

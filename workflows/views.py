"""The workflow routes of the Workflows API. Each view parses, calls one service
or selector, and wraps the result in the ``{"message": ...}`` envelope."""

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from vams.api import schema as api_schema
from vams.api.envelope import envelope, list_envelope
from vams.api.pagination import parse_page_request
from vams.exceptions import NotFound
from workflows.selectors import (
    WORKFLOW_NOT_FOUND,
    workflow_get,
    workflow_get_alive,
    workflow_list,
)
from workflows.serializers import workflow_instance_representation
from workflows.services import workflow_create_or_update, workflow_soft_delete
from workflows.validation import (
    parse_show_deleted,
    parse_workflow_body,
    validate_path_database_id,
    validate_path_workflow_id,
)

SAVED = "Succeeded"
DELETED = "Workflow deleted"
ROUTE_NOT_FOUND = "Not Found"


class WorkflowRouteApi(APIView):
    """Base view that returns 404 for a method the route does not serve.

    The published API returns 404 for a path and method it has no route for,
    where DRF would return 405.
    """

    def http_method_not_allowed(self, request: Request, *args, **kwargs) -> Response:
        raise NotFound(ROUTE_NOT_FOUND)


class WorkflowsApi(WorkflowRouteApi):
    """GET /workflows lists every database's workflows, PUT /workflows saves one."""

    @api_schema.workflow_list_schema
    def get(self, request: Request) -> Response:
        show_deleted = parse_show_deleted(request.query_params.get("showDeleted"))
        page = parse_page_request(request.query_params)
        items, next_token = workflow_list(
            user=request.user, page=page, show_deleted=show_deleted
        )
        return list_envelope(items, next_token)

    @api_schema.workflow_put_schema
    def put(self, request: Request) -> Response:
        # The raw body is parsed here, not by DRF, so that an empty body and
        # "{}" get different responses whatever the Content-Type.
        data = parse_workflow_body(request.body)
        workflow_create_or_update(data=data, user=request.user)
        return envelope(SAVED)


class DatabaseWorkflowsApi(WorkflowRouteApi):
    """GET /database/{databaseId}/workflows lists one database's workflows."""

    @api_schema.database_workflow_list_schema
    def get(self, request: Request, database_id: str) -> Response:
        database_id = validate_path_database_id(database_id)
        show_deleted = parse_show_deleted(request.query_params.get("showDeleted"))
        page = parse_page_request(request.query_params)
        items, next_token = workflow_list(
            user=request.user,
            page=page,
            database_id=database_id,
            show_deleted=show_deleted,
        )
        return list_envelope(items, next_token)


class DatabaseWorkflowApi(WorkflowRouteApi):
    """GET and DELETE /database/{databaseId}/workflows/{workflowId}."""

    @api_schema.workflow_get_schema
    def get(self, request: Request, database_id: str, workflow_id: str) -> Response:
        database_id = validate_path_database_id(database_id)
        workflow_id = validate_path_workflow_id(workflow_id)
        show_deleted = parse_show_deleted(request.query_params.get("showDeleted"))
        workflow = workflow_get(
            user=request.user,
            database_id=database_id,
            workflow_id=workflow_id,
            show_deleted=show_deleted,
        )
        return envelope(workflow_instance_representation(workflow))

    @api_schema.workflow_delete_schema
    def delete(self, request: Request, database_id: str, workflow_id: str) -> Response:
        database_id = validate_path_database_id(database_id)
        workflow_id = validate_path_workflow_id(workflow_id)
        workflow = workflow_get_alive(database_id=database_id, workflow_id=workflow_id)
        if workflow is None:
            raise NotFound(WORKFLOW_NOT_FOUND)
        workflow_soft_delete(workflow=workflow, user=request.user)
        return envelope(DELETED)

"""The OpenAPI document against the published workflows API reference.

The table below is written from the reference (routes, parameters, bodies and
error statuses), plus the statuses and routes this service adds. The schema is
built in-process, so any drift in a view's decorator, a URL or a component
fails here before a client sees it.
"""

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

PAGE = {"maxItems", "pageSize", "startingToken"}
WORKFLOW_PATH = "/database/{databaseId}/workflows/{workflowId}"
EXECUTE_PATH = "/database/{databaseId}/assets/{assetId}/workflows/{workflowId}"
EXECUTIONS_PATH = "/database/{databaseId}/assets/{assetId}/workflows/executions"

# (method, path): query parameters, request body (required, optional) fields,
# the reference's error statuses, and the error statuses this service adds.
# 401 is added everywhere: every route needs a bearer token.
ROUTES = {
    ("get", "/workflows"): {
        "query": PAGE | {"showDeleted"},
        "body": None,
        "reference_errors": {403, 500},
        # 400: a maxItems, pageSize, startingToken or showDeleted value is invalid.
        "added_errors": {400, 401},
    },
    ("get", "/database/{databaseId}/workflows"): {
        "query": PAGE | {"showDeleted"},
        "body": None,
        "reference_errors": {403, 500},
        "added_errors": {400, 401},
    },
    ("get", WORKFLOW_PATH): {
        "query": {"showDeleted"},
        "body": None,
        "reference_errors": {400, 403, 404, 500},
        "added_errors": {401},
    },
    ("delete", WORKFLOW_PATH): {
        "query": set(),
        "body": None,
        "reference_errors": {400, 403, 404, 500},
        # 429: Step Functions throttled the state machine deletion.
        "added_errors": {401, 429},
    },
    ("put", "/workflows"): {
        "query": set(),
        "body": (
            {"workflowId", "databaseId", "description", "specifiedPipelines"},
            {"autoTriggerOnFileExtensionsUpload"},
        ),
        "reference_errors": {400, 403, 500},
        "added_errors": {401, 429},
    },
    ("post", EXECUTE_PATH): {
        "query": set(),
        "body": ({"workflowDatabaseId"}, {"fileKey"}),
        "reference_errors": {400, 403, 429, 500},
        "added_errors": {401},
    },
    ("get", EXECUTIONS_PATH): {
        "query": set(),
        "body": None,
        "reference_errors": {403, 500},
        # 400 invalid ids, 404 asset not found, 429 Step Functions throttled
        # the status refresh.
        "added_errors": {400, 401, 404, 429},
    },
    ("get", EXECUTIONS_PATH + "/{workflowId}"): {
        "query": set(),
        "body": None,
        "reference_errors": {403, 500},
        "added_errors": {400, 401, 404, 429},
    },
}

STOP_PATH = EXECUTIONS_PATH + "/{workflowId}/{executionId}/stop"

# Routes this service adds to the reference.
ROUTES[("post", STOP_PATH)] = {
    "query": set(),
    "body": None,
    "reference_errors": set(),
    # 400 already stopped, 404 asset or execution not found, 429 and 500 when
    # Step Functions throttles or fails the stop.
    "added_errors": {400, 401, 403, 404, 429, 500},
}

# Query parameters this service adds to the reference's routes: the
# executions lists page like the workflow lists, take a workflowDatabaseId
# filter and return finished executions with history=true.
EXECUTION_LIST_QUERY = PAGE | {"history", "workflowDatabaseId"}
ADDED_QUERY = {
    ("get", EXECUTIONS_PATH): EXECUTION_LIST_QUERY,
    ("get", EXECUTIONS_PATH + "/{workflowId}"): EXECUTION_LIST_QUERY,
}

TOKEN_ROUTES = {
    "/auth/token/": {"username", "password"},
    "/auth/token/refresh/": {"refresh"},
}

FUNCTION_REQUIRED = {
    "name",
    "databaseId",
    "pipelineType",
    "pipelineExecutionType",
    "outputType",
    "waitForCallback",
    "userProvidedResource",
}
FUNCTION_OPTIONAL = {"taskTimeout", "taskHeartbeatTimeout", "inputParameters"}
WORKFLOW_FIELDS = {
    "workflowId",
    "databaseId",
    "description",
    "specifiedPipelines",
    "workflow_arn",
    "autoTriggerOnFileExtensionsUpload",
    "dateCreated",
    "dateModified",
}
EXECUTION_FIELDS = {
    "workflowDatabaseId",
    "workflowId",
    "executionId",
    "executionStatus",
    "startDate",
}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


def json_schema(schema: dict, holder: dict) -> dict:
    return resolve(schema, holder["content"]["application/json"]["schema"])


def operation_of(schema: dict, method: str, path: str) -> dict:
    assert path in schema["paths"], f"{path} is missing from the schema"
    item = schema["paths"][path]
    assert method in item, f"{method.upper()} {path} is missing from the schema"
    return item[method]


def parameters_of(operation: dict, location: str) -> dict:
    parameters = operation.get("parameters", [])
    return {p["name"]: p for p in parameters if p["in"] == location}


def test_schema_is_valid_openapi(schema):
    validate_schema(schema)


def test_schema_routes_match_table(schema):
    documented = {(method, path) for method, path in ROUTES}
    documented |= {("post", path) for path in TOKEN_ROUTES}
    generated = {
        (method, path)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch"}
    }

    assert generated - documented == set(), "routes in the schema but not in the table"
    assert documented - generated == set(), "routes in the table but not in the schema"


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{route[0]} {route[1]}")
def test_schema_route_parameters(schema, route):
    method, path = route
    operation = operation_of(schema, method, path)
    path_parameters = parameters_of(operation, "path")
    query_parameters = parameters_of(operation, "query")
    expected_query = ROUTES[route]["query"] | ADDED_QUERY.get(route, set())

    assert set(path_parameters) == set(_names_in(path))
    assert all(p["required"] for p in path_parameters.values())
    assert set(query_parameters) == expected_query
    assert not any(p.get("required") for p in query_parameters.values())


def _names_in(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{route[0]} {route[1]}")
def test_schema_route_statuses(schema, route):
    method, path = route
    operation = operation_of(schema, method, path)
    expected = {200} | ROUTES[route]["reference_errors"] | ROUTES[route]["added_errors"]

    assert {int(status) for status in operation["responses"]} == expected


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{route[0]} {route[1]}")
def test_schema_route_message_envelopes(schema, route):
    method, path = route
    operation = operation_of(schema, method, path)

    for status, response in operation["responses"].items():
        body = json_schema(schema, response)
        assert set(body["properties"]) == {"message"}, f"{status} body"
        assert body["required"] == ["message"], f"{status} body"
        if int(status) >= 400:
            assert body["properties"]["message"]["type"] == "string", f"{status} body"


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{route[0]} {route[1]}")
def test_schema_route_request_body(schema, route):
    method, path = route
    operation = operation_of(schema, method, path)
    expected = ROUTES[route]["body"]

    if expected is None:
        assert "requestBody" not in operation
        return
    required, optional = expected
    body = json_schema(schema, operation["requestBody"])
    assert set(body["required"]) == required
    assert set(body["properties"]) == required | optional


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{route[0]} {route[1]}")
def test_schema_route_needs_bearer_token(schema, route):
    method, path = route
    operation = operation_of(schema, method, path)

    assert operation["security"] == [{"jwtAuth": []}]


def test_schema_security_scheme_is_bearer_jwt(schema):
    scheme = schema["components"]["securitySchemes"]["jwtAuth"]

    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    assert scheme["bearerFormat"] == "JWT"


def test_schema_function_entry_fields(schema):
    operation = operation_of(schema, "put", "/workflows")
    body = json_schema(schema, operation["requestBody"])
    pipelines = resolve(schema, body["properties"]["specifiedPipelines"])
    functions = pipelines["properties"]["functions"]
    entry = resolve(schema, functions["items"])

    assert pipelines["required"] == ["functions"]
    assert functions["minItems"] == 1
    assert set(entry["required"]) == FUNCTION_REQUIRED
    assert set(entry["properties"]) == FUNCTION_REQUIRED | FUNCTION_OPTIONAL


def test_schema_workflow_object_fields(schema):
    for method, path in [("get", "/workflows"), ("get", WORKFLOW_PATH)]:
        operation = operation_of(schema, method, path)
        message = resolve(schema, json_schema(schema, operation["responses"]["200"]))
        payload = resolve(schema, message["properties"]["message"])
        if "Items" in payload["properties"]:
            assert set(payload["required"]) == {"Items", "NextToken"}
            payload = resolve(schema, payload["properties"]["Items"]["items"])

        assert set(payload["required"]) == WORKFLOW_FIELDS, path


def test_schema_execution_item_fields(schema):
    operation = operation_of(schema, "get", EXECUTIONS_PATH)
    message = json_schema(schema, operation["responses"]["200"])
    page = resolve(schema, message["properties"]["message"])
    item = resolve(schema, page["properties"]["Items"]["items"])

    assert "Items" in page["required"]
    assert EXECUTION_FIELDS <= set(item["required"])


def test_schema_execute_returns_execution_id(schema):
    operation = operation_of(schema, "post", EXECUTE_PATH)
    message = json_schema(schema, operation["responses"]["200"])

    assert message["properties"]["message"]["type"] == "string"


def test_schema_page_parameters_bounds(schema):
    operation = operation_of(schema, "get", "/workflows")
    query = parameters_of(operation, "query")

    assert query["maxItems"]["schema"]["type"] == "integer"
    assert query["maxItems"]["schema"]["default"] == 30000
    assert query["pageSize"]["schema"]["default"] == 3000
    assert query["startingToken"]["schema"]["type"] == "string"
    assert query["showDeleted"]["schema"]["default"] == "false"


@pytest.mark.parametrize("path", TOKEN_ROUTES)
def test_schema_token_routes_are_public(schema, path):
    operation = operation_of(schema, "post", path)
    body = json_schema(schema, operation["requestBody"])

    assert operation["security"] == []
    assert TOKEN_ROUTES[path] <= set(body["required"])
    assert {"200", "400", "401"} <= set(operation["responses"])


def test_schema_links_saved_workflow_to_its_routes(schema):
    operation = operation_of(schema, "put", "/workflows")
    links = operation["responses"]["200"]["links"]

    assert links["GetSavedWorkflow"]["operationId"] == "getWorkflow"
    assert links["DeleteSavedWorkflow"]["operationId"] == "deleteWorkflow"


def test_schema_endpoint_is_public(anonymous_client):
    response = anonymous_client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    assert response.json()["info"]["title"] == "VAMS Workflows API"
    assert "/workflows" in response.json()["paths"]


def test_schema_docs_page_is_public(anonymous_client):
    response = anonymous_client.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"swagger-ui" in response.content

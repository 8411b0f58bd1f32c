"""Authorization through the HTTP routes, with rules built by the authz services.

Each caller below has one kind of rule set. Each table row names a route, a
caller and the status and body that caller gets.
"""

from datetime import timedelta

import jwt
import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from authz.services import grant, role_assign, role_create
from executions.services import execution_start
from tests.executions.conftest import asset, make_workflow  # noqa: F401 (fixture)
from tests.factories import (
    client_for,
    function_entry,
    make_database,
    make_user,
    workflow_body,
)
from workflows.models import Pipeline

NOT_AUTHORIZED = {"message": "Not Authorized"}
WORKFLOW_NOT_FOUND = {"message": "Workflow not found"}
NO_CREDENTIALS = {
    "message": (
        "Authentication credentials were not provided; "
        "send 'Authorization: Bearer <token>'."
    )
}
BAD_TOKEN = {
    "message": (
        "The bearer token is invalid or expired; obtain a new one at /auth/token/."
    )
}
PIPELINE_NOT_AUTHORIZED = {
    "message": (
        "Not Authorized to read the pipeline 'global-pipe' in database 'GLOBAL' "
        "(pipeline entry 0)."
    )
}
ALL_ACTIONS = ["GET", "PUT", "POST", "DELETE"]
OBJECT_TYPES = ["workflow", "pipeline", "asset", "database"]

ROUTES = {
    "list-all": ("GET", "/workflows"),
    "list-db": ("GET", "/database/db-a/workflows"),
    "get": ("GET", "/database/db-a/workflows/wf-hold"),
    "delete": ("DELETE", "/database/db-a/workflows/wf-hold"),
    "put": ("PUT", "/workflows"),
    "execute": ("POST", "/database/db-a/assets/{asset}/workflows/wf-hold"),
    "executions": ("GET", "/database/db-a/assets/{asset}/workflows/executions"),
    "executions-wf": (
        "GET",
        "/database/db-a/assets/{asset}/workflows/executions/wf-hold",
    ),
}


def workflow_ids(*expected):
    def check(body):
        return [item["workflowId"] for item in body["message"]["Items"]] == list(
            expected
        )

    check.__name__ = f"workflow_ids{expected}"
    return check


def execution_count(expected: int):
    def check(body):
        return len(body["message"]["Items"]) == expected

    check.__name__ = f"execution_count({expected})"
    return check


def is_execution_id(body):
    return isinstance(body["message"], str) and len(body["message"]) == 36


def is_workflow(body):
    return body["message"]["workflowId"] == "wf-hold"


# (caller, route, expected status, expected body or a check of the body)
CASES = [
    *[("no-token", route, 401, NO_CREDENTIALS) for route in ROUTES],
    *[("expired-token", route, 401, BAD_TOKEN) for route in ROUTES],
    *[("foreign-key-token", route, 401, BAD_TOKEN) for route in ROUTES],
    *[("no-role", route, 403, NOT_AUTHORIZED) for route in ROUTES],
    *[("objects-only", route, 403, NOT_AUTHORIZED) for route in ROUTES],
    ("routes-only", "list-all", 200, workflow_ids()),
    ("routes-only", "list-db", 200, workflow_ids()),
    ("routes-only", "get", 404, WORKFLOW_NOT_FOUND),
    ("routes-only", "delete", 403, NOT_AUTHORIZED),
    ("routes-only", "put", 403, PIPELINE_NOT_AUTHORIZED),
    ("routes-only", "execute", 403, NOT_AUTHORIZED),
    ("routes-only", "executions", 403, NOT_AUTHORIZED),
    ("routes-only", "executions-wf", 403, NOT_AUTHORIZED),
    ("db-a-denied", "list-all", 200, workflow_ids("wf-b")),
    ("db-a-denied", "list-db", 200, workflow_ids()),
    ("db-a-denied", "get", 404, WORKFLOW_NOT_FOUND),
    ("db-a-denied", "delete", 403, NOT_AUTHORIZED),
    ("db-a-denied", "put", 403, NOT_AUTHORIZED),
    ("db-a-denied", "execute", 403, NOT_AUTHORIZED),
    ("db-a-denied", "executions", 200, execution_count(0)),
    ("db-a-denied", "executions-wf", 200, execution_count(0)),
    ("admin", "list-all", 200, workflow_ids("wf-hold", "wf-b")),
    ("admin", "list-db", 200, workflow_ids("wf-hold")),
    ("admin", "get", 200, is_workflow),
    ("admin", "delete", 200, {"message": "Workflow deleted"}),
    ("admin", "put", 200, {"message": "Succeeded"}),
    ("admin", "execute", 200, is_execution_id),
    ("admin", "executions", 200, execution_count(1)),
    ("admin", "executions-wf", 200, execution_count(1)),
]


def allow_every_route(subject) -> None:
    grant(
        subject,
        object_type="api",
        criteria_and=[("route__path", "starts_with", "/")],
        actions=ALL_ACTIONS,
    )


def allow_every_object(subject) -> None:
    for object_type in OBJECT_TYPES:
        grant(
            subject,
            object_type=object_type,
            criteria_and=[("object__type", "equals", object_type)],
            actions=ALL_ACTIONS,
        )


def bearer(client: APIClient, token: str) -> APIClient:
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def client_as(caller: str, admin_user) -> APIClient:
    if caller == "no-token":
        return APIClient()
    if caller == "expired-token":
        token = AccessToken.for_user(admin_user)
        token.set_exp(lifetime=timedelta(seconds=-5))
        return bearer(APIClient(), str(token))
    if caller == "foreign-key-token":
        claims = dict(AccessToken.for_user(admin_user).payload)
        return bearer(
            APIClient(),
            jwt.encode(
                claims, "another-signing-key-that-is-32-bytes-long", algorithm="HS256"
            ),
        )
    if caller == "admin":
        return client_for(admin_user)

    user = make_user(caller)
    if caller == "routes-only":
        allow_every_route(user)
    elif caller == "objects-only":
        allow_every_object(user)
    elif caller == "db-a-denied":
        role = role_create(name="everything")
        role_assign(user=user, role=role)
        allow_every_route(role)
        allow_every_object(role)
        grant(
            user,
            object_type="workflow",
            criteria_and=[("databaseId", "equals", "db-a")],
            actions=ALL_ACTIONS,
            effect="deny",
        )
    return client_for(user)


@pytest.fixture
def scenario(asset, admin_user):  # noqa: F811 (fixture)
    """Workflows db-a/wf-hold and db-b/wf-b, and one running execution of wf-hold."""
    make_database("db-b")
    workflow = make_workflow("wf-hold", "db-a")
    make_workflow("wf-b", "db-b")
    execution_start(
        database_id="db-a",
        asset_id=asset.asset_id,
        workflow_id="wf-hold",
        workflow_database_id="db-a",
        file_key="models/part.glb",
        user=admin_user,
    )
    return {"asset": asset, "workflow": workflow}


def send(client: APIClient, route: str, scenario) -> object:
    method, path = ROUTES[route]
    path = path.format(asset=scenario["asset"].asset_id)
    if route == "put":
        pipeline = Pipeline.objects.get(database_id="GLOBAL", pipeline_id="global-pipe")
        body = workflow_body("wf-new", "db-a", functions=[function_entry(pipeline)])
        return client.put(path, body, format="json")
    if route == "execute":
        body = {"workflowDatabaseId": "db-a", "fileKey": "part.obj"}
        return client.post(path, body, format="json")
    return client.generic(method, path)


@pytest.mark.parametrize(
    ("caller", "route", "status", "expected"),
    CASES,
    ids=[f"{caller}-{route}" for caller, route, _, _ in CASES],
)
def test_route_authorization(scenario, admin_user, caller, route, status, expected):
    client = client_as(caller, admin_user)

    response = send(client, route, scenario)

    assert response.status_code == status, response.content
    body = response.json()
    if callable(expected):
        assert expected(body), body
    else:
        assert body == expected


def test_route_list_shows_exactly_allowed_across_pages(admin_user, db):
    for index in range(7):
        make_workflow(f"wf-a{index}", "db-a", definition=None)
        make_workflow(f"wf-b{index}", "db-b", definition=None)
        make_workflow(f"wf-c{index}", "db-c", definition=None)
    user = make_user("two-databases")
    allow_every_route(user)
    grant(
        user,
        object_type="workflow",
        criteria_or=[
            ("databaseId", "equals", "db-a"),
            ("databaseId", "equals", "db-c"),
        ],
        actions=["GET"],
    )
    client = client_for(user)

    seen, pages, token = [], 0, None
    while True:
        params = {"maxItems": 4, "pageSize": 2}
        if token:
            params["startingToken"] = token
        message = client.get("/workflows", params).json()["message"]
        seen += [(item["databaseId"], item["workflowId"]) for item in message["Items"]]
        pages += 1
        token = message["NextToken"]
        if token is None:
            break

    expected = [("db-a", f"wf-a{index}") for index in range(7)]
    expected += [("db-c", f"wf-c{index}") for index in range(7)]
    assert seen == expected
    assert pages == 6


def test_route_rule_change_applies_on_next_request(admin_user, db):
    make_workflow("wf-a1", "db-a", definition=None)
    user = make_user("reader")
    allow_every_route(user)
    client = client_for(user)
    path = "/database/db-a/workflows/wf-a1"

    assert client.get(path).status_code == 404

    constraint = grant(
        user,
        object_type="workflow",
        criteria_and=[("databaseId", "equals", "db-a")],
        actions=["GET"],
    )
    assert client.get(path).status_code == 200

    grant(
        user,
        object_type="api",
        criteria_and=[("route__path", "starts_with", "/database/db-a")],
        actions=["GET"],
        effect="deny",
    )
    assert client.get(path).status_code == 403

    constraint.delete()
    assert client.get("/workflows").json()["message"]["Items"] == []


def test_route_mfa_role_needs_amr_claim(admin_user, db):
    make_workflow("wf-a1", "db-a", definition=None)
    user = make_user("sensitive")
    role = role_create(name="mfa-readers", mfa_required=True)
    role_assign(user=user, role=role)
    allow_every_route(role)
    grant(
        role,
        object_type="workflow",
        criteria_and=[("databaseId", "equals", "db-a")],
        actions=["GET"],
    )
    token = AccessToken.for_user(user)

    without_mfa = bearer(APIClient(), str(token)).get("/workflows")
    token["amr"] = ["pwd", "mfa"]
    with_mfa = bearer(APIClient(), str(token)).get("/workflows")

    assert without_mfa.status_code == 403
    assert with_mfa.status_code == 200
    assert [item["workflowId"] for item in with_mfa.json()["message"]["Items"]] == [
        "wf-a1"
    ]


def test_route_head_is_judged_as_get(admin_user, db):
    user = make_user("reader")
    grant(
        user,
        object_type="api",
        criteria_and=[("route__path", "equals", "/workflows")],
        actions=["GET"],
    )

    response = client_for(user).head("/workflows")

    assert response.status_code == 200


def test_route_unserved_method_is_not_found(db):
    client = client_for(make_user("nobody"))

    response = client.patch("/workflows", {}, format="json")

    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_route_denial_logged_at_info(db, caplog):
    client = client_for(make_user("nobody"))

    with caplog.at_level("INFO", logger="authz"):
        client.delete("/database/db-a/workflows/wf-1")

    messages = [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("authz")
    ]
    assert messages == [
        "Not authorized user=nobody object_type=api action=DELETE "
        "route__path=/database/db-a/workflows/wf-1"
    ]

"""The two workflow list routes: ordering, scopes, showDeleted and pagination."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from vams.api import pagination
from workflows import validation as v
from workflows.models import Workflow


def seed(*keys: tuple[str, str], deleted: bool = False) -> list[Workflow]:
    """Insert rows directly; bulk_create fires no receiver, so no state machines."""
    now = timezone.now()
    rows = [
        Workflow(
            database_id=database_id,
            workflow_id=workflow_id,
            description=f"Workflow {workflow_id}",
            specified_pipelines={"functions": []},
            date_created=now,
            date_modified=now,
            deleted_at=now if deleted else None,
        )
        for database_id, workflow_id in keys
    ]
    return Workflow.all_objects.bulk_create(rows)


def items(response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.json()
    return [
        (item["databaseId"], item["workflowId"])
        for item in response.json()["message"]["Items"]
    ]


def next_token(response) -> str | None:
    return response.json()["message"]["NextToken"]


def test_list_all_orders_by_database_then_workflow(api_client):
    seed(("db-b", "wf-a"), ("db-a", "wf-b"), ("GLOBAL", "wf-c"), ("db-a", "wf-a"))

    response = api_client.get("/workflows")

    assert items(response) == [
        ("GLOBAL", "wf-c"),
        ("db-a", "wf-a"),
        ("db-a", "wf-b"),
        ("db-b", "wf-a"),
    ]


def test_list_database_orders_by_workflow_descending(api_client):
    seed(("db-a", "wf-b"), ("db-a", "wf-c"), ("db-a", "wf-a"))

    response = api_client.get("/database/db-a/workflows")

    assert items(response) == [("db-a", "wf-c"), ("db-a", "wf-b"), ("db-a", "wf-a")]


def test_list_database_excludes_global_and_others(api_client):
    seed(("db-a", "wf-a"), ("GLOBAL", "wf-g"), ("db-b", "wf-b"))

    response = api_client.get("/database/db-a/workflows")

    assert items(response) == [("db-a", "wf-a")]


def test_list_global_returns_global_workflows(api_client):
    seed(("db-a", "wf-a"), ("GLOBAL", "wf-g"))

    response = api_client.get("/database/GLOBAL/workflows")

    assert items(response) == [("GLOBAL", "wf-g")]


def test_list_unknown_database_is_empty(api_client):
    response = api_client.get("/database/no-such-db/workflows")

    assert response.json() == {"message": {"Items": [], "NextToken": None}}


@pytest.mark.parametrize(
    "path, message",
    [
        ("/database/ab/workflows", v.PATH_DATABASE_ID_INVALID.format(value="'ab'")),
        (
            "/database/global/workflows",
            v.GLOBAL_NOT_CAPITALISED.format(field="databaseId", value="'global'"),
        ),
        (
            "/database/Global/workflows/wf-a",
            v.GLOBAL_NOT_CAPITALISED.format(field="databaseId", value="'Global'"),
        ),
        (
            "/database/db%23a/workflows/wf-a",
            v.PATH_DATABASE_ID_INVALID.format(value="'db#a'"),
        ),
        (
            "/database/db-a/workflows/GLOBAL",
            v.GLOBAL_NOT_ALLOWED.format(field="workflowId", value="'GLOBAL'"),
        ),
        (
            "/database/GLOBAL/workflows/global",
            v.GLOBAL_NOT_ALLOWED.format(field="workflowId", value="'global'"),
        ),
        (
            "/database/db-a/workflows/wf",
            v.PATH_WORKFLOW_ID_INVALID.format(value="'wf'"),
        ),
        (
            "/database/db-a/workflows/wf%20a",
            v.PATH_WORKFLOW_ID_INVALID.format(value="'wf a'"),
        ),
    ],
)
def test_list_and_get_reject_bad_path_parameters(api_client, path, message):
    response = api_client.get(path)

    assert response.status_code == 400
    assert response.json() == {"message": message}


def test_delete_rejects_bad_path_parameter(api_client):
    seed(("db-a", "wf-a"))

    response = api_client.delete("/database/global/workflows/wf-a")

    assert response.status_code == 400
    assert "databaseId" in response.json()["message"]
    assert Workflow.objects.count() == 1


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes", "Yes"])
def test_list_show_deleted_adds_deleted_rows(api_client, value):
    seed(("db-a", "wf-live"))
    seed(("db-a", "wf-gone"), deleted=True)

    response = api_client.get(f"/database/db-a/workflows?showDeleted={value}")

    assert items(response) == [("db-a", "wf-live"), ("db-a#deleted", "wf-gone")]


@pytest.mark.parametrize("value", ["false", "False", "0", "no", "NO", ""])
def test_list_show_deleted_off_hides_deleted_rows(api_client, value):
    seed(("db-a", "wf-live"))
    seed(("db-a", "wf-gone"), deleted=True)

    response = api_client.get(f"/workflows?showDeleted={value}")

    assert items(response) == [("db-a", "wf-live")]


@pytest.mark.parametrize(
    "path", ["/workflows", "/database/db-a/workflows", "/database/db-a/workflows/wf-a"]
)
def test_list_show_deleted_rejects_other_values(api_client, path):
    response = api_client.get(path, {"showDeleted": "maybe"})

    assert response.status_code == 400
    assert response.json() == {
        "message": v.SHOW_DELETED_INVALID.format(value="'maybe'")
    }


def test_list_pages_follow_tokens(api_client):
    seed(*[("db-a", f"wf-{n:02d}") for n in range(7)])
    seen = []
    token = None
    pages = 0
    while True:
        params = {"maxItems": 3, "pageSize": 2}
        if token:
            params["startingToken"] = token
        response = api_client.get("/workflows", params)
        page = items(response)
        assert len(page) <= 3
        seen += page
        pages += 1
        token = next_token(response)
        if token is None:
            break

    assert pages == 3
    assert seen == [("db-a", f"wf-{n:02d}") for n in range(7)]


def test_list_pages_stay_correct_while_rows_are_added(api_client):
    seed(*[("db-a", f"wf-{n:02d}") for n in range(0, 10, 2)])

    first = api_client.get("/workflows", {"maxItems": 2})
    # wf-01 sorts before the position reached, wf-05 and wf-09 after it.
    seed(("db-a", "wf-01"), ("db-a", "wf-05"), ("db-a", "wf-09"))
    second = api_client.get(
        "/workflows", {"maxItems": 2, "startingToken": next_token(first)}
    )
    seed(("db-a", "wf-07"))
    third = api_client.get(
        "/workflows", {"maxItems": 10, "startingToken": next_token(second)}
    )

    assert items(first) == [("db-a", "wf-00"), ("db-a", "wf-02")]
    assert items(second) == [("db-a", "wf-04"), ("db-a", "wf-05")]
    assert items(third) == [
        ("db-a", "wf-06"),
        ("db-a", "wf-07"),
        ("db-a", "wf-08"),
        ("db-a", "wf-09"),
    ]
    assert next_token(third) is None


def test_list_database_pages_descend(api_client):
    seed(*[("db-a", f"wf-{n}") for n in "abcde"])

    first = api_client.get("/database/db-a/workflows", {"maxItems": 2})
    second = api_client.get(
        "/database/db-a/workflows", {"maxItems": 2, "startingToken": next_token(first)}
    )
    third = api_client.get(
        "/database/db-a/workflows", {"maxItems": 2, "startingToken": next_token(second)}
    )

    assert items(first) == [("db-a", "wf-e"), ("db-a", "wf-d")]
    assert items(second) == [("db-a", "wf-c"), ("db-a", "wf-b")]
    assert items(third) == [("db-a", "wf-a")]
    assert next_token(third) is None


def test_list_exact_last_page_has_no_token(api_client):
    seed(("db-a", "wf-a"), ("db-a", "wf-b"))

    response = api_client.get("/workflows", {"maxItems": 2})

    assert len(items(response)) == 2
    assert next_token(response) is None


def test_list_page_size_above_max_items_is_capped(api_client):
    seed(*[("db-a", f"wf-{n}") for n in "abc"])

    response = api_client.get("/workflows", {"maxItems": 2, "pageSize": 3000})

    assert len(items(response)) == 2
    assert next_token(response) is not None


@pytest.mark.parametrize(
    "name, value, limit",
    [
        ("maxItems", "abc", 30000),
        ("maxItems", "0", 30000),
        ("maxItems", "-1", 30000),
        ("maxItems", "30001", 30000),
        ("maxItems", "1.5", 30000),
        ("maxItems", "²", 30000),
        ("pageSize", "abc", 3000),
        ("pageSize", "0", 3000),
        ("pageSize", "-5", 3000),
        ("pageSize", "3001", 3000),
    ],
)
def test_list_rejects_bad_page_numbers(api_client, name, value, limit):
    response = api_client.get("/workflows", {name: value})

    assert response.status_code == 400
    assert response.json() == {
        "message": pagination.INVALID_NUMBER.format(name=name, limit=limit, value=value)
    }


def test_list_accepts_largest_page_numbers(api_client):
    seed(("db-a", "wf-a"))

    response = api_client.get("/workflows", {"maxItems": 30000, "pageSize": 3000})

    assert items(response) == [("db-a", "wf-a")]


@pytest.mark.parametrize(
    "token",
    ["garbage", "eyJzIjoid29ya2Zsb3dzOmFsbDpGYWxzZSIsImsiOlsiYSIsImIiLDFdfQ:forged"],
)
def test_list_rejects_forged_token(api_client, token):
    response = api_client.get("/workflows", {"startingToken": token})

    assert response.status_code == 400
    assert response.json() == {"message": pagination.INVALID_TOKEN}


def test_list_rejects_token_of_another_database(api_client):
    seed(("db-a", "wf-a"), ("db-a", "wf-b"))
    token = next_token(api_client.get("/database/db-a/workflows", {"maxItems": 1}))

    response = api_client.get("/database/db-b/workflows", {"startingToken": token})

    assert response.status_code == 400
    assert response.json() == {"message": pagination.INVALID_TOKEN}


def test_list_rejects_token_of_another_route(api_client):
    seed(("db-a", "wf-a"), ("db-a", "wf-b"))
    token = next_token(api_client.get("/database/db-a/workflows", {"maxItems": 1}))

    response = api_client.get("/workflows", {"startingToken": token})

    assert response.status_code == 400


def test_list_rejects_token_of_other_show_deleted(api_client):
    seed(("db-a", "wf-a"), ("db-a", "wf-b"))
    token = next_token(api_client.get("/workflows", {"maxItems": 1}))

    response = api_client.get(
        "/workflows", {"startingToken": token, "showDeleted": "true"}
    )

    assert response.status_code == 400


def test_list_queries_do_not_grow_with_page_size(api_client):
    seed(*[("db-a", f"wf-{n:03d}") for n in range(60)])
    api_client.get("/workflows", {"maxItems": 1})

    with CaptureQueriesContext(connection) as small:
        api_client.get("/workflows", {"maxItems": 5, "pageSize": 5})
    with CaptureQueriesContext(connection) as large:
        api_client.get("/workflows", {"maxItems": 60, "pageSize": 60})

    assert len(large) == len(small)

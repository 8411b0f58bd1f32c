"""Keyset pagination: query parameters, signed tokens and page reads."""

import pytest
from django.core import signing
from django.http import QueryDict

from vams.api import pagination
from vams.api.pagination import PageRequest, parse_page_request, read_keyset_page
from vams.exceptions import InvalidInput
from vams.models import Database


def query(text: str) -> QueryDict:
    return QueryDict(text)


def test_pagination_defaults():
    page = parse_page_request(query(""))

    assert page == PageRequest(max_items=30000, page_size=3000, starting_token=None)


def test_pagination_page_size_capped_by_max_items():
    page = parse_page_request(query("maxItems=10&pageSize=3000"))

    assert page.max_items == 10
    assert page.page_size == 10


def test_pagination_empty_values_use_defaults():
    page = parse_page_request(query("maxItems=&pageSize=&startingToken="))

    assert page == PageRequest(max_items=30000, page_size=3000, starting_token=None)


def test_pagination_surrounding_spaces_accepted():
    assert parse_page_request(query("maxItems=+7+")).max_items == 7


@pytest.mark.parametrize(
    "text",
    [
        "maxItems=0",
        "maxItems=-3",
        "maxItems=30001",
        "maxItems=1e3",
        "maxItems=%C2%B2",
        "pageSize=0",
        "pageSize=3001",
        "pageSize=x",
        "pageSize=%D9%A3",
    ],
)
def test_pagination_rejects_bad_numbers(text):
    with pytest.raises(InvalidInput) as raised:
        parse_page_request(query(text))

    name = text.split("=")[0]
    assert raised.value.message.startswith(f"{name} must be a whole number from 1 to ")


def test_pagination_token_round_trip():
    token = pagination.encode_token("scope-a", ["db-a", 5])

    assert pagination.decode_token("scope-a", token) == ["db-a", 5]


def test_pagination_token_rejected_in_other_scope():
    token = pagination.encode_token("scope-a", ["db-a", 5])

    with pytest.raises(InvalidInput) as raised:
        pagination.decode_token("scope-b", token)

    assert raised.value.code == "invalid_token"


@pytest.mark.parametrize("token", ["", "abc", "a:b:c", "eyJzIjoic2NvcGUtYSJ9:1:abc"])
def test_pagination_forged_token_rejected(token):
    with pytest.raises(InvalidInput):
        pagination.decode_token("scope-a", token)


def test_pagination_token_signed_with_other_salt_rejected():
    token = signing.dumps({"s": "scope-a", "k": ["x", 1]}, salt="other")

    with pytest.raises(InvalidInput):
        pagination.decode_token("scope-a", token)


def test_pagination_token_with_wrong_position_length_rejected(db):
    token = pagination.encode_token("databases", ["db-a", "extra"])
    page = PageRequest(max_items=5, page_size=5, starting_token=token)

    with pytest.raises(InvalidInput):
        read_keyset_page(
            Database.objects.all(),
            ordering=["database_id"],
            page=page,
            scope="databases",
        )


def make_databases(*ids: str) -> None:
    Database.objects.bulk_create(
        Database(database_id=i, description=f"Database {i}") for i in ids
    )


def read_all(queryset, ordering, max_items, page_size, include=lambda row: True):
    pages = []
    token = None
    while True:
        page = PageRequest(
            max_items=max_items, page_size=page_size, starting_token=token
        )
        rows, token = read_keyset_page(
            queryset, ordering=ordering, page=page, scope="databases", include=include
        )
        pages.append(rows)
        if token is None:
            return pages


def test_pagination_reads_pages_in_order(db):
    make_databases("db-c", "db-a", "db-e", "db-b", "db-d")

    pages = read_all(Database.objects.all(), ["database_id"], max_items=2, page_size=1)

    assert [[row.database_id for row in page] for page in pages] == [
        ["db-a", "db-b"],
        ["db-c", "db-d"],
        ["db-e"],
    ]


def test_pagination_reads_values_rows_descending(db):
    make_databases("db-a", "db-b", "db-c")
    queryset = Database.objects.values("database_id")

    pages = read_all(queryset, ["-database_id"], max_items=2, page_size=2)

    assert [[row["database_id"] for row in page] for page in pages] == [
        ["db-c", "db-b"],
        ["db-a"],
    ]


def test_pagination_filters_after_reading(db):
    make_databases("db-a", "db-b", "db-c", "db-d")

    pages = read_all(
        Database.objects.all(),
        ["database_id"],
        max_items=2,
        page_size=2,
        include=lambda row: row.database_id != "db-a" and row.database_id != "db-b",
    )

    assert [[row.database_id for row in page] for page in pages] == [
        [],
        ["db-c", "db-d"],
    ]


def test_pagination_empty_table_has_no_token(db):
    page = PageRequest(max_items=5, page_size=5, starting_token=None)

    rows, token = read_keyset_page(
        Database.objects.all(), ordering=["database_id"], page=page, scope="databases"
    )

    assert rows == []
    assert token is None


def test_pagination_multi_field_position(db):
    from django.utils import timezone

    from workflows.models import Workflow

    now = timezone.now()
    Workflow.objects.bulk_create(
        Workflow(
            database_id=d,
            workflow_id=w,
            description="desc",
            date_created=now,
            date_modified=now,
        )
        for d, w in [
            ("db-a", "wf-b"),
            ("db-b", "wf-a"),
            ("db-a", "wf-a"),
            ("db-b", "wf-b"),
        ]
    )

    pages = read_all(
        Workflow.objects.all(),
        ["database_id", "workflow_id", "id"],
        max_items=1,
        page_size=1,
    )

    assert [(row.database_id, row.workflow_id) for [row] in pages] == [
        ("db-a", "wf-a"),
        ("db-a", "wf-b"),
        ("db-b", "wf-a"),
        ("db-b", "wf-b"),
    ]

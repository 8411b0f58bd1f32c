"""Schemathesis fuzzing of every documented route against a live server.

Each route is fuzzed as an admin and as a user with no role, with valid and
invalid requests, both with random path parameters and with the ids of
seeded objects. A response must not be a 5xx and must match the schema.
The example counts keep the whole module within a few minutes; the long run
is scripts/fuzz_api.py.
"""

import pytest

from tests.api.fuzzing import (
    SEEDED_PATH_PARAMETERS,
    FuzzTally,
    build_schema_document,
    fuzz_lifecycle,
    fuzz_operation,
    load_fuzz_schema,
    seed_fuzz_data,
)

MAX_EXAMPLES = 12
LIFECYCLE_EXAMPLES = 8

# The server thread reads committed rows, so the test cannot run inside a
# rolled-back transaction. serialized_rollback restores the rows that data
# migrations create (the admin role) after each flush.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

OPERATIONS = [
    (method.upper(), path)
    for path, item in build_schema_document()["paths"].items()
    for method in item
]


@pytest.fixture
def fuzz_users():
    return seed_fuzz_data()


@pytest.mark.parametrize("user_name", ["admin", "no-role"])
@pytest.mark.parametrize("method,path", OPERATIONS)
def test_fuzz_route(live_server, fuzz_users, method, path, user_name):
    schema = load_fuzz_schema(live_server.url)
    operation = schema[path][method]
    user = fuzz_users[user_name]
    tally = FuzzTally()

    fuzz_operation(operation, user, tally, max_examples=MAX_EXAMPLES)
    if operation.path_parameters:
        fuzz_operation(
            operation,
            user,
            tally,
            max_examples=MAX_EXAMPLES,
            path_parameters=SEEDED_PATH_PARAMETERS,
        )

    assert tally.requests >= MAX_EXAMPLES
    assert tally.failures == {}, tally.report()


@pytest.mark.parametrize("user_name", ["admin", "no-role"])
def test_fuzz_workflow_lifecycle_sequences(live_server, fuzz_users, user_name):
    schema = load_fuzz_schema(live_server.url)
    user = fuzz_users[user_name]
    tally = FuzzTally()

    fuzz_lifecycle(schema, user, tally, max_examples=LIFECYCLE_EXAMPLES)

    assert tally.requests >= LIFECYCLE_EXAMPLES
    assert tally.failures == {}, tally.report()

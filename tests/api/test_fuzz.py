"""Schemathesis fuzzing of every documented route against a live server.

Each route is fuzzed as an admin, as a user with no role and without a token,
with valid and invalid requests, both with random path parameters and with
the ids of seeded objects. A response must not be a 5xx and must match the
schema.
Call sequences come from two state machines: a model of the workflow
lifecycle and schemathesis' own, which follows the schema's OpenAPI links.
The example counts keep the whole module within a few minutes. The long run
is scripts/fuzz_api.py.
"""

import pytest

from tests.api.fuzzing import (
    FuzzTally,
    build_schema_document,
    fuzz_all,
    fuzz_lifecycle,
    fuzz_linked_sequences,
    load_fuzz_schema,
    seed_fuzz_data,
)

MAX_EXAMPLES = 25
LIFECYCLE_EXAMPLES = 12
LINKED_EXAMPLES = 25
OPERATION_LABELS = [
    f"{method.upper()} {path}"
    for path, item in build_schema_document()["paths"].items()
    for method in item
]

# The server thread reads committed rows, so the test cannot run inside a
# rolled-back transaction. serialized_rollback restores the rows that data
# migrations create (the admin role) after each flush.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def fuzz_users():
    return seed_fuzz_data()


# One test per caller, looping over the operations, because seeding the
# objects and restoring the database between tests costs more than fuzzing
# one route. The report names each failing operation.
@pytest.mark.parametrize("user_name", ["admin", "no-role", "anonymous"])
def test_fuzz_every_route(live_server, fuzz_users, user_name):
    schema = load_fuzz_schema(live_server.url)
    users = {user_name: fuzz_users[user_name]}
    tally = FuzzTally()

    fuzz_all(schema, users, tally, max_examples=MAX_EXAMPLES)

    assert set(tally.operations) == set(OPERATION_LABELS)
    assert min(tally.operations.values()) >= MAX_EXAMPLES
    assert tally.failures == {}, tally.report()


@pytest.mark.parametrize("user_name", ["admin", "no-role"])
def test_fuzz_workflow_lifecycle_sequences(live_server, fuzz_users, user_name):
    schema = load_fuzz_schema(live_server.url)
    user = fuzz_users[user_name]
    tally = FuzzTally()

    fuzz_lifecycle(schema, user, tally, max_examples=LIFECYCLE_EXAMPLES)

    assert tally.requests >= LIFECYCLE_EXAMPLES
    assert tally.failures == {}, tally.report()


def test_fuzz_linked_sequences_as_admin(live_server, fuzz_users):
    schema = load_fuzz_schema(live_server.url)
    admin = fuzz_users["admin"]
    tally = FuzzTally()

    fuzz_linked_sequences(schema, admin, tally, max_examples=LINKED_EXAMPLES)

    assert tally.requests >= LINKED_EXAMPLES
    assert tally.failures == {}, tally.report()

import logging
from unittest import mock

import pytest
from django.db import DatabaseError

from authz import enforcer as enforcer_module
from authz.enforcer import (
    EnforcerCache,
    bump_policy_version,
    current_policy_version,
    pin_request_state,
)
from authz.models import ADMIN_ROLE, Constraint, Criterion, Role
from authz.services import (
    authz_check,
    constraint_delete,
    grant,
    role_assign,
    role_create,
    role_unassign,
)
from tests.factories import make_user


def workflow(database_id: str, workflow_id: str = "wf-1") -> dict:
    return {
        "object__type": "workflow",
        "databaseId": database_id,
        "workflowId": workflow_id,
    }


def route(path: str) -> dict:
    return {"object__type": "api", "route__path": path}


@pytest.fixture
def curator(db):
    return make_user("curator")


@pytest.fixture
def db_a_reader(curator):
    role = role_create(name="db-a-reader")
    role_assign(user=curator, role=role)
    grant(
        role,
        object_type="workflow",
        criteria_and=[("databaseId", "equals", "db-a")],
        actions=["GET"],
    )
    return role


def test_authz_check_denies_user_without_role(curator):
    assert authz_check(user=curator, obj=route("/workflows"), action="GET") is False
    assert authz_check(user=curator, obj=workflow("db-a"), action="GET") is False


def test_authz_check_denies_anonymous_and_none(db):
    from django.contrib.auth.models import AnonymousUser

    assert authz_check(user=None, obj=route("/workflows"), action="GET") is False
    assert (
        authz_check(user=AnonymousUser(), obj=route("/workflows"), action="GET")
        is False
    )


def test_authz_check_denies_inactive_superuser(db):
    user = make_user("retired", is_superuser=True, is_active=False)

    assert authz_check(user=user, obj=route("/workflows"), action="GET") is False


def test_authz_check_superuser_holds_admin_role(admin_user):
    for obj in (route("/database/db-a/workflows/wf-1"), workflow("db-a#deleted")):
        for action in ("GET", "PUT", "POST", "DELETE"):
            assert authz_check(user=admin_user, obj=obj, action=action) is True
    asset = {"object__type": "asset", "databaseId": "db-a", "tags": ["x"]}
    assert authz_check(user=admin_user, obj=asset, action="POST") is True


def test_authz_check_admin_member_without_superuser_flag(curator):
    role_assign(user=curator, role=Role.objects.get(name=ADMIN_ROLE))

    assert authz_check(user=curator, obj=workflow("db-z"), action="DELETE") is True


def test_authz_check_superuser_denied_when_admin_role_removed(admin_user):
    Role.objects.filter(name=ADMIN_ROLE).delete()

    assert authz_check(user=admin_user, obj=workflow("db-a"), action="GET") is False


def test_authz_check_rejects_unknown_action_and_untyped_object(admin_user):
    assert (
        authz_check(user=admin_user, obj=route("/workflows"), action="PATCH") is False
    )
    assert (
        authz_check(user=admin_user, obj={"databaseId": "db-a"}, action="GET") is False
    )


def test_authz_check_action_is_case_insensitive(admin_user):
    assert authz_check(user=admin_user, obj=route("/workflows"), action="get") is True


def test_authz_check_role_grant_scopes_database_and_action(curator, db_a_reader):
    assert authz_check(user=curator, obj=workflow("db-a"), action="GET") is True
    assert authz_check(user=curator, obj=workflow("db-b"), action="GET") is False
    assert authz_check(user=curator, obj=workflow("db-a"), action="PUT") is False
    assert (
        authz_check(user=curator, obj=workflow("db-a#deleted"), action="GET") is False
    )
    pipeline = {"object__type": "pipeline", "databaseId": "db-a", "pipelineId": "p-1"}
    assert authz_check(user=curator, obj=pipeline, action="GET") is False


def test_authz_check_deny_overrides_allow(curator, db_a_reader):
    grant(
        db_a_reader,
        object_type="workflow",
        criteria_and=[("workflowId", "starts_with", "secret-")],
        actions=["GET"],
        effect="deny",
    )

    assert authz_check(user=curator, obj=workflow("db-a", "wf-1"), action="GET") is True
    assert (
        authz_check(user=curator, obj=workflow("db-a", "secret-1"), action="GET")
        is False
    )


def test_authz_check_user_deny_overrides_role_allow(curator, db_a_reader):
    grant(
        curator,
        object_type="workflow",
        criteria_and=[("databaseId", "equals", "db-a")],
        actions=["GET"],
        effect="deny",
    )

    assert authz_check(user=curator, obj=workflow("db-a"), action="GET") is False


def test_authz_check_direct_user_grant(curator):
    grant(
        curator,
        object_type="api",
        criteria_and=[("route__path", "equals", "/workflows")],
        actions=["GET"],
    )

    assert authz_check(user=curator, obj=route("/workflows"), action="GET") is True
    assert authz_check(user=curator, obj=route("/workflows/"), action="GET") is False
    other = make_user("other")
    assert authz_check(user=other, obj=route("/workflows"), action="GET") is False


def test_authz_check_constraint_type_must_match_object(curator):
    role = role_create(name="pipelines")
    role_assign(user=curator, role=role)
    grant(
        role,
        object_type="pipeline",
        criteria_and=[("databaseId", "equals", "db-a")],
        actions=["GET"],
    )

    pipeline = {"object__type": "pipeline", "databaseId": "db-a"}
    assert authz_check(user=curator, obj=pipeline, action="GET") is True
    assert authz_check(user=curator, obj=workflow("db-a"), action="GET") is False


def test_authz_check_or_criteria(curator):
    grant(
        curator,
        object_type="workflow",
        criteria_or=[
            ("databaseId", "equals", "db-a"),
            ("databaseId", "equals", "GLOBAL"),
        ],
        actions=["POST"],
    )

    assert authz_check(user=curator, obj=workflow("GLOBAL"), action="POST") is True
    assert authz_check(user=curator, obj=workflow("db-a"), action="POST") is True
    assert authz_check(user=curator, obj=workflow("db-b"), action="POST") is False


def test_authz_check_tags_any_element(curator):
    grant(
        curator,
        object_type="asset",
        criteria_and=[("tags", "contains", "public")],
        actions=["GET"],
    )
    grant(
        curator,
        object_type="asset",
        criteria_and=[("tags", "equals", "locked")],
        actions=["GET"],
        effect="deny",
    )

    def asset(tags):
        return {
            "object__type": "asset",
            "databaseId": "db-a",
            "assetId": "a1",
            "tags": tags,
        }

    assert (
        authz_check(user=curator, obj=asset(["draft", "public-1"]), action="GET")
        is True
    )
    assert (
        authz_check(user=curator, obj=asset(["public", "locked"]), action="GET")
        is False
    )
    assert authz_check(user=curator, obj=asset([]), action="GET") is False


def test_authz_check_mfa_role_needs_mfa(curator):
    role = role_create(name="sensitive", mfa_required=True)
    role_assign(user=curator, role=role)
    grant(
        role,
        object_type="workflow",
        criteria_and=[("databaseId", "equals", "db-a")],
        actions=["GET"],
    )

    pin_request_state(curator, mfa_authenticated=False)
    assert authz_check(user=curator, obj=workflow("db-a"), action="GET") is False
    pin_request_state(curator, mfa_authenticated=True)
    assert authz_check(user=curator, obj=workflow("db-a"), action="GET") is True


def test_authz_check_applies_grant_on_next_request(curator):
    pin_request_state(curator, mfa_authenticated=False)
    assert authz_check(user=curator, obj=workflow("db-a"), action="GET") is False

    grant(
        curator,
        object_type="workflow",
        criteria_and=[("databaseId", "equals", "db-a")],
        actions=["GET"],
    )

    # The running request keeps the rules it started with ...
    assert authz_check(user=curator, obj=workflow("db-a"), action="GET") is False
    # ... and the next request reads the new version.
    pin_request_state(curator, mfa_authenticated=False)
    assert authz_check(user=curator, obj=workflow("db-a"), action="GET") is True


def test_authz_check_applies_revocations_immediately_without_pin(curator, db_a_reader):
    assert authz_check(user=curator, obj=workflow("db-a"), action="GET") is True

    role_unassign(user=curator, role=db_a_reader)
    assert authz_check(user=curator, obj=workflow("db-a"), action="GET") is False

    role_assign(user=curator, role=db_a_reader)
    assert authz_check(user=curator, obj=workflow("db-a"), action="GET") is True

    constraint_delete(constraint=Constraint.objects.get(permissions__role=db_a_reader))
    assert authz_check(user=curator, obj=workflow("db-a"), action="GET") is False


def test_authz_check_sees_direct_model_edit(curator, db_a_reader):
    """A save outside the services (admin, shell) reaches the cache by receivers."""
    assert authz_check(user=curator, obj=workflow("db-b"), action="GET") is False

    criterion = Criterion.objects.get(constraint__permissions__role=db_a_reader)
    criterion.value = "db-b"
    criterion.save()

    assert authz_check(user=curator, obj=workflow("db-b"), action="GET") is True
    assert authz_check(user=curator, obj=workflow("db-a"), action="GET") is False


def test_authz_check_sees_membership_added_through_m2m(curator, db_a_reader):
    other = make_user("other")
    assert authz_check(user=other, obj=workflow("db-a"), action="GET") is False

    db_a_reader.members.add(other)

    assert authz_check(user=other, obj=workflow("db-a"), action="GET") is True


def test_enforcer_cache_rebuilds_when_version_moves(curator, db_a_reader):
    """Two caches stand for two worker processes sharing one database."""
    first, second = EnforcerCache(), EnforcerCache()
    version = current_policy_version()
    stale = first.get(curator, version=version, mfa_authenticated=False)
    second.get(curator, version=version, mfa_authenticated=False)

    grant(
        db_a_reader,
        object_type="workflow",
        criteria_and=[("databaseId", "equals", "db-b")],
        actions=["GET"],
    )
    new_version = current_policy_version()

    assert new_version != version
    for cache in (first, second):
        rebuilt = cache.get(curator, version=new_version, mfa_authenticated=False)
        assert rebuilt is not stale
        assert rebuilt.decide(workflow("db-b"), "GET")[0] is True


def test_enforcer_cache_reuses_enforcer_while_version_holds(curator, db_a_reader):
    cache = EnforcerCache()
    version = current_policy_version()

    first = cache.get(curator, version=version, mfa_authenticated=False)
    second = cache.get(curator, version=version, mfa_authenticated=False)

    assert first is second


def test_enforcer_cache_evicts_least_recently_used(db):
    cache = EnforcerCache(max_size=2)
    users = [make_user(f"user-{index}") for index in range(3)]
    version = current_policy_version()
    built = [
        cache.get(user, version=version, mfa_authenticated=False) for user in users
    ]

    assert cache.get(users[2], version=version, mfa_authenticated=False) is built[2]
    assert cache.get(users[0], version=version, mfa_authenticated=False) is not built[0]


def test_bump_policy_version_changes_stamp(db):
    before = current_policy_version()

    bump_policy_version()

    assert current_policy_version() != before


def test_authz_check_denies_when_rules_cannot_load(curator, db_a_reader, caplog):
    broken = mock.patch.object(
        enforcer_module, "build_enforcer", side_effect=DatabaseError("connection lost")
    )
    bump_policy_version()
    with broken, caplog.at_level(logging.ERROR, logger="authz.services"):
        allowed = authz_check(user=curator, obj=workflow("db-a"), action="GET")

    assert allowed is False
    assert "could not be loaded" in caplog.text
    assert authz_check(user=curator, obj=workflow("db-a"), action="GET") is True


def test_authz_check_logs_denial(curator, caplog):
    with caplog.at_level(logging.INFO, logger="authz.services"):
        authz_check(user=curator, obj=workflow("db-a", "wf-7"), action="DELETE")

    assert len(caplog.records) == 1
    record = caplog.records[0]
    assert record.levelno == logging.INFO
    assert "user=curator" in record.getMessage()
    assert "object_type=workflow" in record.getMessage()
    assert "action=DELETE" in record.getMessage()
    assert "workflowId=wf-7" in record.getMessage()


def test_authz_check_remembers_decisions_by_attributes_rules_read(curator, db_a_reader):
    enforcer = enforcer_module.enforcer_for(curator)
    with mock.patch.object(
        enforcer._casbin, "enforce", wraps=enforcer._casbin.enforce
    ) as casbin_enforce:
        results = [
            authz_check(
                user=curator, obj=workflow(database, f"wf-{index}"), action="GET"
            )
            for index in range(50)
            for database in ("db-a", "db-b")
        ]

    assert results.count(True) == 50
    assert results.count(False) == 50
    # The rules read only databaseId, so two evaluations cover both databases.
    assert casbin_enforce.call_count == 2


def test_authz_check_with_thousand_constraints(curator):
    role = role_create(name="many")
    role_assign(user=curator, role=role)
    for index in range(1000):
        grant(
            role,
            object_type="workflow",
            criteria_and=[("workflowId", "equals", f"wf-{index}")],
            actions=["GET"],
            name=f"many-{index}",
        )

    assert (
        authz_check(user=curator, obj=workflow("db-a", "wf-999"), action="GET") is True
    )
    assert (
        authz_check(user=curator, obj=workflow("db-a", "wf-1000"), action="GET")
        is False
    )
    assert enforcer_module.enforcer_for(curator).policy_count == 1

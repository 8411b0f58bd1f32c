import pytest
from django.core.exceptions import ValidationError

from authz.models import (
    ADMIN_ROLE,
    Constraint,
    ConstraintPermission,
    Criterion,
    ObjectType,
    PolicyVersion,
    Role,
)
from authz.services import constraint_create, constraint_permit, grant, role_create
from tests.factories import make_user


def test_admin_role_seeded_with_every_object_type(db):
    admin = Role.objects.get(name=ADMIN_ROLE)

    for object_type in ObjectType.values:
        constraint = Constraint.objects.get(name=f"admin-all-{object_type}")
        criteria = list(constraint.criteria.values_list("field", "operator", "value"))
        actions = set(
            constraint.permissions.filter(role=admin, effect="allow").values_list(
                "action", flat=True
            )
        )
        assert constraint.object_type == object_type
        assert criteria == [("object__type", "equals", object_type)]
        assert actions == {"GET", "PUT", "POST", "DELETE"}


def test_admin_role_seed_sets_policy_version(db):
    assert PolicyVersion.objects.get(pk=1).stamp != ""


def test_role_create_rejects_invalid_name(db):
    with pytest.raises(ValidationError) as error:
        role_create(name="has space")

    assert "name" in error.value.message_dict
    assert not Role.objects.filter(name="has space").exists()


def test_role_create_rejects_taken_name(db):
    with pytest.raises(ValidationError) as error:
        role_create(name=ADMIN_ROLE)

    assert "name" in error.value.message_dict


def test_constraint_create_requires_a_criterion(db):
    with pytest.raises(ValidationError, match="needs at least one AND or OR criterion"):
        constraint_create(name="empty", object_type="workflow")

    assert not Constraint.objects.filter(name="empty").exists()


def test_constraint_create_rejects_foreign_field(db):
    with pytest.raises(ValidationError) as error:
        constraint_create(
            name="wrong-field",
            object_type="workflow",
            criteria_and=[
                ("databaseId", "equals", "db-a"),
                ("assetName", "equals", "x"),
            ],
        )

    message = error.value.message_dict["field"][0]
    assert message.startswith("Field assetName does not exist on workflow objects")
    assert "databaseId, workflowId, object__type" in message
    assert not Constraint.objects.filter(name="wrong-field").exists()
    assert not Criterion.objects.filter(value="db-a").exists()


def test_constraint_create_rejects_blank_value_and_unknown_operator(db):
    with pytest.raises(ValidationError) as blank:
        constraint_create(
            name="blank",
            object_type="workflow",
            criteria_and=[("databaseId", "equals", "  ")],
        )
    with pytest.raises(ValidationError) as unknown:
        constraint_create(
            name="regex",
            object_type="workflow",
            criteria_and=[("databaseId", "matches", "db")],
        )

    assert "value" in blank.value.message_dict
    assert "operator" in unknown.value.message_dict


def test_constraint_create_rejects_unknown_object_type(db):
    with pytest.raises(ValidationError) as error:
        constraint_create(
            name="odd",
            object_type="bucket",
            criteria_and=[("object__type", "equals", "bucket")],
        )

    assert "object_type" in error.value.message_dict


def test_constraint_create_accepts_dict_criteria(db):
    constraint = constraint_create(
        name="dicts",
        object_type="asset",
        criteria_or=[{"field": "tags", "operator": "contains", "value": "public"}],
    )

    assert list(constraint.criteria.values_list("join", "field")) == [("or", "tags")]


def test_constraint_permit_rejects_unknown_action(db):
    role = role_create(name="viewers")
    constraint = constraint_create(
        name="c",
        object_type="workflow",
        criteria_and=[("databaseId", "equals", "db-a")],
    )

    with pytest.raises(ValidationError) as error:
        constraint_permit(constraint=constraint, subject=role, actions=["PATCH"])

    assert "action" in error.value.message_dict


def test_permission_needs_exactly_one_subject(db):
    role = role_create(name="viewers")
    user = make_user("viewer")
    constraint = constraint_create(
        name="c",
        object_type="workflow",
        criteria_and=[("databaseId", "equals", "db-a")],
    )

    for fields in ({}, {"role": role, "user": user}):
        permission = ConstraintPermission(constraint=constraint, action="GET", **fields)
        with pytest.raises(ValidationError, match="either a role or a user"):
            permission.full_clean()


def test_grant_names_constraints_uniquely(db):
    role = role_create(name="viewers")
    first = grant(
        role,
        object_type="workflow",
        criteria_and=[("databaseId", "equals", "db-a")],
        actions=["GET"],
    )
    second = grant(
        role,
        object_type="workflow",
        criteria_and=[("databaseId", "equals", "db-b")],
        actions=["GET", "POST"],
    )

    assert first.name == "viewers-workflow-allow"
    assert second.name == "viewers-workflow-allow-2"
    assert second.permissions.count() == 2


def test_grant_bumps_policy_version(db):
    before = PolicyVersion.objects.get(pk=1)

    grant(
        make_user("viewer"),
        object_type="api",
        criteria_and=[("route__path", "starts_with", "/")],
        actions=["GET"],
    )

    after = PolicyVersion.objects.get(pk=1)
    assert after.version > before.version
    assert after.stamp != before.stamp


def test_grant_name_from_email_username(db):
    user = make_user("ana+ops@example.com")

    constraint = grant(
        user,
        object_type="workflow",
        criteria_and=[("databaseId", "equals", "db-a")],
        actions=["GET"],
    )

    assert constraint.name == "ana-ops-example.com-workflow-allow"

from django.test import Client

from authz.enforcer import current_policy_version
from authz.models import ADMIN_ROLE, Constraint, Role


def constraint_form(**overrides) -> dict:
    data = {
        "name": "db-a-workflows",
        "description": "",
        "object_type": "workflow",
        "criteria-TOTAL_FORMS": "1",
        "criteria-INITIAL_FORMS": "0",
        "criteria-0-join": "and",
        "criteria-0-field": "databaseId",
        "criteria-0-operator": "equals",
        "criteria-0-value": "db-a",
        "permissions-TOTAL_FORMS": "0",
        "permissions-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_constraint_admin_creates_and_bumps_version(admin_user):
    before = current_policy_version()

    response = signed_in(admin_user).post(
        "/admin/authz/constraint/add/", constraint_form()
    )

    assert response.status_code == 302
    constraint = Constraint.objects.get(name="db-a-workflows")
    assert list(constraint.criteria.values_list("field", "value")) == [
        ("databaseId", "db-a")
    ]
    assert current_policy_version() != before


def test_constraint_admin_requires_a_criterion(admin_user):
    data = constraint_form(
        **{"criteria-0-field": "", "criteria-0-operator": "", "criteria-0-value": ""}
    )

    response = signed_in(admin_user).post("/admin/authz/constraint/add/", data)

    assert response.status_code == 200
    assert "Add at least one criterion" in response.content.decode()
    assert not Constraint.objects.filter(name="db-a-workflows").exists()


def test_constraint_admin_rejects_field_of_other_type(admin_user):
    data = constraint_form(**{"criteria-0-field": "assetName"})

    response = signed_in(admin_user).post("/admin/authz/constraint/add/", data)

    assert response.status_code == 200
    assert (
        "Field assetName does not exist on workflow objects"
        in response.content.decode()
    )
    assert not Constraint.objects.filter(name="db-a-workflows").exists()


def test_role_admin_keeps_builtin_admin_role(admin_user):
    role = Role.objects.get(name=ADMIN_ROLE)
    client = signed_in(admin_user)

    delete_page = client.get(f"/admin/authz/role/{role.pk}/delete/")
    change_page = client.get(f"/admin/authz/role/{role.pk}/change/")

    assert delete_page.status_code == 403
    assert change_page.status_code == 200
    assert 'name="name"' not in change_page.content.decode()

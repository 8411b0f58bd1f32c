"""Create the built-in ``admin`` role, allowed every action on every object.

Each object type gets one constraint selecting all its objects by the literal
test ``object__type equals <type>``, with GET, PUT, POST and DELETE allowed to
``admin``. Superusers hold this role without a membership row.
"""

import uuid

from django.db import migrations

OBJECT_TYPES = (
    "database",
    "asset",
    "api",
    "web",
    "tag",
    "tagType",
    "role",
    "userRole",
    "pipeline",
    "workflow",
    "metadataSchema",
)
ACTIONS = ("GET", "PUT", "POST", "DELETE")


def create_admin_role(apps, schema_editor) -> None:
    Role = apps.get_model("authz", "Role")
    Constraint = apps.get_model("authz", "Constraint")
    Criterion = apps.get_model("authz", "Criterion")
    ConstraintPermission = apps.get_model("authz", "ConstraintPermission")
    PolicyVersion = apps.get_model("authz", "PolicyVersion")

    admin, _ = Role.objects.get_or_create(
        name="admin",
        defaults={"description": "Every action on every object."},
    )
    for object_type in OBJECT_TYPES:
        constraint, created = Constraint.objects.get_or_create(
            name=f"admin-all-{object_type}",
            defaults={
                "object_type": object_type,
                "description": f"Every {object_type} object.",
            },
        )
        if created:
            Criterion.objects.create(
                constraint=constraint,
                join="and",
                field="object__type",
                operator="equals",
                value=object_type,
            )
        for action in ACTIONS:
            ConstraintPermission.objects.get_or_create(
                constraint=constraint, role=admin, action=action, effect="allow"
            )
    version, _ = PolicyVersion.objects.get_or_create(pk=1)
    version.version += 1
    version.stamp = uuid.uuid4().hex
    version.save(update_fields=["version", "stamp"])


def remove_admin_role(apps, schema_editor) -> None:
    apps.get_model("authz", "Constraint").objects.filter(
        name__in=[f"admin-all-{object_type}" for object_type in OBJECT_TYPES]
    ).delete()
    apps.get_model("authz", "Role").objects.filter(name="admin").delete()


class Migration(migrations.Migration):
    dependencies = [("authz", "0001_initial")]

    operations = [migrations.RunPython(create_admin_role, remove_admin_role)]

"""Authorization rules: roles, their members, constraints and permissions.

A constraint selects objects of one type by criteria on their attributes. A
permission row lets a role or a single user do one action (GET, PUT, POST,
DELETE) on the objects a constraint selects, or denies it. A deny wins over
any allow, and a user with no matching allow may do nothing.

Criterion values are literal text, never regular expressions.
"""

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

ADMIN_ROLE = "admin"
NAME_PATTERN = r"^[-_.a-zA-Z0-9]{1,64}$"
NAME_HELP = "1 to 64 letters, digits, '-', '_' or '.'."


class ObjectType(models.TextChoices):
    DATABASE = "database", "database"
    ASSET = "asset", "asset"
    API = "api", "api"
    WEB = "web", "web"
    TAG = "tag", "tag"
    TAG_TYPE = "tagType", "tagType"
    ROLE = "role", "role"
    USER_ROLE = "userRole", "userRole"
    PIPELINE = "pipeline", "pipeline"
    WORKFLOW = "workflow", "workflow"
    METADATA_SCHEMA = "metadataSchema", "metadataSchema"


class Action(models.TextChoices):
    GET = "GET"
    PUT = "PUT"
    POST = "POST"
    DELETE = "DELETE"


class Effect(models.TextChoices):
    ALLOW = "allow"
    DENY = "deny"


# Attribute names a criterion may test, per object type. Every type may also
# test ``object__type`` itself. Objects lacking an attribute read it as "".
FIELDS_BY_OBJECT_TYPE: dict[str, tuple[str, ...]] = {
    ObjectType.DATABASE: ("databaseId",),
    ObjectType.ASSET: ("databaseId", "assetName", "assetType", "tags"),
    ObjectType.API: ("route__path",),
    ObjectType.WEB: ("route__path",),
    ObjectType.TAG: ("tagName", "tagTypeName"),
    ObjectType.TAG_TYPE: ("tagTypeName",),
    ObjectType.ROLE: ("roleName",),
    ObjectType.USER_ROLE: ("roleName", "userId"),
    ObjectType.PIPELINE: (
        "databaseId",
        "pipelineId",
        "pipelineType",
        "pipelineExecutionType",
    ),
    ObjectType.WORKFLOW: ("databaseId", "workflowId"),
    ObjectType.METADATA_SCHEMA: (
        "databaseId",
        "metadataSchemaName",
        "metadataSchemaEntityType",
    ),
}


class Field(models.TextChoices):
    DATABASE_ID = "databaseId", "databaseId"
    ASSET_NAME = "assetName", "assetName"
    ASSET_TYPE = "assetType", "assetType"
    TAGS = "tags", "tags"
    TAG_NAME = "tagName", "tagName"
    TAG_TYPE_NAME = "tagTypeName", "tagTypeName"
    ROLE_NAME = "roleName", "roleName"
    USER_ID = "userId", "userId"
    PIPELINE_ID = "pipelineId", "pipelineId"
    PIPELINE_TYPE = "pipelineType", "pipelineType"
    PIPELINE_EXECUTION_TYPE = "pipelineExecutionType", "pipelineExecutionType"
    WORKFLOW_ID = "workflowId", "workflowId"
    METADATA_SCHEMA_NAME = "metadataSchemaName", "metadataSchemaName"
    METADATA_SCHEMA_ENTITY_TYPE = "metadataSchemaEntityType", "metadataSchemaEntityType"
    OBJECT_TYPE = "object__type", "object__type"
    ROUTE_PATH = "route__path", "route__path"


class Operator(models.TextChoices):
    EQUALS = "equals", "equals"
    CONTAINS = "contains", "contains"
    DOES_NOT_CONTAIN = "does_not_contain", "does_not_contain"
    STARTS_WITH = "starts_with", "starts_with"
    ENDS_WITH = "ends_with", "ends_with"
    IS_ONE_OF = "is_one_of", "is_one_of"
    IS_NOT_ONE_OF = "is_not_one_of", "is_not_one_of"


class Join(models.TextChoices):
    AND = "and", "all of the AND criteria"
    OR = "or", "any of the OR criteria"


class PolicyVersion(models.Model):
    """A counter bumped on every rule change, so stale cached enforcers are rebuilt.

    There is one row, with primary key 1. Caches compare ``stamp``, a random
    value replaced on every bump, because a counter value written by a
    rolled-back transaction can be written again by a later one.
    """

    version = models.BigIntegerField(default=0)
    stamp = models.CharField(max_length=32, default="")
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"policy version {self.version}"


class Role(models.Model):
    name = models.CharField(
        max_length=64,
        unique=True,
        validators=[RegexValidator(NAME_PATTERN)],
        help_text=NAME_HELP,
    )
    description = models.CharField(max_length=256, blank=True, default="")
    mfa_required = models.BooleanField(
        default=False,
        help_text="Members hold this role only in sessions signed in with MFA.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="RoleMembership", related_name="authz_roles"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RoleMembership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="authz_memberships",
    )
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="memberships")

    class Meta:
        ordering = ["role__name", "user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role"], name="authz_membership_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.role}"


class Constraint(models.Model):
    """Objects of one type selected by criteria on their attributes."""

    name = models.CharField(
        max_length=64,
        unique=True,
        validators=[RegexValidator(NAME_PATTERN)],
        help_text=NAME_HELP,
    )
    description = models.CharField(max_length=256, blank=True, default="")
    object_type = models.CharField(max_length=16, choices=ObjectType.choices)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Criterion(models.Model):
    """One test on an object attribute.

    Criteria joined by AND form one rule that needs all of them. Criteria
    joined by OR form a second rule that needs any one of them. The constraint
    selects an object when either rule does. The value is compared as literal
    text. On a list attribute (``tags``) a test passes when any element passes,
    and ``does_not_contain`` passes when no element contains the value.
    ``is_one_of`` passes when the value is an element of a list attribute or a
    substring of a text attribute, and ``is_not_one_of`` is its negation.
    """

    constraint = models.ForeignKey(
        Constraint, on_delete=models.CASCADE, related_name="criteria"
    )
    join = models.CharField(max_length=3, choices=Join.choices, default=Join.AND)
    field = models.CharField(max_length=32, choices=Field.choices)
    operator = models.CharField(max_length=16, choices=Operator.choices)
    value = models.CharField(
        max_length=256,
        help_text="Literal text; '*', '.' and other characters match only themselves.",
    )

    class Meta:
        ordering = ["constraint_id", "join", "id"]
        verbose_name_plural = "criteria"

    def __str__(self) -> str:
        return f"{self.field} {self.operator} {self.value!r}"

    def clean(self) -> None:
        errors = {}
        if self.value is not None and self.value.strip() == "":
            errors["value"] = (
                "Value must not be blank. Enter the literal text to compare."
            )
        try:
            constraint = self.constraint
        except ObjectDoesNotExist:
            constraint = None
        if constraint is not None and self.field:
            allowed = FIELDS_BY_OBJECT_TYPE.get(constraint.object_type, ())
            if self.field != Field.OBJECT_TYPE and self.field not in allowed:
                names = ", ".join((*allowed, Field.OBJECT_TYPE))
                errors["field"] = (
                    f"Field {self.field} does not exist on {constraint.object_type} "
                    f"objects. Use one of: {names}."
                )
        if errors:
            raise ValidationError(errors)


class ConstraintPermission(models.Model):
    """An allow or deny of one action on a constraint's objects, for a role or user."""

    constraint = models.ForeignKey(
        Constraint, on_delete=models.CASCADE, related_name="permissions"
    )
    role = models.ForeignKey(
        Role,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="permissions",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="authz_permissions",
    )
    action = models.CharField(max_length=6, choices=Action.choices)
    effect = models.CharField(
        max_length=5, choices=Effect.choices, default=Effect.ALLOW
    )

    class Meta:
        ordering = ["constraint_id", "id"]
        verbose_name = "permission"
        constraints = [
            models.CheckConstraint(
                condition=(Q(role__isnull=False) & Q(user__isnull=True))
                | (Q(role__isnull=True) & Q(user__isnull=False)),
                name="authz_permission_one_subject",
            ),
            models.UniqueConstraint(
                fields=["constraint", "role", "action", "effect"],
                condition=Q(role__isnull=False),
                name="authz_permission_unique_role",
            ),
            models.UniqueConstraint(
                fields=["constraint", "user", "action", "effect"],
                condition=Q(user__isnull=False),
                name="authz_permission_unique_user",
            ),
        ]

    def __str__(self) -> str:
        subject = f"role {self.role}" if self.role_id else f"user {self.user}"
        return f"{self.effect} {self.action} on {self.constraint} to {subject}"

    def clean(self) -> None:
        if bool(self.role_id) == bool(self.user_id):
            raise ValidationError(
                "Choose exactly one subject for this permission: either a role "
                "or a user."
            )

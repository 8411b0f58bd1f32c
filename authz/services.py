"""Authorization decisions and the services that edit the rules.

Apps describe objects as attribute dictionaries. Tier 1 checks
``{"object__type": "api", "route__path": <request path>}``. Tier 2 checks the
object the request touches, for example
``{"object__type": "workflow", "databaseId": "db-a", "workflowId": "wf-1"}``.
Actions are HTTP methods: GET, PUT, POST, DELETE.

Every write service runs in one transaction and bumps the policy version, so
the change applies from the next request in every process.
"""

import logging
import re
from collections.abc import Iterable, Mapping, Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from authz.enforcer import bump_policy_version, enforcer_for
from authz.models import (
    Action,
    Constraint,
    ConstraintPermission,
    Criterion,
    Effect,
    Join,
    Role,
    RoleMembership,
)

logger = logging.getLogger(__name__)

ID_FIELDS = ("databaseId", "workflowId", "pipelineId", "assetId", "route__path")

CriterionInput = Mapping[str, str] | Sequence[str]


def authz_check(*, user, obj: Mapping, action: str) -> bool:
    """Return True when ``user`` may do ``action`` on the object described by ``obj``.

    Anonymous and inactive users, unknown actions and objects without an
    ``object__type`` are denied. When the rules cannot be read, the request is
    denied and the next request tries again.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if not user.is_active:
        return False
    action = str(action).upper()
    if action not in Action.values or not obj.get("object__type"):
        return False

    try:
        enforcer = enforcer_for(user)
    except DatabaseError:
        logger.exception(
            "Authorization rules could not be loaded, so the request is denied "
            "user=%s object_type=%s action=%s",
            user.get_username(),
            obj.get("object__type"),
            action,
        )
        return False

    allowed, computed = enforcer.decide(obj, action)
    if not allowed:
        # Route denials are always logged at info. A repeated object denial
        # served from the decision memo (for example, a list that drops many
        # rows of one database) goes to debug, so info keeps one line per case.
        is_route = obj.get("object__type") == "api"
        level = logging.INFO if computed or is_route else logging.DEBUG
        logger.log(
            level,
            "Not authorized user=%s object_type=%s action=%s %s",
            user.get_username(),
            obj.get("object__type"),
            action,
            _describe_ids(obj),
        )
    return allowed


def _describe_ids(obj: Mapping) -> str:
    return " ".join(f"{field}={obj[field]}" for field in ID_FIELDS if field in obj)


def _criterion_parts(item: CriterionInput) -> tuple[str, str, str]:
    if isinstance(item, Mapping):
        return item["field"], item["operator"], item["value"]
    field, operator, value = item
    return field, operator, value


@transaction.atomic
def role_create(
    *, name: str, description: str = "", mfa_required: bool = False
) -> Role:
    """Create a role, or raise ValidationError when the name is invalid or taken."""
    role = Role(name=name, description=description, mfa_required=mfa_required)
    role.full_clean()
    role.save()
    bump_policy_version()
    return role


@transaction.atomic
def role_assign(*, user: AbstractBaseUser, role: Role) -> RoleMembership:
    """Make ``user`` a member of ``role``. Assigning twice keeps one membership."""
    membership, _ = RoleMembership.objects.get_or_create(user=user, role=role)
    bump_policy_version()
    return membership


@transaction.atomic
def role_unassign(*, user: AbstractBaseUser, role: Role) -> None:
    RoleMembership.objects.filter(user=user, role=role).delete()
    bump_policy_version()


@transaction.atomic
def constraint_create(
    *,
    name: str,
    object_type: str,
    criteria_and: Iterable[CriterionInput] = (),
    criteria_or: Iterable[CriterionInput] = (),
    description: str = "",
) -> Constraint:
    """Create a constraint with its criteria, given as (field, operator, value).

    Raise ValidationError when a value is invalid or no criterion is given,
    and leave nothing written.
    """
    criteria = [(Join.AND, item) for item in criteria_and]
    criteria += [(Join.OR, item) for item in criteria_or]
    if not criteria:
        raise ValidationError(
            f"Constraint {name} needs at least one AND or OR criterion."
        )

    constraint = Constraint(name=name, object_type=object_type, description=description)
    constraint.full_clean()
    constraint.save()
    for join, item in criteria:
        field, operator, value = _criterion_parts(item)
        criterion = Criterion(
            constraint=constraint,
            join=join,
            field=field,
            operator=operator,
            value=value,
        )
        criterion.full_clean()
        criterion.save()
    bump_policy_version()
    return constraint


@transaction.atomic
def constraint_permit(
    *,
    constraint: Constraint,
    subject: Role | AbstractBaseUser,
    actions: Iterable[str],
    effect: str = Effect.ALLOW,
) -> list[ConstraintPermission]:
    """Allow or deny ``actions`` on ``constraint``'s objects to a role or a user."""
    permissions = []
    for action in actions:
        permission = ConstraintPermission(
            constraint=constraint, action=action, effect=effect
        )
        if isinstance(subject, Role):
            permission.role = subject
        else:
            permission.user = subject
        permission.full_clean()
        permission.save()
        permissions.append(permission)
    bump_policy_version()
    return permissions


@transaction.atomic
def grant(
    subject: Role | AbstractBaseUser,
    *,
    object_type: str,
    actions: Iterable[str],
    criteria_and: Iterable[CriterionInput] = (),
    criteria_or: Iterable[CriterionInput] = (),
    effect: str = Effect.ALLOW,
    name: str | None = None,
    description: str = "",
) -> Constraint:
    """Create a constraint and allow (or deny) ``actions`` on it to ``subject``.

    ``name`` defaults to a unique name derived from the subject and type.
    """
    if name is None:
        subject_name = (
            subject.name if isinstance(subject, Role) else subject.get_username()
        )
        # Usernames may contain "@" and "+", which constraint names may not.
        subject_name = re.sub(r"[^-_.a-zA-Z0-9]", "-", subject_name)
        base = f"{subject_name}-{object_type}-{effect}"[:55]
        name = base
        suffix = 1
        while Constraint.objects.filter(name=name).exists():
            suffix += 1
            name = f"{base}-{suffix}"
    constraint = constraint_create(
        name=name,
        object_type=object_type,
        criteria_and=criteria_and,
        criteria_or=criteria_or,
        description=description,
    )
    constraint_permit(
        constraint=constraint, subject=subject, actions=actions, effect=effect
    )
    return constraint


@transaction.atomic
def constraint_delete(*, constraint: Constraint) -> None:
    constraint.delete()
    bump_policy_version()

"""Per-user Casbin enforcers built from the rule tables and cached per process.

A user's enforcer contains only the rules that reach the user: those granted to
the user's roles and those naming the user directly. The rules of one
(subject, object type, action, effect) are grouped into a single Casbin policy
whose ``ruleMatch`` calls their compiled predicates, so Casbin evaluates a few
dozen policies per decision however many constraints exist.

Every rule change bumps ``PolicyVersion``. An enforcer is reused only while the
version it was built at is current, so each worker process picks up a change
on its next request without a restart.
"""

import logging
import threading
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Mapping
from pathlib import Path

import casbin
from casbin.model import Model
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from authz.models import (
    ADMIN_ROLE,
    ConstraintPermission,
    Criterion,
    Join,
    PolicyVersion,
    Role,
)
from authz.rules import CriterionSpec, RuleSet

logger = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).with_name("model.conf")
# Maximum number of users whose enforcers one process keeps. The least recently
# used enforcer is evicted first.
MAX_CACHED_ENFORCERS = 1000
# Maximum number of decisions one enforcer remembers before it clears them all
# (see ``decide``).
MAX_REMEMBERED_DECISIONS = 50_000
POLICY_VERSION_PK = 1
# Attribute names stamped on a request's user object by ``pin_request_state``.
PINNED_VERSION_ATTR = "_authz_policy_version"
PINNED_MFA_ATTR = "_authz_mfa_authenticated"


def user_subject(user) -> str:
    return f"user::{user.get_username()}"


def role_subject(name: str) -> str:
    return f"role::{name}"


class UserEnforcer:
    """A Casbin enforcer for one user plus a memo of its decisions.

    A decision depends only on the action, the object type and the attributes
    that this user's rules for that type read, so decisions are remembered
    under exactly that key. Listing thousands of workflows that differ only
    in ``workflowId`` under rules that read only ``databaseId`` costs one
    Casbin evaluation per database.
    """

    def __init__(
        self,
        subject: str,
        roles: list[str],
        rule_groups: Mapping[tuple[str, str, str, str], RuleSet],
        fields_by_type: Mapping[str, tuple[str, ...]],
    ) -> None:
        self.subject = subject
        self.roles = roles
        self._fields_by_type = dict(fields_by_type)
        self._rules: dict[str, tuple[str, RuleSet]] = {}
        self._decisions: dict[tuple, bool] = {}

        model = Model()
        model.load_model(str(MODEL_PATH))
        self._casbin = casbin.Enforcer(model)
        self._casbin.add_function("ruleMatch", self._match_rule)

        policies = []
        for index, (group, rule_set) in enumerate(rule_groups.items()):
            group_subject, object_type, action, effect = group
            key = f"{object_type}#{index}"
            self._rules[key] = (object_type, rule_set)
            policies.append([group_subject, key, action, effect])
        if policies:
            self._casbin.add_policies(policies)
        for role in roles:
            self._casbin.add_role_for_user(subject, role_subject(role))

    @property
    def policy_count(self) -> int:
        return len(self._rules)

    def _match_rule(self, key: str, obj: Mapping) -> bool:
        object_type, rule_set = self._rules[key]
        if obj.get("object__type") != object_type:
            return False
        return rule_set.matches(obj)

    def _decision_key(self, obj: Mapping, action: str) -> tuple | None:
        object_type = obj.get("object__type")
        values = []
        for field in self._fields_by_type.get(object_type, ()):
            raw = obj.get(field)
            if isinstance(raw, (list, tuple, set, frozenset)):
                raw = tuple(raw)
            values.append("" if raw is None else raw)
        key = (action, object_type, *values)
        try:
            hash(key)
        except TypeError:
            return None
        return key

    def decide(self, obj: Mapping, action: str) -> tuple[bool, bool]:
        """Return (allowed, computed), where ``computed`` is False if remembered."""
        key = self._decision_key(obj, action)
        if key is not None:
            remembered = self._decisions.get(key)
            if remembered is not None:
                return remembered, False
        allowed = bool(self._casbin.enforce(self.subject, obj, action))
        if key is not None:
            if len(self._decisions) >= MAX_REMEMBERED_DECISIONS:
                self._decisions.clear()
            self._decisions[key] = allowed
        return allowed, True

    def enforce_uncached(self, obj: Mapping, action: str) -> bool:
        """Evaluate through Casbin without the decision memo (for measurements)."""
        return bool(self._casbin.enforce(self.subject, obj, action))


def current_policy_version() -> str:
    """Return the stamp of the current rules ("" before any rule exists)."""
    stamp = (
        PolicyVersion.objects.filter(pk=POLICY_VERSION_PK)
        .values_list("stamp", flat=True)
        .first()
    )
    return stamp or ""


def bump_policy_version() -> None:
    """Mark every cached enforcer stale, inside the caller's transaction if any."""
    stamp = uuid.uuid4().hex
    with transaction.atomic():
        updated = PolicyVersion.objects.filter(pk=POLICY_VERSION_PK).update(
            version=F("version") + 1, stamp=stamp, changed_at=timezone.now()
        )
        if not updated:
            PolicyVersion.objects.get_or_create(
                pk=POLICY_VERSION_PK, defaults={"version": 1, "stamp": stamp}
            )


def pin_request_state(user, *, mfa_authenticated: bool) -> None:
    """Store the current policy version and the MFA flag on ``user``.

    ``user`` must be the per-request object (``request.user``), so every check
    in the request reuses that version instead of reading it again.
    """
    setattr(user, PINNED_VERSION_ATTR, current_policy_version())
    setattr(user, PINNED_MFA_ATTR, mfa_authenticated)


def _load_rule_groups(user, role_names: set[str]):
    """Read the constraints that reach ``user`` and group their rules.

    Rows are read as tuples, not model instances, because a user reached by
    a thousand constraints would otherwise spend most of the build in the ORM.
    """
    reach = Q(user=user)
    if role_names:
        reach |= Q(role__name__in=role_names)
    permissions = list(
        ConstraintPermission.objects.filter(reach).values_list(
            "constraint_id", "role__name", "action", "effect"
        )
    )
    criteria = Criterion.objects.filter(
        constraint_id__in=ConstraintPermission.objects.filter(reach).values(
            "constraint_id"
        )
    ).values_list(
        "constraint_id", "constraint__object_type", "join", "field", "operator", "value"
    )

    specs_by_constraint: dict[int, tuple[str, list, list]] = {}
    fields_by_type: dict[str, set[str]] = defaultdict(set)
    for constraint_id, object_type, join, field, operator, value in criteria:
        entry = specs_by_constraint.setdefault(constraint_id, (object_type, [], []))
        spec = CriterionSpec(field, operator, value)
        (entry[1] if join == Join.AND else entry[2]).append(spec)
        fields_by_type[object_type].add(field)

    groups: dict[tuple[str, str, str, str], RuleSet] = {}
    for constraint_id, role_name, action, effect in permissions:
        if constraint_id not in specs_by_constraint:
            continue
        object_type, and_specs, or_specs = specs_by_constraint[constraint_id]
        subject = role_subject(role_name) if role_name else user_subject(user)
        group = (subject, object_type, action, effect)
        groups.setdefault(group, RuleSet()).add_constraint(and_specs, or_specs)

    ordered_fields = {
        object_type: tuple(sorted(fields))
        for object_type, fields in fields_by_type.items()
    }
    return groups, ordered_fields


def build_enforcer(user, *, mfa_authenticated: bool) -> UserEnforcer:
    """Load ``user``'s roles and rules from the database and compile them."""
    role_filter = Q(memberships__user=user)
    if user.is_superuser:
        role_filter |= Q(name=ADMIN_ROLE)
    roles = Role.objects.filter(role_filter)
    if not mfa_authenticated:
        roles = roles.filter(mfa_required=False)
    role_names = set(roles.values_list("name", flat=True))

    groups, fields_by_type = _load_rule_groups(user, role_names)
    return UserEnforcer(user_subject(user), sorted(role_names), groups, fields_by_type)


class EnforcerCache:
    """Per-process enforcer cache, keyed by user, rebuilt when the version changes."""

    def __init__(self, max_size: int = MAX_CACHED_ENFORCERS) -> None:
        self._max_size = max_size
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, tuple[str, UserEnforcer]] = OrderedDict()

    def get(self, user, *, version: str, mfa_authenticated: bool) -> UserEnforcer:
        key = (user.pk, user.get_username(), user.is_superuser, mfa_authenticated)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == version:
                self._entries.move_to_end(key)
                return entry[1]

        enforcer = build_enforcer(user, mfa_authenticated=mfa_authenticated)
        logger.debug(
            "Built authorization enforcer user=%s version=%s roles=%s policies=%s",
            user.get_username(),
            version,
            ",".join(enforcer.roles),
            enforcer.policy_count,
        )
        with self._lock:
            self._entries[key] = (version, enforcer)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_size:
                self._entries.popitem(last=False)
        return enforcer

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


enforcer_cache = EnforcerCache()


def enforcer_for(user) -> UserEnforcer:
    """Return ``user``'s enforcer, current as of the version pinned for this request."""
    version = getattr(user, PINNED_VERSION_ATTR, None)
    if version is None:
        version = current_policy_version()
    mfa_authenticated = bool(getattr(user, PINNED_MFA_ATTR, False))
    return enforcer_cache.get(
        user, version=version, mfa_authenticated=mfa_authenticated
    )

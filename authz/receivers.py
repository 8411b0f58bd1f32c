"""Bump the policy version whenever a rule row changes, from any code path.

``QuerySet.update()``, ``bulk_create()`` and raw SQL do not send these
signals, so code that writes rules that way must call ``bump_policy_version``.
"""

from authz.enforcer import bump_policy_version


def rules_changed(sender, **kwargs) -> None:
    bump_policy_version()


def memberships_changed(sender, action: str, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        bump_policy_version()

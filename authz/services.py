"""Authorization decisions. Apps describe objects as attribute dictionaries.

Tier 1 judges ``{"object__type": "api", "route__path": <request path>}``; tier 2
judges the object the request touches, for example
``{"object__type": "workflow", "databaseId": "db-a", "workflowId": "wf-1"}``.
Actions are HTTP methods: GET, PUT, POST, DELETE.
"""


def authz_check(*, user, obj: dict, action: str) -> bool:
    """Return True when ``user`` may do ``action`` on the object described by ``obj``."""
    # Placeholder until the Casbin enforcer lands: only superusers are allowed.
    return bool(user is not None and getattr(user, "is_superuser", False))

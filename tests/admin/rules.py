"""Authorization rules for admin tests, built through the authz services."""

from authz.services import grant


def allow(subject, object_type: str, actions) -> None:
    """Allow ``actions`` on every object of ``object_type`` to a user or role."""
    grant(
        subject,
        object_type=object_type,
        actions=actions,
        criteria_and=[("object__type", "equals", object_type)],
    )

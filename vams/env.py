"""The one place that reads the process environment.

Settings modules call these helpers; application code reads ``django.conf.settings``.
"""

import os

from django.core.exceptions import ImproperlyConfigured

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    """Return the variable ``name``, or ``default`` when it is unset or empty."""
    value = os.environ.get(name, "")
    return value if value != "" else default


def env_required(name: str) -> str:
    """Return the variable ``name`` or raise ImproperlyConfigured naming it."""
    value = env_str(name)
    if value is None:
        raise ImproperlyConfigured(
            f"Missing environment variable {name}: set it and restart."
        )
    return value


def env_bool(name: str, default: bool) -> bool:
    """Return ``name`` parsed as a boolean (true/false, 1/0, yes/no, on/off)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise ImproperlyConfigured(
        f"Invalid boolean {name}={raw!r}: use true or false."
    )


def env_list(name: str, default: list[str]) -> list[str]:
    """Return ``name`` split on commas, with blanks dropped."""
    raw = env_str(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    """Return ``name`` parsed as an integer."""
    raw = env_str(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"Invalid integer {name}={raw!r}: use a whole number such as 10."
        ) from None

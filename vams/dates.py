"""The two date formats of the VAMS Workflows API, always in UTC."""

import json
from datetime import datetime, timezone

# Workflows: "March 15 2026 - 10:30:00", stored and returned JSON-encoded, so the
# API value itself contains the double quotes.
WORKFLOW_DATE_FORMAT = "%B %d %Y - %H:%M:%S"
# Executions: "03/15/2026, 10:30:00", without a zone suffix.
EXECUTION_DATE_FORMAT = "%m/%d/%Y, %H:%M:%S"


def format_workflow_date(value: datetime | None) -> str:
    """Return ``value`` as the JSON-encoded workflow date string, or ``""``."""
    if value is None:
        return ""
    utc = value.astimezone(timezone.utc)
    # %B depends on the locale, so the English month name is inserted explicitly.
    text = utc.strftime(WORKFLOW_DATE_FORMAT.replace("%B", MONTHS[utc.month - 1]))
    return json.dumps(text)


def format_execution_date(value: datetime | None) -> str:
    """Return ``value`` in the execution date format, or ``""`` when unknown."""
    if value is None:
        return ""
    return value.astimezone(timezone.utc).strftime(EXECUTION_DATE_FORMAT)


MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

"""The response envelope: every API body is ``{"message": <payload>}``."""

from typing import Any

from rest_framework.response import Response

NO_CACHE = "no-cache, no-store"


def envelope(payload: Any, status: int = 200) -> Response:
    """Return a DRF response whose body is ``{"message": payload}``."""
    response = Response({"message": payload}, status=status)
    response["Cache-Control"] = NO_CACHE
    return response


def list_envelope(items: list, next_token: str | None) -> Response:
    """Return the list container ``{"message": {"Items": [...], "NextToken": ...}}``."""
    return envelope({"Items": items, "NextToken": next_token})

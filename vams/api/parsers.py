"""Checks on parsed JSON request bodies, and the DRF parser that applies them.

Python's json module raises RecursionError, not ValueError, on input nested
about a thousand levels deep, and code that walks a parsed body recursively
fails the same way on shallower input. A ``\\ud800`` escape decodes to a lone
surrogate, which no UTF-8 database column or AWS call accepts. Both would
surface as 500, so such bodies are rejected with 400 when they are parsed.
"""

from typing import Any

from rest_framework import parsers

from vams.exceptions import InvalidInput

# The documented bodies nest four levels (body, specifiedPipelines,
# functions, entry); the margin leaves room for unknown keys kept verbatim.
MAX_JSON_DEPTH = 64
BODY_TOO_DEEP = (
    f"The request body is nested more than {MAX_JSON_DEPTH} levels deep; "
    "send a flatter JSON document."
)
BODY_HAS_SURROGATE = (
    "The request body contains an unpaired surrogate escape such as \\ud800, "
    "which is not valid Unicode text; send the character itself or a valid pair."
)


def check_json_document(data: Any) -> None:
    """Raise InvalidInput when ``data`` nests too deep or contains a lone surrogate.

    Iterative, so a deep document cannot exhaust the call stack here.
    """
    pending = [(data, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _check_text(item)
            continue
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise InvalidInput(BODY_TOO_DEEP)
        pending.extend((child, depth + 1) for child in children)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(BODY_HAS_SURROGATE) from None


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, plus the depth and surrogate checks."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise InvalidInput(BODY_TOO_DEEP) from None
        check_json_document(data)
        return data

"""JSON request parsing with a bound on nesting depth.

Python's json module raises RecursionError, not ValueError, on input nested
about a thousand levels deep, and code that walks a parsed body recursively
fails the same way on shallower input. Both would surface as 500, so bodies
nested deeper than any documented body are rejected with 400 up front.
"""

from rest_framework import parsers

from vams.exceptions import InvalidInput

# The documented bodies nest four levels (body, specifiedPipelines,
# functions, entry); the margin leaves room for unknown keys kept verbatim.
MAX_JSON_DEPTH = 64
BODY_TOO_DEEP = (
    f"The request body is nested more than {MAX_JSON_DEPTH} levels deep; "
    "send a flatter JSON document."
)


def json_depth(value) -> int:
    """Return how many objects and arrays are nested in ``value`` at most.

    Iterative, so a deep document cannot exhaust the call stack here.
    """
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children)
    return deepest


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser that rejects documents nested deeper than MAX_JSON_DEPTH."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise InvalidInput(BODY_TOO_DEEP) from None
        if json_depth(data) > MAX_JSON_DEPTH:
            raise InvalidInput(BODY_TOO_DEEP)
        return data

"""Keyset pagination with the VAMS query parameters.

``maxItems`` bounds the stored rows read for one response and ``pageSize`` how
many are read per query. ``NextToken`` is a signed, opaque position after the
last row read, so a page stays correct while rows are added before or after it.
Object-level filtering happens after the rows are read, so a response may contain
fewer than ``maxItems`` items while ``NextToken`` is set: clients loop until
``NextToken`` is null.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db.models import Q, QuerySet

from vams.exceptions import InvalidInput

TOKEN_SALT = "vams.pagination"
MAX_ITEMS_LIMIT = 30000
PAGE_SIZE_LIMIT = 3000

INVALID_NUMBER = "{name} must be a whole number from 1 to {limit}; got {value!r}."
INVALID_TOKEN = (
    "startingToken is not a token issued by this list; start again without it."
)
# ASCII digits only, because str.isdigit() also accepts characters such as "²"
# that int() rejects.
WHOLE_NUMBER = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class PageRequest:
    max_items: int
    page_size: int
    starting_token: str | None


def parse_page_request(
    query_params,
    *,
    default_max_items: int = MAX_ITEMS_LIMIT,
    default_page_size: int = PAGE_SIZE_LIMIT,
) -> PageRequest:
    """Read maxItems, pageSize and startingToken, raising InvalidInput on invalid values."""
    max_items = _parse_positive(
        query_params.get("maxItems"), "maxItems", default_max_items, MAX_ITEMS_LIMIT
    )
    page_size = _parse_positive(
        query_params.get("pageSize"), "pageSize", default_page_size, PAGE_SIZE_LIMIT
    )
    token = query_params.get("startingToken") or None
    return PageRequest(
        max_items=max_items, page_size=min(page_size, max_items), starting_token=token
    )


def _parse_positive(raw: str | None, name: str, default: int, limit: int) -> int:
    if raw is None or raw == "":
        return default
    text = raw.strip()
    digits = text.lstrip("0")
    # A number with more digits than the limit is over it, and int() raises
    # ValueError for strings of more than 4300 digits.
    if (
        not WHOLE_NUMBER.fullmatch(text)
        or len(digits) > len(str(limit))
        or not 1 <= int(digits or "0") <= limit
    ):
        raise InvalidInput(INVALID_NUMBER.format(name=name, limit=limit, value=raw))
    return int(digits)


def encode_token(scope: str, position: list[Any]) -> str:
    """Return an opaque token for ``position`` that only ``scope`` accepts."""
    return signing.dumps({"s": scope, "k": position}, salt=TOKEN_SALT, compress=True)


def decode_token(scope: str, token: str) -> list[Any]:
    """Return the position in ``token``, or raise InvalidInput for a forged or foreign token."""
    try:
        data = signing.loads(token, salt=TOKEN_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        raise InvalidInput(INVALID_TOKEN, code="invalid_token") from None
    if (
        not isinstance(data, dict)
        or data.get("s") != scope
        or not isinstance(data.get("k"), list)
    ):
        raise InvalidInput(INVALID_TOKEN, code="invalid_token")
    return data["k"]


def _after_position(ordering: list[str], position: list[Any]) -> Q:
    """Build the filter for rows strictly after ``position`` in ``ordering``."""
    if len(position) != len(ordering):
        raise InvalidInput(INVALID_TOKEN, code="invalid_token")
    condition = Q()
    equal_so_far = Q()
    for field, value in zip(ordering, position):
        name = field.lstrip("-")
        lookup = "lt" if field.startswith("-") else "gt"
        condition |= equal_so_far & Q(**{f"{name}__{lookup}": value})
        equal_so_far &= Q(**{name: value})
    # The OR above alone makes SQLite scan the whole table. Repeating the first
    # field as a range lets both databases start from the index position.
    first = ordering[0]
    bound = "lte" if first.startswith("-") else "gte"
    return Q(**{f"{first.lstrip('-')}__{bound}": position[0]}) & condition


def read_keyset_page(
    queryset: QuerySet,
    *,
    ordering: list[str],
    page: PageRequest,
    scope: str,
    include: Callable[[Any], bool] = lambda row: True,
) -> tuple[list[Any], str | None]:
    """Read up to ``page.max_items`` rows after the token, ``page.page_size`` per query.

    Returns the rows that ``include`` accepts and the token for the next
    response, or None when no stored row remains. ``ordering`` must end with a
    unique field so positions are total.
    """
    queryset = queryset.order_by(*ordering)
    if page.starting_token:
        queryset = queryset.filter(
            _after_position(ordering, decode_token(scope, page.starting_token))
        )
    kept: list[Any] = []
    read = 0
    last_row = None
    more = False
    while read < page.max_items:
        batch_size = min(page.page_size, page.max_items - read)
        window = queryset
        if last_row is not None:
            window = window.filter(
                _after_position(ordering, _position(last_row, ordering))
            )
        # One extra row shows whether anything remains after this batch.
        rows = list(window[: batch_size + 1])
        more = len(rows) > batch_size
        rows = rows[:batch_size]
        if not rows:
            break
        read += len(rows)
        last_row = rows[-1]
        kept.extend(row for row in rows if include(row))
        if not more:
            break
    next_token = encode_token(scope, _position(last_row, ordering)) if more else None
    return kept, next_token


def _position(row: Any, ordering: Iterable[str]) -> list[Any]:
    """Return the ordering values of ``row``, a model instance or ``values()`` dict."""
    if isinstance(row, Mapping):
        return [row[field.lstrip("-")] for field in ordering]
    return [getattr(row, field.lstrip("-")) for field in ordering]

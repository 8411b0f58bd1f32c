"""Checks on execution route parameters and on the file key an execution runs on.

Every field is checked, and the first invalid one raises ``InvalidInput`` with a
message that names it. A file key is kept verbatim: ``+`` and ``%xx`` are never
decoded, so the key stored and compared is the key sent.
"""

import re
from urllib.parse import unquote

from vams.exceptions import InvalidInput
from vams.models import ASSET_ID_PATTERN, GLOBAL, ID_PATTERN

WORKFLOW_ID_PATTERN = r"^[-_a-zA-Z0-9]{4,64}$"
# Percent-encoded ".", "/", "\" and NUL: a key that needs them is rejected
# rather than decoded, because a pipeline may decode it into a path.
ENCODED_SEPARATOR = re.compile(r"%(2e|2f|5c|00)", re.IGNORECASE)
FILE_KEY_MAX_LENGTH = 1024

REQUIRED = "{field} is a required field."
NOT_A_STRING = "{field} must be a string; got {type_name}."
INVALID_DATABASE_ID = (
    "{field} must be 3 to 63 letters, digits, '-' or '_' and not GLOBAL; got {value!r}."
)
INVALID_WORKFLOW_ID = (
    "{field} must be 4 to 64 letters, digits, '-' or '_' and not GLOBAL; got {value!r}."
)
INVALID_WORKFLOW_DATABASE_ID = (
    "workflowDatabaseId must be GLOBAL or 3 to 63 letters, digits, '-' or '_'; "
    "got {value!r}."
)
GLOBAL_NOT_CAPITALISED = "{field} must be written GLOBAL in capitals; got {value!r}."
INVALID_ASSET_ID = (
    "assetId must be 2 to 255 letters, digits, spaces or _ . , ' - characters and must "
    "not end with '.' or a space; got {value!r}."
)
INVALID_FILE_KEY = "fileKey {value!r} is invalid: {reason}."
FILE_KEY_OUTSIDE_ASSET = (
    "fileKey {value!r} is invalid: it must name a file inside the asset folder "
    "{base_key!r} without '..' segments, backslashes, NUL or percent-encoded separators."
)
FILE_KEY_NOT_FOUND = (
    "fileKey {value!r} was not found: no file {key!r} exists in asset {asset_id!r}; "
    "omit fileKey to run on the whole asset."
)
INVALID_BOOLEAN = "{field} must be one of true, false, 1, 0, yes, no; got {value!r}."

TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no"}


def _require_string(field: str, value) -> str:
    if value is None or value == "":
        raise InvalidInput(REQUIRED.format(field=field))
    if not isinstance(value, str):
        raise InvalidInput(NOT_A_STRING.format(field=field, type_name=type(value).__name__))
    return value


def validate_database_id(value, *, field: str = "databaseId") -> str:
    """Check an asset database id: the ID rule, never any case of GLOBAL."""
    value = _require_string(field, value)
    if not re.match(ID_PATTERN, value) or value.lower() == GLOBAL.lower():
        raise InvalidInput(INVALID_DATABASE_ID.format(field=field, value=value))
    return value


def validate_workflow_id(value, *, field: str = "workflowId") -> str:
    value = _require_string(field, value)
    if not re.match(WORKFLOW_ID_PATTERN, value) or value.lower() == GLOBAL.lower():
        raise InvalidInput(INVALID_WORKFLOW_ID.format(field=field, value=value))
    return value


def validate_workflow_database_id(value) -> str:
    """Check a workflow's database id: exactly GLOBAL, or the ID rule."""
    field = "workflowDatabaseId"
    value = _require_string(field, value)
    if value.strip().lower() == GLOBAL.lower():
        if value != GLOBAL:
            raise InvalidInput(GLOBAL_NOT_CAPITALISED.format(field=field, value=value))
        return value
    if not re.match(ID_PATTERN, value):
        raise InvalidInput(INVALID_WORKFLOW_DATABASE_ID.format(value=value))
    return value


def validate_asset_id(value) -> str:
    value = _require_string("assetId", value)
    if len(value) > 256 or not re.match(ASSET_ID_PATTERN, value):
        raise InvalidInput(INVALID_ASSET_ID.format(value=value))
    return value


def validate_optional_file_key(value) -> str | None:
    """Return the file key as sent, or None when it is absent or empty."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(NOT_A_STRING.format(field="fileKey", type_name=type(value).__name__))
    if len(value) > FILE_KEY_MAX_LENGTH:
        raise InvalidInput(
            INVALID_FILE_KEY.format(
                value=value[:64] + "...",
                reason=f"it is longer than {FILE_KEY_MAX_LENGTH} characters",
            )
        )
    return value


def parse_boolean(value: str | None, *, field: str, default: bool = False) -> bool:
    """Parse a query flag (true/false, 1/0 or yes/no, in any case).

    A missing or empty value returns ``default``.
    """
    if value is None or value == "":
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InvalidInput(INVALID_BOOLEAN.format(field=field, value=value))


def _escapes_folder(relative: str) -> bool:
    """Return True when ``relative`` could leave the folder it is appended to."""
    if relative.startswith("/") or ENCODED_SEPARATOR.search(relative):
        return True
    # Decode twice so a double-encoded separator is judged by what it becomes.
    forms = {relative, unquote(relative), unquote(unquote(relative))}
    for form in forms:
        if "\\" in form or "\x00" in form:
            return True
        if any(segment == ".." for segment in form.split("/")):
            return True
    return False


def resolve_file_key(*, base_key: str, file_key: str | None) -> str:
    """Return the full S3 key that ``file_key`` names inside the folder ``base_key``.

    One leading "/" is dropped. A key that already starts with ``base_key`` is
    taken as a full key, and any other key is relative to ``base_key``. No key
    returns ``base_key`` itself (the whole asset). Raises InvalidInput when the
    key could point outside ``base_key``.
    """
    if file_key is None:
        return base_key
    relative = file_key[1:] if file_key.startswith("/") else file_key
    if relative.startswith(base_key):
        relative = relative[len(base_key) :]
    if not relative:
        return base_key
    if _escapes_folder(relative):
        raise InvalidInput(FILE_KEY_OUTSIDE_ASSET.format(value=file_key, base_key=base_key))
    return base_key + relative

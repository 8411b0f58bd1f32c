"""Checks for workflow requests: path parameters, query flags and the PUT body.

Every function here is pure (no database, no AWS). Body checks collect every
failure before raising, so one 400 lists all of them, one sentence each.
Checks that need stored pipelines take them as an argument.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from vams.api.parsers import BODY_TOO_DEEP, check_json_document
from vams.exceptions import InvalidInput
from workflows.statemachine import DEFAULT_EVENT_BUS, DEFAULT_EVENT_SOURCE

GLOBAL = "GLOBAL"

# Path parameters and the databaseId of bodies: 3 to 63 characters.
ID_PATTERN = re.compile(r"[-_a-zA-Z0-9]{3,63}")
# Path workflowId: the ID rule, widened to 64 so every stored workflow stays
# reachable (a PUT accepts workflow ids of up to 64 characters).
PATH_WORKFLOW_ID_PATTERN = re.compile(r"[-_a-zA-Z0-9]{3,64}")
# workflowId and pipeline names in a PUT body.
ENTITY_ID_PATTERN = re.compile(r"[-_a-zA-Z0-9]{4,64}")
FILE_EXTENSION_PATTERN = re.compile(r"\.[a-zA-Z0-9]{1,7}")
# https://sqs.<region>.amazonaws.com/<account>/<queue> in AWS. The local
# emulator serves http://127.0.0.1:<port>/<account>/<queue>.
SQS_QUEUE_URL_PATTERN = re.compile(
    r"https?://[A-Za-z0-9.\-\[\]:]+/[0-9]{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?"
)

DESCRIPTION_MIN_LENGTH = 4
DESCRIPTION_MAX_LENGTH = 256
# The column size of Workflow.auto_trigger_on_file_extensions_upload.
AUTO_TRIGGER_MAX_LENGTH = 512
TASK_TIMEOUT_MAX_SECONDS = 604800
MAX_SECONDS_DIGITS = 18
# The timeout a callback step gets when its entry sets no taskTimeout.
DEFAULT_TASK_TIMEOUT_SECONDS = 86400
# Each function entry becomes one Task state of the state machine, and every
# restart rebuilds it. Definitions far past this size take seconds to build and
# parse (2,000 entries took about 80 s on the embedded emulator), and no
# realistic chain of processing steps is that long.
MAX_PIPELINE_FUNCTIONS = 50

PIPELINE_TYPES = ("standardFile", "previewFile")
PIPELINE_EXECUTION_TYPES = ("Lambda", "SQS", "EventBridge")
CALLBACK_VALUES = ("Enabled", "Disabled")
# In the order the missing-field message lists them.
FUNCTION_REQUIRED_FIELDS = (
    "name",
    "databaseId",
    "pipelineType",
    "pipelineExecutionType",
    "outputType",
    "waitForCallback",
    "userProvidedResource",
)
SHOW_DELETED_VALUES = {
    "true": True,
    "1": True,
    "yes": True,
    "false": False,
    "0": False,
    "no": False,
    "": False,
}

ID_RULE_TEXT = "3 to 63 characters of letters, digits, '-' or '_'"
ENTITY_ID_RULE_TEXT = "4 to 64 characters of letters, digits, '-' or '_'"

BODY_REQUIRED = "Request body is required."
BODY_INVALID_JSON = "Invalid JSON in request body: {error}."
BODY_NOT_OBJECT = "Request body must be a JSON object; got {kind}."
FIELD_REQUIRED = "{field} is required."
FIELD_NOT_STRING = "{field} must be a string; got {value}."
PATH_DATABASE_ID_INVALID = (
    "databaseId must be GLOBAL or " + ID_RULE_TEXT + "; got {value}."
)
PATH_WORKFLOW_ID_INVALID = (
    "workflowId must be 3 to 64 characters of letters, digits, '-' or '_'; got {value}."
)
GLOBAL_NOT_CAPITALISED = "{field} must be written GLOBAL in capitals; got {value}."
GLOBAL_NOT_ALLOWED = "{field} must not be GLOBAL in any letter case; got {value}."
WORKFLOW_ID_INVALID = "workflowId must be " + ENTITY_ID_RULE_TEXT + "; got {value}."
DATABASE_ID_INVALID = "databaseId must be GLOBAL or " + ID_RULE_TEXT + "; got {value}."
DESCRIPTION_INVALID = "description must be 4 to 256 characters; got {length}."
SPECIFIED_PIPELINES_NOT_OBJECT = (
    "specifiedPipelines must be an object with a 'functions' list; got {value}."
)
FUNCTIONS_NOT_LIST = "specifiedPipelines.functions must be a list; got {value}."
FUNCTIONS_TOO_MANY = (
    "specifiedPipelines.functions must contain at most "
    + str(MAX_PIPELINE_FUNCTIONS)
    + " pipelines; got {count}."
)
FUNCTIONS_EMPTY = (
    "At least one pipeline function is required in specifiedPipelines.functions."
)
ENTRY_NOT_OBJECT = "Pipeline entry {index} must be an object; got {value}."
ENTRY_MISSING_FIELDS = "Pipeline entry {index} is missing required field(s): {fields}."
ENTRY_NOT_STRING = "Pipeline entry {index} {field} must be a string; got {value}."
ENTRY_NAME_INVALID = (
    "Pipeline entry {index} name must be " + ENTITY_ID_RULE_TEXT + "; got {value}."
)
ENTRY_NAME_GLOBAL = (
    "Pipeline entry {index} name must not be GLOBAL in any letter case; got {value}."
)
ENTRY_DATABASE_ID_INVALID = (
    "Pipeline entry {index} databaseId must be GLOBAL or "
    + ID_RULE_TEXT
    + "; got {value}."
)
ENTRY_DATABASE_ID_NOT_CAPITALISED = (
    "Pipeline entry {index} databaseId must be written GLOBAL in capitals; got {value}."
)
ENTRY_CHOICE_INVALID = "Pipeline entry {index} {field} must be {choices}; got {value}."
ENTRY_OUTPUT_TYPE_INVALID = (
    "Pipeline entry {index} outputType must be a dot followed by 1 to 7 letters "
    "or digits, such as .glb; got {value}."
)
ENTRY_RESOURCE_INVALID = (
    "Pipeline entry {index} userProvidedResource must be a string containing a "
    "JSON object; got {value}."
)
ENTRY_SQS_URL_INVALID = (
    "Pipeline entry {index} userProvidedResource resourceId must be an SQS queue "
    "URL such as https://sqs.us-east-1.amazonaws.com/123456789012/my-queue for an "
    "SQS pipeline; got {value}."
)
ENTRY_INPUT_PARAMETERS_INVALID = (
    "Pipeline entry {index} inputParameters must be empty or a string containing "
    "a JSON object; got {value}."
)
ENTRY_TASK_TIMEOUT_INVALID = (
    "Pipeline entry {index} taskTimeout must be a string of whole seconds from 1 "
    "to 604800; got {value}."
)
ENTRY_HEARTBEAT_INVALID = (
    "Pipeline entry {index} taskHeartbeatTimeout must be a string of whole seconds "
    "above 0 and below taskTimeout ({limit}); got {value}."
)
ENTRY_ONLY_GLOBAL = (
    "Pipeline entry {index} databaseId is {value}. Only global pipelines "
    "(databaseId GLOBAL) can be used in a GLOBAL workflow."
)
ENTRY_ONLY_GLOBAL_OR_SAME = (
    "Pipeline entry {index} databaseId is {value}. Only global pipelines or "
    "pipelines of database {database_id} can be used in this workflow."
)
ENTRY_PIPELINE_NOT_FOUND = (
    "Pipeline entry {index} name {name} does not match any pipeline in database "
    "{database_id}."
)
ENTRY_PIPELINE_MISMATCH = (
    "Pipeline entry {index} {field} is {value}, but pipeline {name} in database "
    "{database_id} has {field} {stored}."
)
ENTRY_RESOURCE_MISMATCH = (
    "Pipeline entry {index} userProvidedResource names resource {value}, but "
    "pipeline {name} in database {database_id} uses {stored}."
)
ENTRY_RESOURCE_FIELD_MISMATCH = (
    "Pipeline entry {index} userProvidedResource has {field} {value}, but "
    "pipeline {name} in database {database_id} uses {field} {stored}."
)
AUTO_TRIGGER_INVALID = (
    "Invalid autoTriggerOnFileExtensionsUpload format; got {value}. Use blank, "
    "'all', or comma-separated file extensions made of letters, digits, '-' or "
    "'_', such as 'jpg,png'."
)
AUTO_TRIGGER_TOO_LONG = (
    "autoTriggerOnFileExtensionsUpload must be at most 512 characters; got {length}."
)
SHOW_DELETED_INVALID = "showDeleted must be true, false, 1, 0, yes or no; got {value}."
BODY_CONTAINS_NUL = (
    "{where} contains a NUL character, which cannot be stored; remove it."
)


class AutoTrigger(Enum):
    """The auto-trigger setting that matches every uploaded file."""

    ALL = "all"


ALL_EXTENSIONS = AutoTrigger.ALL


@dataclass(frozen=True)
class PipelineFacts:
    """The stored fields of a live pipeline that a function entry must agree with."""

    pipeline_type: str
    pipeline_execution_type: str
    # The pipeline row's userProvidedResource text, a JSON object.
    user_provided_resource: str


# Path parameters and query flags.


def validate_path_database_id(value: str) -> str:
    """Return ``value`` if it is GLOBAL or follows the ID rule, else raise."""
    if value.strip().lower() == "global" and value != GLOBAL:
        raise InvalidInput(
            GLOBAL_NOT_CAPITALISED.format(field="databaseId", value=_show(value))
        )
    if value != GLOBAL and not ID_PATTERN.fullmatch(value):
        raise InvalidInput(PATH_DATABASE_ID_INVALID.format(value=_show(value)))
    return value


def validate_path_workflow_id(value: str) -> str:
    """Return ``value`` if it is a valid workflow id (never GLOBAL), else raise."""
    if value.strip().lower() == "global":
        raise InvalidInput(
            GLOBAL_NOT_ALLOWED.format(field="workflowId", value=_show(value))
        )
    if not PATH_WORKFLOW_ID_PATTERN.fullmatch(value):
        raise InvalidInput(PATH_WORKFLOW_ID_INVALID.format(value=_show(value)))
    return value


def parse_show_deleted(value: str | None) -> bool:
    """Return the showDeleted flag, False when absent or empty.

    Raises InvalidInput for text other than true, false, 1, 0, yes or no.
    """
    if value is None:
        return False
    flag = SHOW_DELETED_VALUES.get(value.strip().lower())
    if flag is None:
        raise InvalidInput(SHOW_DELETED_INVALID.format(value=_show(value)))
    return flag


# The PUT body.


def parse_workflow_body(raw: bytes | str) -> dict:
    """Return the PUT body as a dict.

    Raises InvalidInput when the body is empty, not JSON or not a JSON object.
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidInput(BODY_INVALID_JSON.format(error=error)) from None
    if not raw.strip():
        raise InvalidInput(BODY_REQUIRED)
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as error:
        raise InvalidInput(BODY_INVALID_JSON.format(error=error)) from None
    except RecursionError:
        raise InvalidInput(BODY_TOO_DEEP) from None
    check_json_document(body)
    if body is None:
        raise InvalidInput(BODY_REQUIRED)
    if not isinstance(body, dict):
        raise InvalidInput(BODY_NOT_OBJECT.format(kind=_kind(body)))
    return body


def validate_workflow_body(body: dict) -> None:
    """Check every field of a PUT body, raising one InvalidInput for all failures."""
    errors = workflow_body_errors(body)
    if errors:
        raise InvalidInput(" ".join(errors))


def workflow_body_errors(body: dict) -> list[str]:
    """Return one sentence per failed rule of a PUT body, in field order."""
    errors: list[str] = []
    errors += _workflow_id_errors(body.get("workflowId"))
    errors += _database_id_errors(body.get("databaseId"))
    errors += _description_errors(body.get("description"))
    # The scope rules for pipeline entries apply only against a valid databaseId.
    database_id = body.get("databaseId")
    scope = None if _database_id_errors(database_id) else database_id
    errors += _specified_pipelines_errors(body.get("specifiedPipelines"), scope)
    errors += _auto_trigger_errors(body.get("autoTriggerOnFileExtensionsUpload"))
    errors += _nul_errors(body, "")
    return errors


def _nul_errors(value: Any, path: str) -> list[str]:
    """Return one sentence per key or text in ``value`` that contains a NUL character.

    The body is stored whole, unknown keys included, and PostgreSQL text and
    jsonb columns reject NUL, so such a body would fail only when saved.
    """
    errors: list[str] = []
    if isinstance(value, str) and "\x00" in value:
        errors.append(BODY_CONTAINS_NUL.format(where=path or "The body"))
    elif isinstance(value, dict):
        for key, item in value.items():
            shown_key = str(key).replace("\x00", "\\x00")
            key_path = f"{path}.{shown_key}" if path else shown_key
            if "\x00" in str(key):
                errors.append(BODY_CONTAINS_NUL.format(where=f"The key '{key_path}'"))
            errors += _nul_errors(item, key_path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            errors += _nul_errors(item, f"{path}[{index}]")
    return errors


def _workflow_id_errors(value: Any) -> list[str]:
    if _is_missing(value):
        return [FIELD_REQUIRED.format(field="workflowId")]
    if not isinstance(value, str):
        return [FIELD_NOT_STRING.format(field="workflowId", value=_show(value))]
    if value.strip().lower() == "global":
        return [GLOBAL_NOT_ALLOWED.format(field="workflowId", value=_show(value))]
    if not ENTITY_ID_PATTERN.fullmatch(value):
        return [WORKFLOW_ID_INVALID.format(value=_show(value))]
    return []


def _database_id_errors(value: Any) -> list[str]:
    if _is_missing(value):
        return [FIELD_REQUIRED.format(field="databaseId")]
    if not isinstance(value, str):
        return [FIELD_NOT_STRING.format(field="databaseId", value=_show(value))]
    if value.strip().lower() == "global" and value != GLOBAL:
        return [GLOBAL_NOT_CAPITALISED.format(field="databaseId", value=_show(value))]
    if value != GLOBAL and not ID_PATTERN.fullmatch(value):
        return [DATABASE_ID_INVALID.format(value=_show(value))]
    return []


def _description_errors(value: Any) -> list[str]:
    if _is_missing(value):
        return [FIELD_REQUIRED.format(field="description")]
    if not isinstance(value, str):
        return [FIELD_NOT_STRING.format(field="description", value=_show(value))]
    if not DESCRIPTION_MIN_LENGTH <= len(value) <= DESCRIPTION_MAX_LENGTH:
        return [DESCRIPTION_INVALID.format(length=len(value))]
    return []


def _specified_pipelines_errors(
    value: Any, workflow_database_id: str | None
) -> list[str]:
    if value is None:
        return [FIELD_REQUIRED.format(field="specifiedPipelines")]
    if not isinstance(value, dict):
        return [SPECIFIED_PIPELINES_NOT_OBJECT.format(value=_show(value))]
    functions = value.get("functions")
    if functions is None or functions == []:
        return [FUNCTIONS_EMPTY]
    if not isinstance(functions, list):
        return [FUNCTIONS_NOT_LIST.format(value=_show(functions))]
    if len(functions) > MAX_PIPELINE_FUNCTIONS:
        return [FUNCTIONS_TOO_MANY.format(count=len(functions))]
    errors: list[str] = []
    for index, entry in enumerate(functions):
        errors += function_entry_errors(index, entry, workflow_database_id)
    return errors


def function_entry_errors(
    index: int, entry: Any, workflow_database_id: str | None
) -> list[str]:
    """Return the failures of one ``specifiedPipelines.functions`` entry.

    ``workflow_database_id`` is the workflow's valid databaseId, or None to
    skip the rule on which databases the entry may come from.
    """
    if not isinstance(entry, dict):
        return [ENTRY_NOT_OBJECT.format(index=index, value=_show(entry))]
    missing = [
        field for field in FUNCTION_REQUIRED_FIELDS if _is_missing(entry.get(field))
    ]
    errors: list[str] = []
    if missing:
        errors.append(
            ENTRY_MISSING_FIELDS.format(index=index, fields=", ".join(missing))
        )

    for field in (
        *FUNCTION_REQUIRED_FIELDS,
        "inputParameters",
        "taskTimeout",
        "taskHeartbeatTimeout",
    ):
        value = entry.get(field)
        if value is not None and not isinstance(value, str):
            errors.append(
                ENTRY_NOT_STRING.format(index=index, field=field, value=_show(value))
            )
    strings = {
        field: value
        for field, value in entry.items()
        if isinstance(value, str) and value != ""
    }

    errors += _entry_name_errors(index, strings.get("name"))
    errors += _entry_database_id_errors(
        index, strings.get("databaseId"), workflow_database_id
    )
    errors += _entry_choice_errors(
        index, "pipelineType", strings.get("pipelineType"), PIPELINE_TYPES
    )
    errors += _entry_choice_errors(
        index,
        "pipelineExecutionType",
        strings.get("pipelineExecutionType"),
        PIPELINE_EXECUTION_TYPES,
    )
    output_type = strings.get("outputType")
    if output_type is not None and not FILE_EXTENSION_PATTERN.fullmatch(output_type):
        errors.append(
            ENTRY_OUTPUT_TYPE_INVALID.format(index=index, value=_show(output_type))
        )
    errors += _entry_choice_errors(
        index, "waitForCallback", strings.get("waitForCallback"), CALLBACK_VALUES
    )
    errors += _entry_resource_errors(
        index, strings.get("userProvidedResource"), strings.get("pipelineExecutionType")
    )
    input_parameters = strings.get("inputParameters")
    if input_parameters is not None and _json_object(input_parameters) is None:
        errors.append(
            ENTRY_INPUT_PARAMETERS_INVALID.format(
                index=index, value=_show(input_parameters)
            )
        )
    errors += _entry_timeout_errors(
        index, strings.get("taskTimeout"), strings.get("taskHeartbeatTimeout")
    )
    return errors


def _entry_name_errors(index: int, name: str | None) -> list[str]:
    if name is None:
        return []
    if name.strip().lower() == "global":
        return [ENTRY_NAME_GLOBAL.format(index=index, value=_show(name))]
    if not ENTITY_ID_PATTERN.fullmatch(name):
        return [ENTRY_NAME_INVALID.format(index=index, value=_show(name))]
    return []


def _entry_database_id_errors(
    index: int, value: str | None, workflow_database_id: str | None
) -> list[str]:
    if value is None:
        return []
    if value.strip().lower() == "global" and value != GLOBAL:
        return [
            ENTRY_DATABASE_ID_NOT_CAPITALISED.format(index=index, value=_show(value))
        ]
    if value != GLOBAL and not ID_PATTERN.fullmatch(value):
        return [ENTRY_DATABASE_ID_INVALID.format(index=index, value=_show(value))]
    if workflow_database_id == GLOBAL and value != GLOBAL:
        return [ENTRY_ONLY_GLOBAL.format(index=index, value=_show(value))]
    if workflow_database_id is not None and value not in (GLOBAL, workflow_database_id):
        return [
            ENTRY_ONLY_GLOBAL_OR_SAME.format(
                index=index, value=_show(value), database_id=_show(workflow_database_id)
            )
        ]
    return []


def _entry_choice_errors(
    index: int, field: str, value: str | None, choices: tuple[str, ...]
) -> list[str]:
    if value is None or value in choices:
        return []
    return [
        ENTRY_CHOICE_INVALID.format(
            index=index, field=field, choices=_or_list(choices), value=_show(value)
        )
    ]


def _entry_resource_errors(
    index: int, value: str | None, execution_type: str | None
) -> list[str]:
    if value is None:
        return []
    resource = _json_object(value)
    if resource is None:
        return [ENTRY_RESOURCE_INVALID.format(index=index, value=_show(value))]
    if execution_type == "SQS":
        queue_url = resource.get("resourceId")
        if not isinstance(queue_url, str) or not SQS_QUEUE_URL_PATTERN.fullmatch(
            queue_url
        ):
            return [ENTRY_SQS_URL_INVALID.format(index=index, value=_show(queue_url))]
    return []


def _entry_timeout_errors(
    index: int, timeout: str | None, heartbeat: str | None
) -> list[str]:
    errors: list[str] = []
    timeout_seconds = None
    if timeout is not None:
        timeout_seconds = _whole_seconds(timeout)
        if (
            timeout_seconds is None
            or not 1 <= timeout_seconds <= TASK_TIMEOUT_MAX_SECONDS
        ):
            errors.append(
                ENTRY_TASK_TIMEOUT_INVALID.format(index=index, value=_show(timeout))
            )
            timeout_seconds = None
    if heartbeat is not None:
        # Without a valid taskTimeout, the step runs with the default timeout.
        limit = timeout_seconds or DEFAULT_TASK_TIMEOUT_SECONDS
        heartbeat_seconds = _whole_seconds(heartbeat)
        if heartbeat_seconds is None or not 0 < heartbeat_seconds < limit:
            errors.append(
                ENTRY_HEARTBEAT_INVALID.format(
                    index=index, limit=limit, value=_show(heartbeat)
                )
            )
    return errors


def _auto_trigger_errors(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str):
        return [
            FIELD_NOT_STRING.format(
                field="autoTriggerOnFileExtensionsUpload", value=_show(value)
            )
        ]
    if len(value) > AUTO_TRIGGER_MAX_LENGTH:
        return [AUTO_TRIGGER_TOO_LONG.format(length=len(value))]
    if _is_all(value):
        return []
    for piece in value.split(","):
        extension = _normalise_extension(piece)
        if extension and not _is_extension(extension):
            return [AUTO_TRIGGER_INVALID.format(value=_show(value))]
    return []


# Checks against stored pipelines.


def pipeline_reference_errors(
    functions: list[dict], pipelines: Mapping[tuple[str, str], PipelineFacts]
) -> list[str]:
    """Return a sentence for each entry whose pipeline is missing or disagrees with it.

    ``functions`` must already have passed ``validate_workflow_body``.
    ``pipelines`` maps (databaseId, pipelineId) of live pipelines to their facts.
    Each entry is looked up under its own databaseId.
    """
    errors: list[str] = []
    for index, entry in enumerate(functions):
        name = entry["name"]
        database_id = entry["databaseId"]
        facts = pipelines.get((database_id, name))
        if facts is None:
            errors.append(
                ENTRY_PIPELINE_NOT_FOUND.format(
                    index=index, name=_show(name), database_id=_show(database_id)
                )
            )
            continue
        for field, stored in (
            ("pipelineType", facts.pipeline_type),
            ("pipelineExecutionType", facts.pipeline_execution_type),
        ):
            if entry[field] != stored:
                errors.append(
                    ENTRY_PIPELINE_MISMATCH.format(
                        index=index,
                        field=field,
                        value=_show(entry[field]),
                        name=_show(name),
                        database_id=_show(database_id),
                        stored=_show(stored),
                    )
                )
        errors += _resource_mismatch_errors(index, entry, facts)
    return errors


def _resource_mismatch_errors(
    index: int, entry: dict, facts: PipelineFacts
) -> list[str]:
    """Return a sentence for each target of ``entry`` that differs from its pipeline's.

    The entry's userProvidedResource decides where the state machine sends
    work, so it must name the pipeline's own resource. Values are compared as
    parsed JSON, and a missing or empty key counts as the value the state
    machine uses in its place.
    """
    execution_type = facts.pipeline_execution_type
    entry_resource = _json_object(entry["userProvidedResource"]) or {}
    # NOTE: a stored resource that is not a JSON object compares as {}, so
    # every entry that names a resourceId is then rejected.
    stored_resource = _json_object(facts.user_provided_resource) or {}
    default_resource_id = DEFAULT_EVENT_BUS if execution_type == "EventBridge" else ""
    entry_fields = {
        "index": index,
        "name": _show(entry["name"]),
        "database_id": _show(entry["databaseId"]),
    }

    errors: list[str] = []
    value = entry_resource.get("resourceId") or default_resource_id
    stored = stored_resource.get("resourceId") or default_resource_id
    if value != stored:
        errors.append(
            ENTRY_RESOURCE_MISMATCH.format(
                value=_show(value), stored=_show(stored), **entry_fields
            )
        )
    if execution_type != "EventBridge":
        return errors

    defaults = {"eventSource": DEFAULT_EVENT_SOURCE, "eventDetailType": entry["name"]}
    for field, default in defaults.items():
        stored = stored_resource.get(field)
        # A pipeline that leaves the field out accepts any value in the entry.
        if not stored:
            continue
        value = entry_resource.get(field) or default
        if value != stored:
            errors.append(
                ENTRY_RESOURCE_FIELD_MISMATCH.format(
                    field=field,
                    value=_show(value),
                    stored=_show(stored),
                    **entry_fields,
                )
            )
    return errors


# Auto-trigger matching, shared with the upload handling of the executions app.


def parse_auto_trigger_extensions(value: str | None) -> set[str] | AutoTrigger:
    """Return the extensions that trigger a workflow on upload, or ALL_EXTENSIONS.

    Blank returns an empty set (never triggers). ``all`` or ``.all`` in any
    case returns ALL_EXTENSIONS. Otherwise the value is split on commas and
    each entry is trimmed, stripped of leading dots and lower-cased. Empty and
    invalid entries are dropped, so ``.JPG, png`` gives ``{"jpg", "png"}``.
    """
    if not value or not value.strip():
        return set()
    if _is_all(value):
        return ALL_EXTENSIONS
    extensions = set()
    for piece in value.split(","):
        extension = _normalise_extension(piece)
        if extension and _is_extension(extension):
            extensions.add(extension)
    return extensions


def auto_trigger_matches(value: str | None, relative_path: str) -> bool:
    """Return True when a file at ``relative_path`` triggers a workflow with ``value``.

    The file's extension is the text after the last dot of the path, lower-cased.
    A path without a dot matches only ``all``.
    """
    extensions = parse_auto_trigger_extensions(value)
    if extensions is ALL_EXTENSIONS:
        return True
    if "." not in relative_path:
        return False
    return relative_path.rsplit(".", 1)[-1].lower() in extensions


def _is_all(value: str) -> bool:
    return value.strip().lower() in ("all", ".all")


def _normalise_extension(piece: str) -> str:
    return piece.strip().lstrip(".").lower()


def _is_extension(extension: str) -> bool:
    # str.isalnum accepts non-ASCII letters and digits too, as VAMS does.
    return all(character.isalnum() or character in "-_" for character in extension)


# Helpers.


def _is_missing(value: Any) -> bool:
    return value is None or value == ""


def _whole_seconds(text: str) -> int | None:
    stripped = text.strip()
    if not re.fullmatch(r"[0-9]+", stripped):
        return None
    digits = stripped.lstrip("0")
    # More digits are far over every limit, and int() raises ValueError for
    # strings of more than 4300 digits.
    if len(digits) > MAX_SECONDS_DIGITS:
        return None
    return int(digits or "0")


def _json_object(text: str) -> dict | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _or_list(choices: tuple[str, ...]) -> str:
    return ", ".join(choices[:-1]) + " or " + choices[-1]


def _kind(value: Any) -> str:
    names = {
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }
    return names.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    """Return ``value`` for a message, as quoted text or JSON, cut to 80 characters."""
    if isinstance(value, str):
        text = repr(value)
    else:
        text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."

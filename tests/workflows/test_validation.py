"""The pure checks in workflows.validation."""

import json

import pytest

from vams.exceptions import InvalidInput
from workflows import validation as v

FUNCTION = {
    "name": "3d-conversion-pipeline",
    "databaseId": "GLOBAL",
    "pipelineType": "standardFile",
    "pipelineExecutionType": "Lambda",
    "outputType": ".gltf",
    "waitForCallback": "Disabled",
    "userProvidedResource": json.dumps({"resourceId": "vams-3dconversion"}),
}
BODY = {
    "workflowId": "convert-and-preview",
    "databaseId": "my-database",
    "description": "Convert 3D files",
    "specifiedPipelines": {"functions": [FUNCTION]},
}
FACTS = {
    ("GLOBAL", "3d-conversion-pipeline"): v.PipelineFacts(
        "standardFile",
        "Lambda",
        json.dumps({"resourceId": "vams-3dconversion", "resourceType": "Lambda"}),
    )
}
EVENT_PIPELINE = {
    **FUNCTION,
    "name": "event-pipeline",
    "pipelineExecutionType": "EventBridge",
    "userProvidedResource": json.dumps(
        {"resourceId": "vams-bus", "eventSource": "vams.worker"}
    ),
}
EVENT_FACTS = {
    ("GLOBAL", "event-pipeline"): v.PipelineFacts(
        "standardFile", "EventBridge", EVENT_PIPELINE["userProvidedResource"]
    )
}


def test_validation_valid_body_has_no_errors():
    assert v.workflow_body_errors(BODY) == []


def test_validation_collects_errors_without_early_exit():
    body = {**BODY, "workflowId": "ab", "databaseId": "GLOBAL", "description": "x"}

    errors = v.workflow_body_errors(body)

    assert errors == [
        v.WORKFLOW_ID_INVALID.format(value="'ab'"),
        v.DESCRIPTION_INVALID.format(length=1),
    ]


def test_validation_raises_one_message_with_every_error():
    body = {**BODY, "workflowId": "ab", "description": "x"}

    with pytest.raises(InvalidInput) as raised:
        v.validate_workflow_body(body)

    assert raised.value.message == " ".join(
        [
            v.WORKFLOW_ID_INVALID.format(value="'ab'"),
            v.DESCRIPTION_INVALID.format(length=1),
        ]
    )


def test_validation_scope_rule_skipped_for_invalid_database_id():
    body = {**BODY, "databaseId": "x"}

    assert v.workflow_body_errors(body) == [v.DATABASE_ID_INVALID.format(value="'x'")]


def test_validation_entry_reports_each_bad_field():
    entry = {**FUNCTION, "outputType": "gltf", "pipelineType": "x", "taskTimeout": "0"}

    errors = v.function_entry_errors(3, entry, "my-database")

    assert len(errors) == 3
    assert all(error.startswith("Pipeline entry 3 ") for error in errors)


def test_validation_heartbeat_without_timeout_uses_default():
    entry = {**FUNCTION, "waitForCallback": "Enabled", "taskHeartbeatTimeout": "86400"}

    errors = v.function_entry_errors(0, entry, "my-database")

    assert errors == [
        v.ENTRY_HEARTBEAT_INVALID.format(index=0, limit=86400, value="'86400'")
    ]


def test_validation_heartbeat_below_default_accepted():
    entry = {**FUNCTION, "waitForCallback": "Enabled", "taskHeartbeatTimeout": "86399"}

    assert v.function_entry_errors(0, entry, "my-database") == []


def test_validation_empty_input_parameters_allowed():
    entry = {**FUNCTION, "inputParameters": ""}

    assert v.function_entry_errors(0, entry, "my-database") == []


@pytest.mark.parametrize(
    "url",
    [
        "https://sqs.us-east-1.amazonaws.com/123456789012/vams-queue",
        "https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo",
        "http://127.0.0.1:4566/123456789012/vams-queue",
    ],
)
def test_validation_sqs_queue_url_accepted(url):
    entry = {
        **FUNCTION,
        "pipelineExecutionType": "SQS",
        "userProvidedResource": json.dumps({"resourceId": url}),
    }

    assert v.function_entry_errors(0, entry, "my-database") == []


@pytest.mark.parametrize(
    "url",
    [
        "vams-queue",
        "https://sqs.amazonaws.com/vams-queue",
        "ftp://host/123456789012/q",
        None,
    ],
)
def test_validation_sqs_queue_url_rejected(url):
    entry = {
        **FUNCTION,
        "pipelineExecutionType": "SQS",
        "userProvidedResource": json.dumps({"resourceId": url}),
    }

    errors = v.function_entry_errors(0, entry, "my-database")

    assert errors == [v.ENTRY_SQS_URL_INVALID.format(index=0, value=v._show(url))]


def test_validation_pipeline_reference_found():
    assert v.pipeline_reference_errors([FUNCTION], FACTS) == []


def test_validation_pipeline_reference_missing():
    entry = {**FUNCTION, "databaseId": "my-database"}

    errors = v.pipeline_reference_errors([FUNCTION, entry], FACTS)

    assert errors == [
        v.ENTRY_PIPELINE_NOT_FOUND.format(
            index=1, name="'3d-conversion-pipeline'", database_id="'my-database'"
        )
    ]


def test_validation_pipeline_reference_reports_both_mismatches():
    entry = {**FUNCTION, "pipelineType": "previewFile", "pipelineExecutionType": "SQS"}

    errors = v.pipeline_reference_errors([entry], FACTS)

    assert len(errors) == 2
    assert "pipelineType is 'previewFile'" in errors[0]
    assert "pipelineExecutionType is 'SQS'" in errors[1]


def event_facts(stored_resource: str) -> dict:
    pipeline = v.PipelineFacts("standardFile", "EventBridge", stored_resource)
    return {("GLOBAL", "event-pipeline"): pipeline}


def test_validation_resource_compares_parsed_json():
    # Other keys, key order and spacing differ, but the resourceId is the same.
    resource = '{ "isProvided": true,"resourceId":"vams-3dconversion"}'
    entry = {**FUNCTION, "userProvidedResource": resource}

    assert v.pipeline_reference_errors([entry], FACTS) == []


def test_validation_resource_id_mismatch():
    entry = {**FUNCTION, "userProvidedResource": json.dumps({"resourceId": "other"})}

    errors = v.pipeline_reference_errors([entry], FACTS)

    assert errors == [
        v.ENTRY_RESOURCE_MISMATCH.format(
            index=0,
            value="'other'",
            name="'3d-conversion-pipeline'",
            database_id="'GLOBAL'",
            stored="'vams-3dconversion'",
        )
    ]


def test_validation_resource_id_missing_in_entry():
    entry = {**FUNCTION, "userProvidedResource": "{}"}

    errors = v.pipeline_reference_errors([entry], FACTS)

    assert len(errors) == 1
    assert "names resource '', but" in errors[0]


def test_validation_event_source_mismatch():
    entry = {
        **EVENT_PIPELINE,
        "userProvidedResource": json.dumps(
            {"resourceId": "vams-bus", "eventSource": "other.source"}
        ),
    }

    errors = v.pipeline_reference_errors([entry], EVENT_FACTS)

    assert errors == [
        v.ENTRY_RESOURCE_FIELD_MISMATCH.format(
            index=0,
            field="eventSource",
            value="'other.source'",
            name="'event-pipeline'",
            database_id="'GLOBAL'",
            stored="'vams.worker'",
        )
    ]


def test_validation_event_source_missing_uses_default():
    resource = json.dumps({"resourceId": "vams-bus"})
    entry = {**EVENT_PIPELINE, "userProvidedResource": resource}

    errors = v.pipeline_reference_errors([entry], EVENT_FACTS)

    assert len(errors) == 1
    assert "eventSource 'vams.pipeline', but" in errors[0]


def test_validation_event_detail_type_default_is_name():
    stored = json.dumps({"eventDetailType": "event-pipeline"})
    facts = event_facts(stored)
    entry = {**EVENT_PIPELINE, "userProvidedResource": "{}"}
    other = {**entry, "userProvidedResource": json.dumps({"eventDetailType": "other"})}

    assert v.pipeline_reference_errors([entry], facts) == []
    errors = v.pipeline_reference_errors([other], facts)
    assert len(errors) == 1
    assert "eventDetailType 'other', but" in errors[0]


def test_validation_event_bus_missing_equals_default():
    stored = json.dumps({"resourceId": "default"})
    facts = event_facts(stored)
    entry = {**EVENT_PIPELINE, "userProvidedResource": "{}"}

    assert v.pipeline_reference_errors([entry], facts) == []


def test_validation_event_fields_unset_in_pipeline_are_free():
    stored = json.dumps({"resourceId": "vams-bus"})
    facts = event_facts(stored)

    assert v.pipeline_reference_errors([EVENT_PIPELINE], facts) == []


def test_validation_functions_at_limit_pass():
    functions = [FUNCTION] * v.MAX_PIPELINE_FUNCTIONS
    body = {**BODY, "specifiedPipelines": {"functions": functions}}

    assert v.workflow_body_errors(body) == []


def test_validation_functions_over_limit():
    functions = [FUNCTION] * (v.MAX_PIPELINE_FUNCTIONS + 1)
    body = {**BODY, "specifiedPipelines": {"functions": functions}}

    errors = v.workflow_body_errors(body)

    assert errors == [v.FUNCTIONS_TOO_MANY.format(count=51)]
    assert errors[0] == (
        "specifiedPipelines.functions must contain at most 50 pipelines; got 51."
    )


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", v.BODY_REQUIRED),
        ("   ", v.BODY_REQUIRED),
        (b"null", v.BODY_REQUIRED),
        (b'"text"', v.BODY_NOT_OBJECT.format(kind="a string")),
        (b"3", v.BODY_NOT_OBJECT.format(kind="a number")),
    ],
)
def test_validation_parse_body_rejects(raw, message):
    with pytest.raises(InvalidInput) as raised:
        v.parse_workflow_body(raw)

    assert raised.value.message == message


def test_validation_parse_body_rejects_invalid_json():
    with pytest.raises(InvalidInput) as raised:
        v.parse_workflow_body(b"{")

    assert raised.value.message.startswith("Invalid JSON in request body")


def test_validation_parse_body_returns_object():
    assert v.parse_workflow_body(b'{"a": 1}') == {"a": 1}


@pytest.mark.parametrize("value", ["GLOBAL", "db-a", "abc", "a" * 63, "A_b-9"])
def test_validation_path_database_id_accepted(value):
    assert v.validate_path_database_id(value) == value


@pytest.mark.parametrize(
    "value", ["ab", "a" * 64, "global", " GLOBAL", "db a", "db/a", ""]
)
def test_validation_path_database_id_rejected(value):
    with pytest.raises(InvalidInput) as raised:
        v.validate_path_database_id(value)

    assert raised.value.message.startswith("databaseId must")


@pytest.mark.parametrize("value", ["abc", "w" * 64, "wf_1-A"])
def test_validation_path_workflow_id_accepted(value):
    assert v.validate_path_workflow_id(value) == value


@pytest.mark.parametrize("value", ["ab", "w" * 65, "GLOBAL", "Global", "wf 1"])
def test_validation_path_workflow_id_rejected(value):
    with pytest.raises(InvalidInput) as raised:
        v.validate_path_workflow_id(value)

    assert raised.value.message.startswith("workflowId must")


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, False),
        ("", False),
        ("true", True),
        ("TrUe", True),
        ("1", True),
        ("YES", True),
        ("false", False),
        ("0", False),
        ("No", False),
    ],
)
def test_validation_parse_show_deleted(value, expected):
    assert v.parse_show_deleted(value) is expected


@pytest.mark.parametrize("value", ["maybe", "2", "on", "t"])
def test_validation_parse_show_deleted_rejects(value):
    with pytest.raises(InvalidInput):
        v.parse_show_deleted(value)


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, set()),
        ("", set()),
        ("  ", set()),
        (" , ,", set()),
        ("jpg,png", {"jpg", "png"}),
        (".JPG, png", {"jpg", "png"}),
        ("..glb", {"glb"}),
        ("e57,las-x,my_ext", {"e57", "las-x", "my_ext"}),
        ("jpg,j.pg,tar.gz,*.png", {"jpg"}),
    ],
)
def test_validation_parse_auto_trigger_extensions(value, expected):
    assert v.parse_auto_trigger_extensions(value) == expected


@pytest.mark.parametrize("value", ["all", "ALL", " .all ", ".All"])
def test_validation_parse_auto_trigger_all(value):
    assert v.parse_auto_trigger_extensions(value) is v.ALL_EXTENSIONS


@pytest.mark.parametrize(
    "value, path, expected",
    [
        (".JPG,png", "/photos/photo.jpg", True),
        ("gz", "/a.tar.gz", True),
        ("tar.gz", "/a.tar.gz", False),
        ("all", "/README", True),
        ("jpg", "/README", False),
        ("", "/photo.jpg", False),
        ("obj", "/part.OBJ", True),
    ],
)
def test_validation_auto_trigger_matches(value, path, expected):
    assert v.auto_trigger_matches(value, path) is expected

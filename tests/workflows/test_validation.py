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
    ("GLOBAL", "3d-conversion-pipeline"): v.PipelineFacts("standardFile", "Lambda")
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

"""PUT /workflows: one test per validation rule, each checking nothing was stored."""

import json

import pytest

from tests.factories import function_entry, make_pipeline, workflow_body
from workflows import validation as v
from workflows.models import Workflow

SQS_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/vams-queue"


@pytest.fixture
def pipeline(db):
    return make_pipeline("3d-conversion-pipeline", database_id="GLOBAL")


def put(api_client, body):
    return api_client.put("/workflows", body, format="json")


def assert_rejected(response, message: str) -> None:
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert not Workflow.all_objects.exists()


def test_put_empty_body_is_required(api_client, pipeline):
    response = api_client.put("/workflows", b"", content_type="application/json")

    assert_rejected(response, v.BODY_REQUIRED)


def test_put_whitespace_body_is_required(api_client, pipeline):
    response = api_client.put("/workflows", b"  \n", content_type="application/json")

    assert_rejected(response, v.BODY_REQUIRED)


def test_put_null_body_is_required(api_client, pipeline):
    response = api_client.put("/workflows", b"null", content_type="application/json")

    assert_rejected(response, v.BODY_REQUIRED)


def test_put_invalid_json_is_rejected(api_client, pipeline):
    response = api_client.put(
        "/workflows", b"{not json", content_type="application/json"
    )

    assert_rejected(response, "Invalid JSON in request body")


def test_put_json_list_is_rejected(api_client, pipeline):
    response = api_client.put("/workflows", b"[1, 2]", content_type="application/json")

    assert_rejected(response, v.BODY_NOT_OBJECT.format(kind="a list"))


def test_put_non_utf8_body_is_rejected(api_client, pipeline):
    response = api_client.put(
        "/workflows", b"\xff\xfe{", content_type="application/json"
    )

    assert_rejected(response, "Invalid JSON in request body")


def test_put_empty_object_names_each_field(api_client, pipeline):
    response = put(api_client, {})

    assert_rejected(response, "workflowId is required.")
    message = response.json()["message"]
    assert "databaseId is required." in message
    assert "description is required." in message
    assert "specifiedPipelines is required." in message


# (field, bad value, expected message) for top-level fields.
TOP_LEVEL_CASES = [
    ("workflowId", None, "workflowId is required."),
    ("workflowId", "", "workflowId is required."),
    ("workflowId", 42, v.FIELD_NOT_STRING.format(field="workflowId", value="42")),
    ("workflowId", "abc", v.WORKFLOW_ID_INVALID.format(value="'abc'")),
    ("workflowId", "a" * 65, v.WORKFLOW_ID_INVALID.format(value=repr("a" * 65))),
    ("workflowId", "bad id!", v.WORKFLOW_ID_INVALID.format(value="'bad id!'")),
    (
        "workflowId",
        "GLOBAL",
        v.GLOBAL_NOT_ALLOWED.format(field="workflowId", value="'GLOBAL'"),
    ),
    (
        "workflowId",
        "global",
        v.GLOBAL_NOT_ALLOWED.format(field="workflowId", value="'global'"),
    ),
    ("databaseId", None, "databaseId is required."),
    ("databaseId", "ab", v.DATABASE_ID_INVALID.format(value="'ab'")),
    ("databaseId", "a" * 64, v.DATABASE_ID_INVALID.format(value=repr("a" * 64))),
    ("databaseId", "db#x", v.DATABASE_ID_INVALID.format(value="'db#x'")),
    (
        "databaseId",
        "Global",
        v.GLOBAL_NOT_CAPITALISED.format(field="databaseId", value="'Global'"),
    ),
    ("description", None, "description is required."),
    ("description", "abc", v.DESCRIPTION_INVALID.format(length=3)),
    ("description", "x" * 257, v.DESCRIPTION_INVALID.format(length=257)),
    (
        "description",
        ["text"],
        v.FIELD_NOT_STRING.format(field="description", value='["text"]'),
    ),
    ("specifiedPipelines", None, "specifiedPipelines is required."),
    ("specifiedPipelines", [], v.SPECIFIED_PIPELINES_NOT_OBJECT.format(value="[]")),
    ("specifiedPipelines", {}, v.FUNCTIONS_EMPTY),
    ("specifiedPipelines", {"functions": []}, v.FUNCTIONS_EMPTY),
    (
        "specifiedPipelines",
        {"functions": "x"},
        v.FUNCTIONS_NOT_LIST.format(value="'x'"),
    ),
    (
        "specifiedPipelines",
        {"functions": ["x"]},
        v.ENTRY_NOT_OBJECT.format(index=0, value="'x'"),
    ),
    (
        "autoTriggerOnFileExtensionsUpload",
        7,
        v.FIELD_NOT_STRING.format(field="autoTriggerOnFileExtensionsUpload", value="7"),
    ),
    (
        "autoTriggerOnFileExtensionsUpload",
        "jpg," * 130,
        v.AUTO_TRIGGER_TOO_LONG.format(length=520),
    ),
]


@pytest.mark.parametrize("field, value, message", TOP_LEVEL_CASES)
def test_put_rejects_bad_top_level_field(api_client, pipeline, field, value, message):
    body = workflow_body()
    body[field] = value

    response = put(api_client, body)

    assert_rejected(response, message)


@pytest.mark.parametrize(
    "value", ["j.pg", "jpg;png", "*.jpg", "tar.gz", "j pg", "png,j.pg"]
)
def test_put_rejects_bad_auto_trigger(api_client, pipeline, value):
    response = put(api_client, workflow_body(autoTriggerOnFileExtensionsUpload=value))

    assert_rejected(response, v.AUTO_TRIGGER_INVALID.format(value=repr(value)))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "all",
        "ALL",
        ".all",
        "jpg,png",
        ".JPG, .png",
        "..glb",
        " , ,",
        "e57,las-x,my_ext",
    ],
)
def test_put_accepts_auto_trigger_and_stores_it_raw(api_client, pipeline, value):
    response = put(api_client, workflow_body(autoTriggerOnFileExtensionsUpload=value))

    assert response.status_code == 200
    stored = Workflow.objects.get(workflow_id="convert-and-preview")
    assert stored.auto_trigger_on_file_extensions_upload == value


def test_put_accepts_null_auto_trigger_as_blank(api_client, pipeline):
    response = put(api_client, workflow_body(autoTriggerOnFileExtensionsUpload=None))

    assert response.status_code == 200
    stored = Workflow.objects.get(workflow_id="convert-and-preview")
    assert stored.auto_trigger_on_file_extensions_upload == ""


def test_put_accepts_64_character_workflow_id(api_client, pipeline):
    workflow_id = "w" * 64

    response = put(api_client, workflow_body(workflow_id=workflow_id))

    assert response.status_code == 200
    get = api_client.get(f"/database/my-database/workflows/{workflow_id}")
    assert get.status_code == 200


def test_put_accepts_global_workflow_with_global_pipeline(api_client, pipeline):
    response = put(api_client, workflow_body(database_id="GLOBAL"))

    assert response.status_code == 200
    assert Workflow.objects.filter(database_id="GLOBAL").count() == 1


# (entry field, bad value, expected message) for function entries.
ENTRY_CASES = [
    ("name", "abc", v.ENTRY_NAME_INVALID.format(index=0, value="'abc'")),
    ("name", "bad name", v.ENTRY_NAME_INVALID.format(index=0, value="'bad name'")),
    ("name", "Global", v.ENTRY_NAME_GLOBAL.format(index=0, value="'Global'")),
    ("name", 12345, v.ENTRY_NOT_STRING.format(index=0, field="name", value="12345")),
    ("databaseId", "x", v.ENTRY_DATABASE_ID_INVALID.format(index=0, value="'x'")),
    (
        "databaseId",
        "global",
        v.ENTRY_DATABASE_ID_NOT_CAPITALISED.format(index=0, value="'global'"),
    ),
    (
        "pipelineType",
        "otherFile",
        v.ENTRY_CHOICE_INVALID.format(
            index=0,
            field="pipelineType",
            choices="standardFile or previewFile",
            value="'otherFile'",
        ),
    ),
    (
        "pipelineExecutionType",
        "lambda",
        v.ENTRY_CHOICE_INVALID.format(
            index=0,
            field="pipelineExecutionType",
            choices="Lambda, SQS or EventBridge",
            value="'lambda'",
        ),
    ),
    ("outputType", "gltf", v.ENTRY_OUTPUT_TYPE_INVALID.format(index=0, value="'gltf'")),
    (
        "outputType",
        ".toolong12",
        v.ENTRY_OUTPUT_TYPE_INVALID.format(index=0, value="'.toolong12'"),
    ),
    ("outputType", ".g-l", v.ENTRY_OUTPUT_TYPE_INVALID.format(index=0, value="'.g-l'")),
    (
        "waitForCallback",
        "enabled",
        v.ENTRY_CHOICE_INVALID.format(
            index=0,
            field="waitForCallback",
            choices="Enabled or Disabled",
            value="'enabled'",
        ),
    ),
    (
        "userProvidedResource",
        "not json",
        v.ENTRY_RESOURCE_INVALID.format(index=0, value="'not json'"),
    ),
    (
        "userProvidedResource",
        "[1]",
        v.ENTRY_RESOURCE_INVALID.format(index=0, value="'[1]'"),
    ),
    (
        "userProvidedResource",
        {"resourceId": "x"},
        v.ENTRY_NOT_STRING.format(
            index=0, field="userProvidedResource", value='{"resourceId": "x"}'
        ),
    ),
    (
        "inputParameters",
        "{bad",
        v.ENTRY_INPUT_PARAMETERS_INVALID.format(index=0, value="'{bad'"),
    ),
    (
        "inputParameters",
        '"text"',
        v.ENTRY_INPUT_PARAMETERS_INVALID.format(index=0, value="'\"text\"'"),
    ),
    ("taskTimeout", "0", v.ENTRY_TASK_TIMEOUT_INVALID.format(index=0, value="'0'")),
    (
        "taskTimeout",
        "604801",
        v.ENTRY_TASK_TIMEOUT_INVALID.format(index=0, value="'604801'"),
    ),
    ("taskTimeout", "1.5", v.ENTRY_TASK_TIMEOUT_INVALID.format(index=0, value="'1.5'")),
    (
        "taskTimeout",
        60,
        v.ENTRY_NOT_STRING.format(index=0, field="taskTimeout", value="60"),
    ),
    (
        "taskHeartbeatTimeout",
        "0",
        v.ENTRY_HEARTBEAT_INVALID.format(index=0, limit=86400, value="'0'"),
    ),
    (
        "taskHeartbeatTimeout",
        "abc",
        v.ENTRY_HEARTBEAT_INVALID.format(index=0, limit=86400, value="'abc'"),
    ),
]


@pytest.mark.parametrize("field, value, message", ENTRY_CASES)
def test_put_rejects_bad_function_field(api_client, pipeline, field, value, message):
    entry = function_entry(pipeline, **{field: value})

    response = put(api_client, workflow_body(functions=[entry]))

    assert_rejected(response, message)


@pytest.mark.parametrize("field", v.FUNCTION_REQUIRED_FIELDS)
def test_put_rejects_missing_function_field(api_client, pipeline, field):
    entry = function_entry(pipeline)
    del entry[field]

    response = put(api_client, workflow_body(functions=[entry]))

    assert_rejected(response, v.ENTRY_MISSING_FIELDS.format(index=0, fields=field))


def test_put_lists_missing_fields_in_order(api_client, pipeline):
    entry = function_entry(pipeline, outputType="", name="")

    response = put(api_client, workflow_body(functions=[entry]))

    assert_rejected(
        response, "Pipeline entry 0 is missing required field(s): name, outputType."
    )


def test_put_rejects_heartbeat_not_below_timeout(api_client, pipeline):
    entry = function_entry(
        pipeline,
        waitForCallback="Enabled",
        taskTimeout="600",
        taskHeartbeatTimeout="600",
    )

    response = put(api_client, workflow_body(functions=[entry]))

    assert_rejected(
        response, v.ENTRY_HEARTBEAT_INVALID.format(index=0, limit=600, value="'600'")
    )


def test_put_rejects_sqs_resource_without_queue_url(api_client, db):
    sqs = make_pipeline(
        "sqs-pipeline",
        pipeline_execution_type="SQS",
        user_provided_resource=json.dumps({"resourceId": SQS_QUEUE_URL}),
    )
    entry = function_entry(
        sqs, userProvidedResource=json.dumps({"resourceId": "my-queue"})
    )

    response = put(api_client, workflow_body(functions=[entry]))

    assert_rejected(
        response, v.ENTRY_SQS_URL_INVALID.format(index=0, value="'my-queue'")
    )


def test_put_accepts_sqs_pipeline_with_queue_url(api_client, db):
    sqs = make_pipeline(
        "sqs-pipeline",
        pipeline_execution_type="SQS",
        user_provided_resource=json.dumps({"resourceId": SQS_QUEUE_URL}),
    )

    response = put(api_client, workflow_body(functions=[function_entry(sqs)]))

    assert response.status_code == 200


def test_put_accepts_callback_timeouts(api_client, pipeline):
    entry = function_entry(
        pipeline,
        waitForCallback="Enabled",
        taskTimeout="3600",
        taskHeartbeatTimeout="60",
    )

    response = put(api_client, workflow_body(functions=[entry]))

    assert response.status_code == 200


def test_put_names_the_failing_entry_index(api_client, pipeline):
    good = function_entry(pipeline)
    bad = function_entry(pipeline, outputType="gltf")

    response = put(api_client, workflow_body(functions=[good, bad]))

    assert_rejected(
        response, v.ENTRY_OUTPUT_TYPE_INVALID.format(index=1, value="'gltf'")
    )
    assert "Pipeline entry 0" not in response.json()["message"]


def test_put_reports_every_failure_at_once(api_client, pipeline):
    entry = function_entry(pipeline, outputType="gltf", waitForCallback="maybe")
    body = workflow_body(
        workflow_id="ab",
        database_id="GLOBAL",
        description="x",
        functions=[entry],
        autoTriggerOnFileExtensionsUpload="j.pg",
    )

    response = put(api_client, body)

    assert_rejected(response, v.WORKFLOW_ID_INVALID.format(value="'ab'"))
    message = response.json()["message"]
    assert v.DESCRIPTION_INVALID.format(length=1) in message
    assert v.ENTRY_OUTPUT_TYPE_INVALID.format(index=0, value="'gltf'") in message
    assert "Pipeline entry 0 waitForCallback" in message
    assert v.AUTO_TRIGGER_INVALID.format(value="'j.pg'") in message


def test_put_global_workflow_rejects_database_pipeline(api_client, db):
    local = make_pipeline("local-pipeline", database_id="my-database")

    response = put(
        api_client,
        workflow_body(database_id="GLOBAL", functions=[function_entry(local)]),
    )

    assert_rejected(response, "Only global pipelines")
    assert (
        v.ENTRY_ONLY_GLOBAL.format(index=0, value="'my-database'")
        in response.json()["message"]
    )


def test_put_database_workflow_rejects_other_database_pipeline(api_client, db):
    other = make_pipeline("other-pipeline", database_id="other-database")

    response = put(api_client, workflow_body(functions=[function_entry(other)]))

    assert_rejected(
        response,
        v.ENTRY_ONLY_GLOBAL_OR_SAME.format(
            index=0, value="'other-database'", database_id="'my-database'"
        ),
    )


def test_put_database_workflow_accepts_same_database_pipeline(api_client, pipeline):
    local = make_pipeline("local-pipeline", database_id="my-database")
    functions = [function_entry(pipeline), function_entry(local)]

    response = put(api_client, workflow_body(functions=functions))

    assert response.status_code == 200
    stored = Workflow.objects.get(workflow_id="convert-and-preview")
    assert [entry["databaseId"] for entry in stored.functions] == [
        "GLOBAL",
        "my-database",
    ]


def test_put_rejects_missing_pipeline(api_client, pipeline):
    entry = function_entry(pipeline, name="no-such-pipeline")

    response = put(api_client, workflow_body(functions=[entry]))

    assert_rejected(
        response,
        v.ENTRY_PIPELINE_NOT_FOUND.format(
            index=0, name="'no-such-pipeline'", database_id="'GLOBAL'"
        ),
    )


def test_put_rejects_deleted_pipeline(api_client, pipeline):
    entry = function_entry(pipeline)
    pipeline.delete()

    response = put(api_client, workflow_body(functions=[entry]))

    assert_rejected(
        response,
        v.ENTRY_PIPELINE_NOT_FOUND.format(
            index=0, name="'3d-conversion-pipeline'", database_id="'GLOBAL'"
        ),
    )


def test_put_looks_pipeline_up_under_entry_database(api_client, pipeline):
    entry = function_entry(pipeline, databaseId="my-database")

    response = put(api_client, workflow_body(functions=[entry]))

    assert_rejected(
        response,
        v.ENTRY_PIPELINE_NOT_FOUND.format(
            index=0, name="'3d-conversion-pipeline'", database_id="'my-database'"
        ),
    )


def test_put_rejects_pipeline_type_mismatch(api_client, pipeline):
    entry = function_entry(pipeline, pipelineType="previewFile")

    response = put(api_client, workflow_body(functions=[entry]))

    assert_rejected(
        response,
        v.ENTRY_PIPELINE_MISMATCH.format(
            index=0,
            field="pipelineType",
            value="'previewFile'",
            name="'3d-conversion-pipeline'",
            database_id="'GLOBAL'",
            stored="'standardFile'",
        ),
    )


def test_put_rejects_execution_type_mismatch(api_client, pipeline):
    entry = function_entry(pipeline, pipelineExecutionType="EventBridge")

    response = put(api_client, workflow_body(functions=[entry]))

    assert_rejected(
        response,
        v.ENTRY_PIPELINE_MISMATCH.format(
            index=0,
            field="pipelineExecutionType",
            value="'EventBridge'",
            name="'3d-conversion-pipeline'",
            database_id="'GLOBAL'",
            stored="'Lambda'",
        ),
    )


def test_put_rejects_other_sqs_queue(api_client, db):
    sqs = make_pipeline(
        "convert-mesh-glb",
        pipeline_execution_type="SQS",
        user_provided_resource=json.dumps({"resourceId": SQS_QUEUE_URL}),
    )
    other_queue = "https://sqs.us-east-1.amazonaws.com/123456789012/other-queue"
    entry = function_entry(
        sqs, userProvidedResource=json.dumps({"resourceId": other_queue})
    )

    response = put(api_client, workflow_body(functions=[entry]))

    assert_rejected(
        response,
        v.ENTRY_RESOURCE_MISMATCH.format(
            index=0,
            value=v._show(other_queue),
            name="'convert-mesh-glb'",
            database_id="'GLOBAL'",
            stored=v._show(SQS_QUEUE_URL),
        ),
    )


def test_put_rejects_other_event_source(api_client, db):
    resource = {"resourceId": "default", "eventSource": "vams.worker"}
    events = make_pipeline(
        "event-pipeline",
        pipeline_execution_type="EventBridge",
        user_provided_resource=json.dumps(resource),
    )
    entry = function_entry(
        events,
        userProvidedResource=json.dumps({**resource, "eventSource": "other.source"}),
    )

    response = put(api_client, workflow_body(functions=[entry]))

    assert_rejected(response, "has eventSource 'other.source', but pipeline")


def test_put_rejects_too_many_functions(api_client, pipeline):
    functions = [function_entry(pipeline)] * (v.MAX_PIPELINE_FUNCTIONS + 1)

    response = put(api_client, workflow_body(functions=functions))

    assert_rejected(response, v.FUNCTIONS_TOO_MANY.format(count=51))


def test_put_accepts_disabled_pipeline(api_client, db):
    disabled = make_pipeline("disabled-pipeline", enabled=False)

    response = put(api_client, workflow_body(functions=[function_entry(disabled)]))

    assert response.status_code == 200


def test_put_stores_entries_as_sent_with_pipeline_id(api_client, pipeline):
    entry = function_entry(pipeline, customKey={"kept": True}, inputParameters="")

    response = put(api_client, workflow_body(functions=[entry]))

    assert response.status_code == 200
    stored = Workflow.objects.get(workflow_id="convert-and-preview")
    expected = {
        **entry,
        "pipelineId": "3d-conversion-pipeline",
        "object__type": "pipeline",
    }
    assert stored.specified_pipelines == {"functions": [expected]}


def test_put_update_with_bad_body_leaves_row_unchanged(api_client, pipeline):
    put(api_client, workflow_body())
    before = Workflow.objects.get(workflow_id="convert-and-preview")

    response = put(api_client, workflow_body(description="x"))

    assert response.status_code == 400
    after = Workflow.objects.get(workflow_id="convert-and-preview")
    assert after.description == before.description
    assert after.date_modified == before.date_modified


def test_put_rejects_nul_character(api_client, pipeline):
    body = workflow_body(description="Convert\x00 files")

    response = put(api_client, body)

    assert_rejected(response, v.BODY_CONTAINS_NUL.format(where="description"))


def test_put_rejects_nul_in_unknown_key(api_client, pipeline):
    entry = function_entry(pipeline, **{"extra": "a\x00b"})

    response = put(api_client, workflow_body(functions=[entry]))

    assert_rejected(
        response,
        v.BODY_CONTAINS_NUL.format(where="specifiedPipelines.functions[0].extra"),
    )

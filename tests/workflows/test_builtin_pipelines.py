import io
import json

import pytest
from django.core.management import call_command

from vams.aws import sqs
from workflows.builtin.pipelines import (
    BUILTIN_PIPELINES,
    builtin_pipeline,
    ensure_queue,
    register_builtin_pipelines,
)
from workflows.models import Pipeline


@pytest.mark.django_db
def test_register_builtin_pipelines_creates_global_rows():
    registrations = register_builtin_pipelines()

    assert [item.created for item in registrations] == [True, True, True]
    rows = {
        row.pipeline_id: row for row in Pipeline.objects.filter(database_id="GLOBAL")
    }
    assert sorted(rows) == ["convert-mesh-glb", "extract-metadata", "preview-thumbnail"]
    convert = rows["convert-mesh-glb"]
    assert convert.pipeline_execution_type == "SQS"
    assert convert.wait_for_callback == "Enabled"
    assert convert.output_type == ".glb"
    assert json.loads(convert.user_provided_resource)["resourceId"] == sqs.queue_url(
        "vams-pipeline-convert-mesh-glb"
    )
    assert rows["preview-thumbnail"].pipeline_type == "previewFile"
    extract = json.loads(rows["extract-metadata"].user_provided_resource)
    assert rows["extract-metadata"].pipeline_execution_type == "EventBridge"
    assert extract["eventDetailType"] == "extract-metadata"
    assert extract["eventSource"] == "vams.pipeline"


@pytest.mark.django_db
def test_register_builtin_pipelines_is_idempotent():
    register_builtin_pipelines()
    Pipeline.objects.filter(pipeline_id="convert-mesh-glb").update(
        enabled=False, description="edited by hand"
    )

    registrations = register_builtin_pipelines()

    assert [item.created for item in registrations] == [False, False, False]
    assert Pipeline.objects.filter(database_id="GLOBAL").count() == len(
        BUILTIN_PIPELINES
    )
    convert = Pipeline.objects.get(pipeline_id="convert-mesh-glb")
    assert convert.enabled is False
    assert convert.description != "edited by hand"


@pytest.mark.django_db
def test_register_command_reports_counts():
    stdout = io.StringIO()

    call_command("register_builtin_pipelines", stdout=stdout)

    assert (
        "Registered 3 built-in pipelines (3 created, 0 updated)." in stdout.getvalue()
    )


@pytest.mark.django_db
def test_register_command_dry_run_changes_nothing():
    stdout = io.StringIO()

    call_command("register_builtin_pipelines", "--dry-run", stdout=stdout)

    assert Pipeline.objects.count() == 0
    assert "Would register GLOBAL/extract-metadata (EventBridge)" in stdout.getvalue()


def test_worker_command_once_with_empty_queues():
    ensure_queue(builtin_pipeline("convert-mesh-glb"))
    stdout = io.StringIO()

    call_command(
        "run_pipeline_worker", "--once", "--queues", "convert-mesh-glb", stdout=stdout
    )

    assert "Processed 0 message(s)." in stdout.getvalue()


def test_worker_command_rejects_unknown_pipeline():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown pipeline id"):
        call_command("run_pipeline_worker", "--once", "--queues", "no-such-pipeline")

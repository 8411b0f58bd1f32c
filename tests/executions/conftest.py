"""Fixtures for execution tests: an asset with files in S3 and runnable workflows.

Workflows here run a state machine chosen by the test (by default one that
waits an hour), so an execution stays RUNNING for as long as the test needs.
"""

import importlib
import time
import uuid

import pytest
from django.conf import settings
from django.utils import timezone

from tests.factories import function_entry, make_asset, make_database, make_pipeline
from vams.aws import s3, stepfunctions
from vams.models import AssetFile
from workflows.models import Workflow

ASSET_FILES = ("models/part.glb", "part.obj", "models/a+b.glb", "models/a b.glb")
HOLD_DEFINITION = {
    "StartAt": "Hold",
    "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}},
}
PASS_DEFINITION = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
FAIL_DEFINITION = {
    "StartAt": "Broken",
    "States": {"Broken": {"Type": "Fail", "Error": "test.Error", "Cause": "why"}},
}


def wait_until_stopped(execution, *, attempts: int = 100) -> str:
    """Poll Step Functions until the execution stops; return its final status."""
    for _ in range(attempts):
        snapshot = stepfunctions.describe_execution(execution_arn=execution.execution_arn)
        if snapshot.stop_date is not None:
            return snapshot.status
        time.sleep(0.05)
    raise AssertionError(f"execution {execution.execution_id} still running")


def create_state_machine(definition: dict) -> str:
    return stepfunctions.create_state_machine(
        name=f"vams-test-{uuid.uuid4().hex[:12]}", definition=definition
    )


def make_workflow(
    workflow_id: str = "wf-hold",
    database_id: str = "db-a",
    *,
    pipelines=None,
    definition: dict | None = HOLD_DEFINITION,
    auto_trigger: str = "",
) -> Workflow:
    """Create a live workflow whose state machine runs ``definition``."""
    if pipelines is None:
        pipelines = [
            make_pipeline("global-pipe")
            if not _pipeline_exists("GLOBAL", "global-pipe")
            else _pipeline("GLOBAL", "global-pipe")
        ]
    now = timezone.now()
    workflow = Workflow.objects.create(
        database_id=database_id,
        workflow_id=workflow_id,
        description=f"Workflow {workflow_id}",
        specified_pipelines={"functions": [function_entry(p) for p in pipelines]},
        auto_trigger_on_file_extensions_upload=auto_trigger,
        date_created=now,
        date_modified=now,
    )
    if definition is not None:
        # A queryset update does not fire the save receiver, so the test's own
        # state machine replaces whatever the receiver built.
        arn = create_state_machine(definition)
        Workflow.objects.filter(pk=workflow.pk).update(workflow_arn=arn)
        workflow.refresh_from_db()
    return workflow


def _pipeline_exists(database_id: str, pipeline_id: str) -> bool:
    from workflows.models import Pipeline

    return Pipeline.objects.filter(database_id=database_id, pipeline_id=pipeline_id).exists()


def _pipeline(database_id: str, pipeline_id: str):
    from workflows.models import Pipeline

    return Pipeline.objects.get(database_id=database_id, pipeline_id=pipeline_id)


def put_asset_file(asset, relative_path: str, content: bytes = b"data") -> str:
    key = asset.base_key + relative_path
    s3.put_object(bucket=settings.VAMS_ASSET_BUCKET, key=key, body=content)
    AssetFile.objects.get_or_create(asset=asset, key=key, defaults={"size": len(content)})
    return key


@pytest.fixture
def asset(db):
    """Asset db-a/<random id> with files at the root and in a sub-folder."""
    database = make_database("db-a")
    created = make_asset(
        database,
        f"xa{uuid.uuid4().hex[:8]}",
        asset_name="Building",
        description="A building",
        tags=["facade", "scan"],
    )
    for path in ASSET_FILES:
        put_asset_file(created, path)
    return created


@pytest.fixture
def workflow(db):
    return make_workflow()


@pytest.fixture
def admin_role():
    """Recreate the built-in admin role, for transactional tests.

    A transactional test flushes the database when it ends, which removes the
    role that a data migration created, so the next transactional test starts
    without it.
    """
    from django.apps import apps

    migration = importlib.import_module("authz.migrations.0002_admin_role")
    migration.create_admin_role(apps, None)

"""Builders for test data. Keyword arguments override any field."""

import json

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from vams.models import Asset, Database


def make_user(username: str = "curator", *, is_superuser: bool = False, **fields):
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username=username,
        defaults={"is_superuser": is_superuser, "is_staff": is_superuser, **fields},
    )
    return user


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


def make_database(database_id: str = "my-database", **fields) -> Database:
    fields.setdefault("description", f"Database {database_id}")
    database, _ = Database.objects.get_or_create(database_id=database_id, defaults=fields)
    return database


def make_asset(database: Database | None = None, asset_id: str = "xa1b2", **fields) -> Asset:
    database = database or make_database()
    fields.setdefault("asset_name", asset_id)
    return Asset.objects.create(database=database, asset_id=asset_id, **fields)


def make_pipeline(pipeline_id: str = "3d-conversion-pipeline", **fields):
    from workflows.models import Pipeline

    fields.setdefault("database_id", "GLOBAL")
    fields.setdefault("description", f"Pipeline {pipeline_id}")
    fields.setdefault("asset_type", ".obj")
    fields.setdefault("output_type", ".gltf")
    fields.setdefault("pipeline_execution_type", "Lambda")
    fields.setdefault(
        "user_provided_resource",
        json.dumps({"resourceId": "vams-3dconversion", "resourceType": "Lambda", "isProvided": False}),
    )
    return Pipeline.objects.create(pipeline_id=pipeline_id, **fields)


def function_entry(pipeline, **overrides) -> dict:
    """Return the workflow function entry that references ``pipeline``."""
    entry = {
        "name": pipeline.pipeline_id,
        "databaseId": pipeline.database_id,
        "pipelineType": pipeline.pipeline_type,
        "pipelineExecutionType": pipeline.pipeline_execution_type,
        "outputType": pipeline.output_type,
        "waitForCallback": pipeline.wait_for_callback,
        "userProvidedResource": pipeline.user_provided_resource,
    }
    if pipeline.wait_for_callback == "Enabled":
        entry["taskTimeout"] = pipeline.task_timeout or "86400"
        if pipeline.task_heartbeat_timeout:
            entry["taskHeartbeatTimeout"] = pipeline.task_heartbeat_timeout
    if pipeline.input_parameters:
        entry["inputParameters"] = pipeline.input_parameters
    entry.update(overrides)
    return entry


def workflow_body(
    workflow_id: str = "convert-and-preview",
    database_id: str = "my-database",
    functions: list[dict] | None = None,
    **fields,
) -> dict:
    """Return a PUT /workflows body; without ``functions`` it uses a GLOBAL pipeline."""
    if functions is None:
        from workflows.models import Pipeline

        pipeline = (
            Pipeline.objects.filter(database_id="GLOBAL", pipeline_id="3d-conversion-pipeline").first()
            or make_pipeline()
        )
        functions = [function_entry(pipeline)]
    body = {
        "workflowId": workflow_id,
        "databaseId": database_id,
        "description": "Convert 3D files and generate preview thumbnails",
        "specifiedPipelines": {"functions": functions},
        "autoTriggerOnFileExtensionsUpload": ".fbx,.obj",
    }
    body.update(fields)
    return body

"""The API representation of a workflow, shared by the list and single-item routes.

Plain functions over ``values()`` rows rather than a DRF serializer: a list
page contains up to 3000 items, and per-field serializer overhead would dominate
the response time.
"""

from collections.abc import Mapping
from typing import Any

from vams.dates import format_workflow_date
from workflows.models import Workflow

# The model fields a representation reads, in ``values()`` form.
REPRESENTATION_FIELDS = (
    "id",
    "database_id",
    "workflow_id",
    "description",
    "specified_pipelines",
    "workflow_arn",
    "auto_trigger_on_file_extensions_upload",
    "date_created",
    "date_modified",
    "deleted_at",
)
DELETED_SUFFIX = "#deleted"


def displayed_database_id(database_id: str, deleted_at: Any) -> str:
    """Return the databaseId clients see: ``<db>#deleted`` for a soft-deleted row."""
    return database_id + DELETED_SUFFIX if deleted_at is not None else database_id


def workflow_representation(row: Mapping[str, Any]) -> dict:
    """Return the documented workflow item for a row of REPRESENTATION_FIELDS values."""
    return {
        "workflowId": row["workflow_id"],
        "databaseId": displayed_database_id(row["database_id"], row["deleted_at"]),
        "description": row["description"],
        "specifiedPipelines": row["specified_pipelines"],
        "workflow_arn": row["workflow_arn"],
        "autoTriggerOnFileExtensionsUpload": row[
            "auto_trigger_on_file_extensions_upload"
        ]
        or "",
        "dateCreated": format_workflow_date(row["date_created"]),
        "dateModified": format_workflow_date(row["date_modified"]),
        "object__type": "workflow",
    }


def workflow_instance_representation(workflow: Workflow) -> dict:
    """Return the documented workflow item for a model instance."""
    row = {field: getattr(workflow, field) for field in REPRESENTATION_FIELDS}
    return workflow_representation(row)


def workflow_key_authz_object(*, database_id: str, workflow_id: str) -> dict:
    """Return the authorization object of the workflow with these keys."""
    return {"object__type": "workflow", "databaseId": database_id, "workflowId": workflow_id}


def pipeline_authz_object(
    *,
    database_id: str,
    pipeline_id: str,
    pipeline_type: str,
    pipeline_execution_type: str,
) -> dict:
    """Return the authorization object of a pipeline, or of a function entry naming one."""
    return {
        "object__type": "pipeline",
        "databaseId": database_id,
        "pipelineId": pipeline_id,
        "pipelineType": pipeline_type,
        "pipelineExecutionType": pipeline_execution_type,
    }


def workflow_authz_object(row: Mapping[str, Any]) -> dict:
    """Return the authorization object of a stored workflow row (``values()`` form)."""
    return workflow_key_authz_object(
        database_id=displayed_database_id(row["database_id"], row["deleted_at"]),
        workflow_id=row["workflow_id"],
    )


def workflow_instance_authz_object(workflow: Workflow) -> dict:
    """Return the authorization object of a stored workflow instance."""
    return workflow_authz_object(
        {
            "database_id": workflow.database_id,
            "deleted_at": workflow.deleted_at,
            "workflow_id": workflow.workflow_id,
        }
    )

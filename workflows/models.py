"""Pipelines (one processing step each) and workflows (an ordered chain of them).

Both are soft-deleted. A workflow's ``specified_pipelines`` is a snapshot of the
function entries sent with it, and its Step Functions state machine is built from
that snapshot, not from the pipeline table.
"""

from django.db import models
from django.db.models import Q

from vams.softdelete import SoftDeleteModel


class Pipeline(SoftDeleteModel):
    class PipelineType(models.TextChoices):
        STANDARD_FILE = "standardFile"
        PREVIEW_FILE = "previewFile"

    class ExecutionType(models.TextChoices):
        LAMBDA = "Lambda"
        SQS = "SQS"
        EVENTBRIDGE = "EventBridge"

    class Callback(models.TextChoices):
        ENABLED = "Enabled"
        DISABLED = "Disabled"

    database_id = models.CharField(
        max_length=63, help_text="A database id, or GLOBAL for every database."
    )
    pipeline_id = models.CharField(max_length=64)
    pipeline_type = models.CharField(
        max_length=16, choices=PipelineType.choices, default=PipelineType.STANDARD_FILE
    )
    pipeline_execution_type = models.CharField(
        max_length=16, choices=ExecutionType.choices, default=ExecutionType.LAMBDA
    )
    description = models.CharField(max_length=256)
    asset_type = models.CharField(max_length=8, help_text="Input extension, e.g. .obj or .all.")
    output_type = models.CharField(max_length=8, help_text="Output extension, e.g. .glb.")
    wait_for_callback = models.CharField(
        max_length=8, choices=Callback.choices, default=Callback.DISABLED
    )
    task_timeout = models.CharField(
        max_length=8,
        blank=True,
        default="",
        help_text="Seconds, 1 to 604800; used only with callback enabled (default 86400).",
    )
    task_heartbeat_timeout = models.CharField(
        max_length=8,
        blank=True,
        default="",
        help_text="Seconds, below the task timeout; blank sends no heartbeat limit.",
    )
    input_parameters = models.TextField(
        blank=True, default="", help_text="A JSON object as text, or blank."
    )
    user_provided_resource = models.TextField(
        help_text="JSON object as text: resourceId, resourceType, eventSource, ..."
    )
    enabled = models.BooleanField(default=True)
    date_created = models.DateTimeField(auto_now_add=True)
    date_modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["database_id", "pipeline_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["database_id", "pipeline_id"],
                condition=Q(deleted_at__isnull=True),
                name="pipeline_unique_alive",
            )
        ]

    def __str__(self) -> str:
        return f"{self.database_id}/{self.pipeline_id}"


class Workflow(SoftDeleteModel):
    database_id = models.CharField(
        max_length=63, help_text="A database id, or GLOBAL for every database."
    )
    workflow_id = models.CharField(max_length=64)
    description = models.CharField(max_length=256)
    specified_pipelines = models.JSONField(
        default=dict, help_text='{"functions": [...]}: the ordered function entries.'
    )
    workflow_arn = models.CharField(max_length=256, blank=True, default="")
    auto_trigger_on_file_extensions_upload = models.CharField(
        max_length=512, blank=True, default=""
    )
    date_created = models.DateTimeField()
    date_modified = models.DateTimeField()
    modified_by = models.CharField(max_length=256, blank=True, default="")

    class Meta:
        ordering = ["database_id", "workflow_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["database_id", "workflow_id"],
                condition=Q(deleted_at__isnull=True),
                name="workflow_unique_alive",
            )
        ]
        indexes = [
            models.Index(fields=["database_id", "workflow_id", "id"]),
            models.Index(fields=["workflow_id", "id"]),
            # The live-row lists walk this index in order, so a page reads only
            # its own rows instead of sorting every live workflow.
            models.Index(
                fields=["database_id", "workflow_id", "id"],
                condition=Q(deleted_at__isnull=True),
                name="workflow_alive_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.database_id}/{self.workflow_id}"

    @property
    def functions(self) -> list[dict]:
        return list((self.specified_pipelines or {}).get("functions") or [])

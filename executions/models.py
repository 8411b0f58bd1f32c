"""Workflow executions: one Step Functions execution of a workflow on one file."""

from django.db import models
from django.db.models import Q


class WorkflowExecution(models.Model):
    class Status(models.TextChoices):
        # NEW is stored between the row insert and the Step Functions start.
        # The API never returns it.
        NEW = "NEW"
        RUNNING = "RUNNING"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"
        TIMED_OUT = "TIMED_OUT"
        ABORTED = "ABORTED"
        PENDING_REDRIVE = "PENDING_REDRIVE"

    execution_id = models.UUIDField(unique=True)
    execution_arn = models.CharField(max_length=512, blank=True, default="")
    # Executions refer to their workflow by its keys, as VAMS does: the history
    # of a workflow id survives a soft delete, a re-create and a purge.
    workflow_database_id = models.CharField(max_length=63)
    workflow_id = models.CharField(max_length=64)
    workflow_arn = models.CharField(max_length=256, blank=True, default="")
    # NOTE: ``execution.asset_id`` is the Asset row's primary key. The asset's
    # own id is ``execution.asset.asset_id``.
    asset = models.ForeignKey(
        "vams.Asset", on_delete=models.CASCADE, related_name="executions"
    )
    input_asset_file_key = models.CharField(max_length=1024)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    start_date = models.DateTimeField(null=True, blank=True)
    stop_date = models.DateTimeField(null=True, blank=True, db_index=True)
    error = models.CharField(max_length=256, blank=True, default="")
    cause = models.TextField(blank=True, default="")
    started_by = models.CharField(max_length=256, blank=True, default="")
    trigger_source = models.CharField(max_length=64, blank=True, default="")
    outputs_registered_at = models.DateTimeField(null=True, blank=True)
    date_created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date_created", "-id"]
        constraints = [
            # One running execution per workflow and file, enforced by the
            # database so concurrent starts cannot both succeed.
            models.UniqueConstraint(
                fields=[
                    "workflow_database_id",
                    "workflow_id",
                    "asset",
                    "input_asset_file_key",
                ],
                condition=Q(stop_date__isnull=True),
                name="execution_one_running_per_file",
            )
        ]
        indexes = [
            models.Index(fields=["asset", "-date_created", "-id"]),
            # Purging a deleted workflow's history selects by its keys.
            models.Index(
                fields=["workflow_database_id", "workflow_id", "id"],
                name="execution_workflow_keys",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_database_id}/{self.workflow_id} {self.execution_id}"

    @property
    def is_running(self) -> bool:
        return self.stop_date is None

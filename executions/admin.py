"""Admin for workflow executions: a read-only history with refresh and stop actions.

Executions are started from a workflow's "Execute on a file" page. Here they
can only be inspected, refreshed from Step Functions or stopped.
"""

import logging

from django.contrib import admin, messages

from executions.models import WorkflowExecution
from vams.admin import AuthzModelAdmin
from vams.aws.errors import AwsError
from vams.exceptions import DomainError
from workflows.serializers import workflow_key_authz_object

logger = logging.getLogger(__name__)


class RunningListFilter(admin.SimpleListFilter):
    title = "running"
    parameter_name = "running"

    def lookups(self, request, model_admin):
        return [("yes", "Running"), ("no", "Stopped")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(stop_date__isnull=True)
        if self.value() == "no":
            return queryset.filter(stop_date__isnull=False)
        return queryset


@admin.register(WorkflowExecution)
class WorkflowExecutionAdmin(AuthzModelAdmin):
    api_route = "/executions"
    list_display = [
        "execution_id",
        "workflow",
        "status",
        "start_date",
        "stop_date",
        "input_file",
        "error",
    ]
    list_filter = [
        RunningListFilter,
        "status",
        "workflow_database_id",
        "trigger_source",
    ]
    list_select_related = ["asset", "asset__database"]
    search_fields = [
        "execution_id",
        "workflow_id",
        "input_asset_file_key",
        "asset__asset_id",
    ]
    date_hierarchy = "date_created"
    fields = [
        "execution_id",
        "status",
        "workflow_database_id",
        "workflow_id",
        "asset",
        "input_asset_file_key",
        "start_date",
        "stop_date",
        "error",
        "cause",
        "started_by",
        "trigger_source",
        "outputs_registered_at",
        "execution_arn",
        "workflow_arn",
        "date_created",
    ]
    readonly_fields = fields
    actions = ["refresh_status", "stop_selected"]

    def authz_object(self, obj: WorkflowExecution) -> dict:
        # The list route judges each execution as its workflow, under the
        # asset's database.
        return workflow_key_authz_object(
            database_id=obj.asset.database_id, workflow_id=obj.workflow_id
        )

    def get_unfiltered_queryset(self, request):
        return super().get_unfiltered_queryset(request).select_related("asset")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_refresh_permission(self, request) -> bool:
        return self.is_allowed(request, None, "GET")

    def has_stop_permission(self, request) -> bool:
        return self.is_allowed(request, None, "POST")

    @admin.display(description="Input file", ordering="input_asset_file_key")
    def input_file(self, obj: WorkflowExecution) -> str:
        return f"{obj.asset}: {obj.input_asset_file_key}"

    @admin.display(description="Workflow", ordering="workflow_id")
    def workflow(self, obj: WorkflowExecution) -> str:
        return f"{obj.workflow_database_id}/{obj.workflow_id}"

    @admin.action(description="Refresh status", permissions=["refresh"])
    def refresh_status(self, request, queryset) -> None:
        from executions.services import execution_refresh

        closed = 0
        failed = 0
        for execution in queryset.filter(stop_date__isnull=True):
            try:
                closed += execution_refresh(execution).closed
            except AwsError as error:
                failed += 1
                logger.warning(
                    "Refreshing execution failed execution_id=%s code=%s",
                    execution.execution_id,
                    error.code,
                )
        self.message_user(
            request, f"Refreshed the selected executions; {closed} of them stopped."
        )
        if failed:
            self.message_user(
                request,
                f"Reading {failed} execution(s) from Step Functions failed; "
                "retry later.",
                messages.ERROR,
            )

    @admin.action(description="Stop", permissions=["stop"])
    def stop_selected(self, request, queryset) -> None:
        from executions.services import execution_stop

        for execution in queryset:
            try:
                execution_stop(
                    database_id=execution.asset.database_id,
                    asset_id=execution.asset.asset_id,
                    workflow_id=execution.workflow_id,
                    execution_id=execution.execution_id,
                    user=request.user,
                )
            except DomainError as error:
                self.message_user(
                    request,
                    f"{execution.execution_id}: {error.message}",
                    messages.ERROR,
                )
                continue
            self.message_user(request, f"Stopped execution {execution.execution_id}.")

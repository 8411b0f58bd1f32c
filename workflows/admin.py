"""Admin for pipelines and workflows.

Workflow writes go through ``workflows.services`` so that the admin runs the
API's checks and keeps the state machine in step. Both models are soft-deleted:
their changelists show alive rows by default and deleted rows behind the
"state" filter, from where a restore action brings them back.
"""

import json
import logging

from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from vams.admin import AuthzModelAdmin, SoftDeleteListFilter
from vams.aws import stepfunctions
from vams.aws.errors import AwsError
from vams.exceptions import DomainError, InvalidInput
from workflows.forms import ExecuteOnFileForm, PipelineAdminForm, WorkflowAdminForm
from workflows.models import Pipeline, Workflow
from workflows.serializers import pipeline_authz_object, workflow_instance_authz_object

logger = logging.getLogger(__name__)

# Recorded on executions started from the admin's "Execute on a file" page.
TRIGGER_SOURCE_ADMIN = "admin"


def authz_database_id(obj) -> str:
    """Return the databaseId for authorization checks, ``<id>#deleted`` if deleted."""
    if obj.deleted_at is not None:
        return f"{obj.database_id}#deleted"
    return obj.database_id


class SoftDeleteAdmin(AuthzModelAdmin):
    """Shared behaviour of the pipeline and workflow admins."""

    def get_unfiltered_queryset(self, request):
        return self.model.all_objects.all()

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Django's bulk delete issues one UPDATE and skips the services.
        actions.pop("delete_selected", None)
        return actions

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.deleted_at is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.deleted_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="State", ordering="deleted_at")
    def state(self, obj) -> str:
        if obj.deleted_at is None:
            return "Alive"
        return f"Deleted {obj.deleted_at:%Y-%m-%d %H:%M}"


@admin.register(Pipeline)
class PipelineAdmin(SoftDeleteAdmin):
    api_route = "/pipelines"
    form = PipelineAdminForm
    list_display = [
        "pipeline_id",
        "database_id",
        "pipeline_type",
        "execution_type",
        "callback",
        "enabled",
        "state",
    ]
    list_filter = [
        SoftDeleteListFilter,
        "enabled",
        "pipeline_execution_type",
        "pipeline_type",
        "database_id",
    ]
    search_fields = ["pipeline_id", "description"]
    readonly_fields = ["date_created", "date_modified", "deleted_at", "deleted_by"]
    actions = [
        "enable_selected",
        "disable_selected",
        "delete_selected_pipelines",
        "restore_selected",
    ]

    def authz_object(self, obj: Pipeline) -> dict:
        return pipeline_authz_object(
            database_id=authz_database_id(obj),
            pipeline_id=obj.pipeline_id,
            pipeline_type=obj.pipeline_type,
            pipeline_execution_type=obj.pipeline_execution_type,
        )

    @admin.display(description="Execution", ordering="pipeline_execution_type")
    def execution_type(self, obj: Pipeline) -> str:
        return obj.pipeline_execution_type

    @admin.display(description="Callback", ordering="wait_for_callback")
    def callback(self, obj: Pipeline) -> str:
        return obj.wait_for_callback

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            # The execution type is fixed once a pipeline exists, as in the API,
            # and workflows refer to a pipeline by its database and pipeline id.
            return [
                *self.readonly_fields,
                "database_id",
                "pipeline_id",
                "pipeline_execution_type",
            ]
        return self.readonly_fields

    def _update_each(self, request, queryset, action_name: str, **changes) -> None:
        updated = 0
        denied = []
        for pipeline in queryset:
            if not self.is_allowed(request, pipeline, "PUT"):
                denied.append(str(pipeline))
                continue
            for field, value in changes.items():
                setattr(pipeline, field, value)
            pipeline.save(update_fields=[*changes, "date_modified"])
            updated += 1
            logger.info(
                "Pipeline %s pipeline=%s user=%s",
                action_name,
                pipeline,
                request.user.pk,
            )
        if updated:
            self.message_user(
                request, f"{action_name.capitalize()} {updated} pipeline(s)."
            )
        if denied:
            self.message_user(
                request,
                f"Not Authorized to change: {', '.join(denied)}.",
                messages.ERROR,
            )

    @admin.action(description="Enable selected pipelines")
    def enable_selected(self, request, queryset) -> None:
        self._update_each(
            request, queryset.filter(deleted_at__isnull=True), "enabled", enabled=True
        )

    @admin.action(description="Disable selected pipelines")
    def disable_selected(self, request, queryset) -> None:
        self._update_each(
            request, queryset.filter(deleted_at__isnull=True), "disabled", enabled=False
        )

    @admin.action(description="Delete selected pipelines")
    def delete_selected_pipelines(self, request, queryset) -> None:
        for pipeline in queryset.filter(deleted_at__isnull=True):
            if not self.is_allowed(request, pipeline, "DELETE"):
                self.message_user(
                    request, f"Not Authorized to delete {pipeline}.", messages.ERROR
                )
                continue
            try:
                self.soft_delete(request, pipeline)
            except DomainError as error:
                self.report_domain_error(request, error)
                continue
            self.message_user(request, f"Deleted pipeline {pipeline}.")

    @admin.action(description="Restore selected deleted pipelines")
    def restore_selected(self, request, queryset) -> None:
        for pipeline in queryset.filter(deleted_at__isnull=False):
            alive_twin = Pipeline.objects.filter(
                database_id=pipeline.database_id, pipeline_id=pipeline.pipeline_id
            )
            if alive_twin.exists():
                self.message_user(
                    request,
                    f"Pipeline {pipeline} cannot be restored because a pipeline with "
                    "the same id exists; delete that one first.",
                    messages.ERROR,
                )
                continue
            pipeline.deleted_at = None
            pipeline.deleted_by = ""
            if not self.is_allowed(request, pipeline, "PUT"):
                self.message_user(
                    request, f"Not Authorized to restore {pipeline}.", messages.ERROR
                )
                continue
            pipeline.save(update_fields=["deleted_at", "deleted_by", "date_modified"])
            logger.info(
                "Pipeline restored pipeline=%s user=%s", pipeline, request.user.pk
            )
            self.message_user(request, f"Restored pipeline {pipeline}.")

    def delete_model(self, request, obj: Pipeline) -> None:
        self.soft_delete(request, obj)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as error:
            self.report_domain_error(request, error)
            return HttpResponseRedirect(request.path.rsplit("delete/", 1)[0])

    def soft_delete(self, request, pipeline: Pipeline) -> None:
        """Mark ``pipeline`` deleted unless a live workflow still runs it."""
        from django.utils import timezone

        users = [
            workflow
            for workflow in Workflow.objects.all()
            if any(
                entry.get("name") == pipeline.pipeline_id
                and entry.get("databaseId") in (pipeline.database_id, None)
                for entry in workflow.functions
            )
        ]
        if users:
            raise InvalidInput(
                f"Pipeline {pipeline} is used by workflow(s) "
                f"{', '.join(str(workflow) for workflow in users)}; remove it from "
                "them before deleting it."
            )
        pipeline.deleted_at = timezone.now()
        pipeline.deleted_by = request.user.get_username()
        pipeline.save(update_fields=["deleted_at", "deleted_by", "date_modified"])
        logger.info("Pipeline deleted pipeline=%s user=%s", pipeline, request.user.pk)


@admin.register(Workflow)
class WorkflowAdmin(SoftDeleteAdmin):
    api_route = "/workflows"
    form = WorkflowAdminForm
    change_form_template = "admin/workflows/workflow/change_form.html"
    list_display = [
        "workflow_id",
        "database_id",
        "description",
        "pipeline_steps",
        "auto_trigger",
        "state",
    ]
    list_filter = [SoftDeleteListFilter, "database_id"]
    search_fields = ["workflow_id", "description"]
    readonly_fields = [
        "workflow_arn",
        "state_machine_definition",
        "date_created",
        "date_modified",
        "modified_by",
        "deleted_at",
        "deleted_by",
    ]
    actions = ["execute_on_file", "delete_selected_workflows", "restore_selected"]

    def authz_object(self, obj: Workflow) -> dict:
        return workflow_instance_authz_object(obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        user = request.user

        class WorkflowFormForUser(form_class):
            def __init__(self, *args, **form_kwargs) -> None:
                super().__init__(*args, user=user, **form_kwargs)

        return WorkflowFormForUser

    def get_fieldsets(self, request, obj=None):
        # The pipeline steps are drawn right after the first fieldset by the
        # change_form template, above the long state machine definition.
        main = (None, {"fields": list(WorkflowAdminForm.Meta.fields)})
        if obj is None:
            return [main]
        history = ["date_created", "date_modified", "modified_by"]
        if obj.deleted_at is not None:
            history += ["deleted_at", "deleted_by"]
        return [
            main,
            ("History", {"fields": history}),
            (
                "State machine",
                {
                    "fields": ["workflow_arn", "state_machine_definition"],
                    "classes": ["collapse"],
                },
            ),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if obj.deleted_at is not None or not self.has_change_permission(request, obj):
            return list(WorkflowAdminForm.Meta.fields) + self.readonly_fields
        return self.readonly_fields

    def render_change_form(
        self, request, context, add=False, change=False, form_url="", obj=None
    ):
        form = context["adminform"].form
        context["functions_formset"] = getattr(form, "functions_formset", None)
        context["stored_functions"] = obj.functions if obj is not None else []
        context["functions_editable"] = obj is None or (
            obj.deleted_at is None and self.has_change_permission(request, obj)
        )
        context["can_execute"] = (
            obj is not None
            and obj.deleted_at is None
            and self.is_allowed(request, obj, "POST")
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description="Auto-trigger")
    def auto_trigger(self, obj: Workflow) -> str:
        return obj.auto_trigger_on_file_extensions_upload

    @admin.display(description="Pipelines")
    def pipeline_steps(self, obj: Workflow) -> str:
        return " → ".join(entry.get("name", "?") for entry in obj.functions)

    @admin.display(description="State machine definition")
    def state_machine_definition(self, obj: Workflow) -> str:
        if not obj.workflow_arn:
            return "No state machine is recorded for this workflow."
        try:
            machine = stepfunctions.describe_state_machine(arn=obj.workflow_arn)
        except AwsError as error:
            logger.warning(
                "Reading state machine failed workflow=%s code=%s", obj, error.code
            )
            return f"Reading the state machine failed ({error.code}); reload to retry."
        if machine is None:
            return "The state machine does not exist in Step Functions."
        return format_html(
            '<pre class="state-machine-definition">{}</pre>',
            json.dumps(machine.definition, indent=2),
        )

    def save_model(self, request, obj, form, change) -> None:
        # WorkflowAdminForm saved the row through the service while validating.
        pass

    def delete_model(self, request, obj: Workflow) -> None:
        from workflows.services import workflow_soft_delete

        workflow_soft_delete(workflow=obj, user=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for workflow in queryset:
            self.delete_model(request, workflow)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as error:
            self.report_domain_error(request, error)
            return HttpResponseRedirect(
                reverse("admin:workflows_workflow_change", args=[object_id])
            )

    @admin.action(description="Delete selected workflows")
    def delete_selected_workflows(self, request, queryset) -> None:
        from workflows.services import workflow_soft_delete

        for workflow in queryset.filter(deleted_at__isnull=True):
            try:
                with transaction.atomic():
                    workflow_soft_delete(workflow=workflow, user=request.user)
            except DomainError as error:
                self.message_user(
                    request, f"{workflow}: {error.message}", messages.ERROR
                )
                continue
            self.message_user(request, f"Deleted workflow {workflow}.")

    @admin.action(description="Restore selected deleted workflows")
    def restore_selected(self, request, queryset) -> None:
        """Save each deleted workflow again through the service.

        The service creates a new state machine and a new alive row, as the
        API does when a deleted workflow id is sent again. The deleted copy
        stays as history.
        """
        from workflows.services import workflow_create_or_update

        for workflow in queryset.filter(deleted_at__isnull=False):
            if Workflow.objects.filter(
                database_id=workflow.database_id, workflow_id=workflow.workflow_id
            ).exists():
                self.message_user(
                    request,
                    f"Workflow {workflow} cannot be restored because a workflow with "
                    "the same id exists; delete that one first.",
                    messages.ERROR,
                )
                continue
            try:
                with transaction.atomic():
                    restored = workflow_create_or_update(
                        data=restore_request_body(workflow), user=request.user
                    )
            except DomainError as error:
                self.message_user(
                    request, f"{workflow}: {error.message}", messages.ERROR
                )
                continue
            logger.info(
                "Workflow restored workflow=%s id=%s user=%s",
                restored,
                restored.pk,
                request.user.pk,
            )
            self.message_user(request, f"Restored workflow {restored}.")

    @admin.action(description="Execute on a file")
    def execute_on_file(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(
                request, "Select exactly one workflow to execute.", messages.WARNING
            )
            return None
        workflow = queryset.get()
        return HttpResponseRedirect(
            reverse("admin:workflows_workflow_execute", args=[workflow.pk])
        )

    def get_urls(self):
        execute_url = path(
            "<path:object_id>/execute/",
            self.admin_site.admin_view(self.execute_view),
            name="workflows_workflow_execute",
        )
        return [execute_url, *super().get_urls()]

    def execute_view(self, request, object_id):
        """Choose an asset file and start the workflow on it."""
        workflow = self.get_object(request, object_id)
        if workflow is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if workflow.deleted_at is not None:
            self.message_user(
                request,
                f"Workflow {workflow} was deleted and cannot be executed; restore "
                "it first.",
                messages.ERROR,
            )
            return HttpResponseRedirect(
                reverse("admin:workflows_workflow_change", args=[workflow.pk])
            )
        self.require_allowed(request, workflow, "POST")

        form = ExecuteOnFileForm(request.POST or None, workflow=workflow)
        if request.method == "POST" and form.is_valid():
            asset, file_key = form.cleaned_data["target"]
            try:
                execution_id = start_execution(request, workflow, asset, file_key)
            except DomainError as error:
                self.report_domain_error(request, error)
            else:
                self.message_user(
                    request,
                    f"Started execution {execution_id} of workflow {workflow} on "
                    f"{file_key or asset}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:executions_workflowexecution_changelist")
                )

        context = {
            **self.admin_site.each_context(request),
            "title": f"Execute workflow {workflow}",
            "opts": self.opts,
            "original": workflow,
            "form": form,
            "has_view_permission": True,
        }
        return TemplateResponse(
            request, "admin/workflows/workflow/execute.html", context
        )


def restore_request_body(workflow: Workflow) -> dict:
    """Return the ``PUT /workflows`` body that re-creates a deleted workflow."""
    return {
        "databaseId": workflow.database_id,
        "workflowId": workflow.workflow_id,
        "description": workflow.description,
        "specifiedPipelines": {"functions": workflow.functions},
        "autoTriggerOnFileExtensionsUpload": (
            workflow.auto_trigger_on_file_extensions_upload
        ),
    }


def start_execution(request, workflow: Workflow, asset, file_key: str | None) -> str:
    """Start ``workflow`` on the file (the whole asset when None) and return its id."""
    from executions.services import execution_start

    execution = execution_start(
        database_id=asset.database_id,
        asset_id=asset.asset_id,
        workflow_id=workflow.workflow_id,
        workflow_database_id=workflow.database_id,
        file_key=file_key,
        user=request.user,
        trigger_source=TRIGGER_SOURCE_ADMIN,
    )
    return str(execution.execution_id)

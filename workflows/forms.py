"""Admin forms for workflows: the workflow fields plus its ordered pipeline steps.

The form assembles the same body a client sends to ``PUT /workflows`` and hands
it to ``workflow_create_or_update``, so the admin and the API share one set of
checks and one set of messages.
"""

import json

from django import forms
from django.forms import formset_factory

from vams.exceptions import DomainError
from vams.models import GLOBAL, Asset, AssetFile, Database
from workflows.models import Pipeline, Workflow
from workflows.services import function_entry_for
from workflows.validation import (
    ENTITY_ID_PATTERN,
    FILE_EXTENSION_PATTERN,
    SQS_QUEUE_URL_PATTERN,
    TASK_TIMEOUT_MAX_SECONDS,
)


def pipeline_key(database_id: str, pipeline_id: str) -> str:
    """Return the chooser value that names a pipeline: ``<databaseId>/<pipelineId>``."""
    return f"{database_id}/{pipeline_id}"


class PipelineAdminForm(forms.ModelForm):
    """A pipeline with the checks the pipeline API applies when saving one."""

    class Meta:
        model = Pipeline
        fields = [
            "database_id",
            "pipeline_id",
            "description",
            "pipeline_type",
            "pipeline_execution_type",
            "asset_type",
            "output_type",
            "wait_for_callback",
            "task_timeout",
            "task_heartbeat_timeout",
            "input_parameters",
            "user_provided_resource",
            "enabled",
        ]

    def clean_database_id(self) -> str:
        database_id = self.cleaned_data["database_id"].strip()
        if database_id == GLOBAL:
            return database_id
        if not Database.objects.filter(database_id=database_id).exists():
            raise forms.ValidationError(
                f"Database {database_id} does not exist; use GLOBAL or an existing "
                "database id."
            )
        return database_id

    def clean_pipeline_id(self) -> str:
        pipeline_id = self.cleaned_data["pipeline_id"]
        if not ENTITY_ID_PATTERN.fullmatch(pipeline_id):
            raise forms.ValidationError(
                "The pipeline id must be 4 to 64 letters, digits, '-' or '_'."
            )
        if pipeline_id.lower() == GLOBAL.lower():
            raise forms.ValidationError("GLOBAL cannot name a pipeline.")
        return pipeline_id

    def clean_description(self) -> str:
        description = self.cleaned_data["description"]
        if len(description) < 4:
            raise forms.ValidationError("The description must be 4 to 256 characters.")
        return description

    def _clean_extension(self, field: str) -> str:
        value = self.cleaned_data[field]
        if not FILE_EXTENSION_PATTERN.fullmatch(value):
            raise forms.ValidationError(
                "Use a dot followed by 1 to 7 letters or digits, such as .glb."
            )
        return value

    def clean_asset_type(self) -> str:
        return self._clean_extension("asset_type")

    def clean_output_type(self) -> str:
        return self._clean_extension("output_type")

    def clean_input_parameters(self) -> str:
        value = self.cleaned_data["input_parameters"].strip()
        if value and not isinstance(_json_or_none(value), dict):
            raise forms.ValidationError("Enter a JSON object, or leave it blank.")
        return value

    def clean_user_provided_resource(self) -> str:
        value = self.cleaned_data["user_provided_resource"].strip()
        if not isinstance(_json_or_none(value), dict):
            raise forms.ValidationError(
                'Enter a JSON object such as {"resourceId": "my-function"}.'
            )
        return value

    def clean(self) -> dict:
        cleaned_data = super().clean()
        self._check_unique(cleaned_data)
        self._check_resource(cleaned_data)
        self._check_timeouts(cleaned_data)
        return cleaned_data

    def _check_unique(self, cleaned_data: dict) -> None:
        if self.instance.pk is not None:
            return
        database_id = cleaned_data.get("database_id")
        pipeline_id = cleaned_data.get("pipeline_id")
        if Pipeline.objects.filter(
            database_id=database_id, pipeline_id=pipeline_id
        ).exists():
            raise forms.ValidationError(
                f"Pipeline {database_id}/{pipeline_id} already exists; open it from "
                "the list to change it."
            )

    def _check_resource(self, cleaned_data: dict) -> None:
        resource = _json_or_none(cleaned_data.get("user_provided_resource") or "")
        execution_type = cleaned_data.get("pipeline_execution_type")
        if not isinstance(resource, dict) or execution_type != "SQS":
            return
        queue_url = str(resource.get("resourceId", ""))
        if not SQS_QUEUE_URL_PATTERN.fullmatch(queue_url):
            self.add_error(
                "user_provided_resource",
                "An SQS pipeline's resourceId must be a queue URL such as "
                f"https://sqs.us-east-1.amazonaws.com/123456789012/my-queue; got "
                f"{queue_url!r}.",
            )

    def _check_timeouts(self, cleaned_data: dict) -> None:
        """Keep timeouts only with callback enabled, as the pipeline API stores them."""
        if cleaned_data.get("wait_for_callback") != Pipeline.Callback.ENABLED:
            cleaned_data["task_timeout"] = ""
            cleaned_data["task_heartbeat_timeout"] = ""
            return
        timeout = (cleaned_data.get("task_timeout") or "86400").strip()
        if not timeout.isdigit() or not 1 <= int(timeout) <= TASK_TIMEOUT_MAX_SECONDS:
            self.add_error(
                "task_timeout",
                f"Enter whole seconds from 1 to {TASK_TIMEOUT_MAX_SECONDS}.",
            )
            return
        cleaned_data["task_timeout"] = timeout
        heartbeat = (cleaned_data.get("task_heartbeat_timeout") or "").strip()
        if heartbeat and (
            not heartbeat.isdigit() or not 0 < int(heartbeat) < int(timeout)
        ):
            self.add_error(
                "task_heartbeat_timeout",
                f"Enter whole seconds above 0 and below the task timeout ({timeout}).",
            )


def _json_or_none(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return None


class FunctionEntryForm(forms.Form):
    pipeline = forms.ChoiceField(required=False)

    def __init__(self, *args, pipeline_choices=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].choices = [("", "---------"), *pipeline_choices]


class BaseFunctionEntryFormSet(forms.BaseFormSet):
    """The ordered function entries of a workflow.

    An entry that is kept (same pipeline key) stays exactly as stored, because a
    workflow's entries are a snapshot that later pipeline edits must not change.
    A newly chosen pipeline gets a fresh entry built from the live pipeline row.
    """

    def __init__(self, *args, stored_entries: list[dict] = (), **kwargs) -> None:
        self.stored_entries = {
            pipeline_key(entry.get("databaseId", ""), entry.get("name", "")): entry
            for entry in stored_entries
        }
        self.live_pipelines = {
            pipeline_key(pipeline.database_id, pipeline.pipeline_id): pipeline
            for pipeline in Pipeline.objects.order_by("database_id", "pipeline_id")
        }
        super().__init__(*args, **kwargs)

    def pipeline_choices(self) -> list[tuple[str, str]]:
        choices = [
            (
                key,
                f"{key} ({pipeline.pipeline_execution_type}, {pipeline.pipeline_type})",
            )
            for key, pipeline in self.live_pipelines.items()
        ]
        for key in self.stored_entries:
            if key not in self.live_pipelines:
                choices.append((key, f"{key} (pipeline not found)"))
        return choices

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        kwargs["pipeline_choices"] = self.pipeline_choices()
        return kwargs

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            pipeline_choices=self.pipeline_choices(),
            renderer=self.renderer,
        )
        self.add_fields(form, None)
        return form

    def function_entries(self) -> list[dict]:
        """Return the chosen entries sorted by order, with unordered rows last."""
        chosen = []
        for index, form in enumerate(self.forms):
            key = form.cleaned_data.get("pipeline")
            if not key or form.cleaned_data.get("DELETE"):
                continue
            order = form.cleaned_data.get("ORDER")
            chosen.append((order is None, order or 0, index, key))
        chosen.sort()

        entries = []
        for *_, key in chosen:
            if key in self.stored_entries:
                entries.append(self.stored_entries[key])
            else:
                entries.append(function_entry_for(self.live_pipelines[key]))
        return entries


FunctionEntryFormSet = formset_factory(
    FunctionEntryForm,
    formset=BaseFunctionEntryFormSet,
    extra=3,
    can_order=True,
    can_delete=True,
)


class WorkflowAdminForm(forms.ModelForm):
    """A workflow's fields and its pipeline steps, saved through the service.

    Django's admin calls ``save_model`` only after the form validated, which is
    too late to put a service message on the form. The service both validates
    and saves, so this form calls it as the last step of ``full_clean()``, once
    every other check passed. The admin runs the whole request in one
    transaction, so a later failure still rolls the row back.
    """

    class Meta:
        model = Workflow
        fields = [
            "database_id",
            "workflow_id",
            "description",
            "auto_trigger_on_file_extensions_upload",
        ]
        labels = {"auto_trigger_on_file_extensions_upload": "Auto-trigger on upload of"}
        help_texts = {
            "auto_trigger_on_file_extensions_upload": (
                "Comma-separated file extensions (jpg,png) or 'all'; blank disables "
                "the auto-trigger."
            ),
        }

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.saved_workflow: Workflow | None = None
        stored_entries = self.instance.functions if self.instance.pk else []
        initial = [
            {
                "pipeline": pipeline_key(
                    entry.get("databaseId", ""), entry.get("name", "")
                ),
                "ORDER": index + 1,
            }
            for index, entry in enumerate(stored_entries)
        ]
        # A bound formset gets no initial rows: Django skips validating extra
        # rows whose data equals their initial value, which would drop steps.
        self.functions_formset = FunctionEntryFormSet(
            data=self.data if self.is_bound else None,
            initial=None if self.is_bound else initial,
            prefix="functions",
            stored_entries=stored_entries,
        )
        if self.instance.pk:
            # The id pair is the workflow's key, so a new pair is a new workflow.
            for name in ("database_id", "workflow_id"):
                if name in self.fields:
                    self.fields[name].disabled = True

    def clean(self) -> dict:
        cleaned_data = super().clean()
        if self.instance.pk is None and self.errors.keys().isdisjoint(
            {"database_id", "workflow_id"}
        ):
            database_id = cleaned_data.get("database_id")
            workflow_id = cleaned_data.get("workflow_id")
            if Workflow.objects.filter(
                database_id=database_id, workflow_id=workflow_id
            ).exists():
                raise forms.ValidationError(
                    f"Workflow {database_id}/{workflow_id} already exists; open it "
                    "from the list to change it.",
                    code="duplicate",
                )
        return cleaned_data

    def full_clean(self) -> None:
        """Validate the fields and steps, then save through the service."""
        super().full_clean()
        formset_valid = self.functions_formset.is_valid()
        if not self.is_bound or self.errors or not formset_valid:
            return
        from workflows.services import workflow_create_or_update

        try:
            self.saved_workflow = workflow_create_or_update(
                data=self.request_body(), user=self.user
            )
        except DomainError as error:
            self.add_error(None, error.message)

    def request_body(self) -> dict:
        """Return the ``PUT /workflows`` body that this form describes."""
        return {
            "databaseId": self.cleaned_data.get("database_id", ""),
            "workflowId": self.cleaned_data.get("workflow_id", ""),
            "description": self.cleaned_data.get("description", ""),
            "specifiedPipelines": {
                "functions": self.functions_formset.function_entries()
            },
            "autoTriggerOnFileExtensionsUpload": self.cleaned_data.get(
                "auto_trigger_on_file_extensions_upload", ""
            ),
        }

    def save(self, commit: bool = True) -> Workflow:
        """Return the workflow the service saved during validation."""
        return self.saved_workflow

    def save_m2m(self) -> None:
        """Do nothing: a workflow has no many-to-many fields."""


class ExecuteOnFileForm(forms.Form):
    """Choose the asset file (or a whole asset) to run one workflow on."""

    WHOLE_ASSET = "asset"

    target = forms.ChoiceField(label="Asset file")

    def __init__(self, *args, workflow: Workflow, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.workflow = workflow
        self.fields["target"].choices = self.target_choices()

    def candidate_assets(self):
        assets = Asset.objects.select_related("database").prefetch_related("files")
        if self.workflow.database_id != "GLOBAL":
            assets = assets.filter(database_id=self.workflow.database_id)
        return assets.order_by("database_id", "asset_id")

    def target_choices(self) -> list:
        groups = []
        for asset in self.candidate_assets():
            options = [(f"{self.WHOLE_ASSET}:{asset.pk}", f"{asset} (whole asset)")]
            options += [
                (f"file:{asset_file.pk}", f"{asset}: {asset_file.relative_path}")
                for asset_file in asset.files.all()
            ]
            groups.append((str(asset), options))
        return groups

    def clean_target(self) -> tuple[Asset, str | None]:
        """Return the asset and the full S3 key (None for the whole asset)."""
        kind, _, pk = self.cleaned_data["target"].partition(":")
        if kind == self.WHOLE_ASSET:
            return Asset.objects.get(pk=pk), None
        asset_file = AssetFile.objects.select_related("asset").get(pk=pk)
        return asset_file.asset, asset_file.key

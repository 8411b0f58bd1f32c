"""Writes of workflows. The API, the admin and commands all save through here.

Saving a Workflow row fires the state machine receiver (``workflows.receivers``),
which creates, updates or deletes the Step Functions state machine and raises
UpstreamFailure or Throttled when that fails. Both writes below run inside
``transaction.atomic()``, so such a failure leaves the database unchanged.
"""

import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from authz.services import authz_check
from vams.exceptions import Forbidden, InvalidInput, NotFound
from workflows.models import Pipeline, Workflow
from workflows.selectors import WORKFLOW_NOT_FOUND
from workflows.serializers import (
    pipeline_authz_object,
    workflow_instance_authz_object,
    workflow_key_authz_object,
)
from workflows.validation import (
    PipelineFacts,
    pipeline_reference_errors,
    validate_workflow_body,
)

logger = logging.getLogger(__name__)

NOT_AUTHORIZED = "Not Authorized"
PIPELINE_NOT_AUTHORIZED = (
    "Not Authorized to read the pipeline {name} in database {database_id} "
    "(pipeline entry {index})."
)
WORKFLOW_SAVE_CONFLICT = (
    "Workflow {workflow_id} in database {database_id} was changed by another "
    "request while saving; send the request again."
)


def workflow_create_or_update(*, data: dict, user) -> Workflow:
    """Create or fully replace the live workflow described by a PUT body.

    Order of checks: every field of ``data`` (400 listing each failure), GET on
    each referenced pipeline (403), PUT on the workflow (403), then that each
    pipeline exists, is live and agrees with its entry (400). The row is saved
    inside a transaction, and the state machine receiver runs during that save.
    A soft-deleted workflow with the same id does not count as existing, so
    saving creates a new row with a new dateCreated.

    Raises InvalidInput, Forbidden, and UpstreamFailure or Throttled from the
    receiver. Nothing is stored when any of them is raised.
    """
    validate_workflow_body(data)
    functions = data["specifiedPipelines"]["functions"]
    _authorize_pipelines(functions, user)
    workflow_object = workflow_key_authz_object(
        database_id=data["databaseId"], workflow_id=data["workflowId"]
    )
    if not authz_check(user=user, obj=workflow_object, action="PUT"):
        raise Forbidden(NOT_AUTHORIZED)
    errors = pipeline_reference_errors(functions, _stored_pipeline_facts(functions))
    if errors:
        raise InvalidInput(" ".join(errors))

    try:
        return _save_workflow(data, user)
    except IntegrityError:
        logger.warning(
            "Workflow save collided with a concurrent create, retrying "
            "database_id=%s workflow_id=%s",
            data["databaseId"],
            data["workflowId"],
        )
    # The retry finds the other request's row and replaces it.
    try:
        return _save_workflow(data, user)
    except IntegrityError:
        raise InvalidInput(
            WORKFLOW_SAVE_CONFLICT.format(
                workflow_id=repr(data["workflowId"]),
                database_id=repr(data["databaseId"]),
            )
        ) from None


def workflow_soft_delete(*, workflow: Workflow, user) -> None:
    """Mark ``workflow`` deleted, so the receiver deletes its state machine.

    Raises Forbidden without DELETE permission on the row, NotFound when the
    row is already deleted, and UpstreamFailure or Throttled from the
    receiver, in which case the row stays live.
    """
    if not authz_check(
        user=user, obj=workflow_instance_authz_object(workflow), action="DELETE"
    ):
        raise Forbidden(NOT_AUTHORIZED)
    with transaction.atomic():
        locked = Workflow.objects.select_for_update().filter(pk=workflow.pk).first()
        if locked is None:
            raise NotFound(WORKFLOW_NOT_FOUND)
        locked.deleted_at = timezone.now()
        locked.deleted_by = _username(user)
        locked.save()
    workflow.deleted_at = locked.deleted_at
    workflow.deleted_by = locked.deleted_by
    workflow.workflow_arn = locked.workflow_arn
    logger.info(
        "Workflow deleted database_id=%s workflow_id=%s user=%s",
        workflow.database_id,
        workflow.workflow_id,
        workflow.deleted_by,
    )


def _authorize_pipelines(functions: list[dict], user) -> None:
    for index, entry in enumerate(functions):
        pipeline_object = pipeline_authz_object(
            database_id=entry["databaseId"],
            pipeline_id=entry["name"],
            pipeline_type=entry["pipelineType"],
            pipeline_execution_type=entry["pipelineExecutionType"],
        )
        if not authz_check(user=user, obj=pipeline_object, action="GET"):
            raise Forbidden(
                PIPELINE_NOT_AUTHORIZED.format(
                    name=repr(entry["name"]),
                    database_id=repr(entry["databaseId"]),
                    index=index,
                )
            )


def _stored_pipeline_facts(
    functions: list[dict],
) -> dict[tuple[str, str], PipelineFacts]:
    """Read the live pipelines the entries name, in one query."""
    names = {entry["name"] for entry in functions}
    database_ids = {entry["databaseId"] for entry in functions}
    rows = Pipeline.objects.filter(
        pipeline_id__in=names, database_id__in=database_ids
    ).values_list(
        "database_id",
        "pipeline_id",
        "pipeline_type",
        "pipeline_execution_type",
        "user_provided_resource",
    )
    return {
        (database_id, pipeline_id): PipelineFacts(
            pipeline_type, execution_type, resource
        )
        for database_id, pipeline_id, pipeline_type, execution_type, resource in rows
    }


def _save_workflow(data: dict, user) -> Workflow:
    now = timezone.now()
    with transaction.atomic():
        workflow = (
            Workflow.objects.select_for_update()
            .filter(database_id=data["databaseId"], workflow_id=data["workflowId"])
            .first()
        )
        created = workflow is None
        if created:
            workflow = Workflow(
                database_id=data["databaseId"],
                workflow_id=data["workflowId"],
                date_created=now,
            )
        workflow.description = data["description"]
        workflow.specified_pipelines = _stored_specified_pipelines(
            data["specifiedPipelines"]
        )
        workflow.auto_trigger_on_file_extensions_upload = (
            data.get("autoTriggerOnFileExtensionsUpload") or ""
        )
        workflow.date_modified = now
        workflow.modified_by = _username(user)
        try:
            # The unique constraint is left to the database, where a concurrent
            # create fails with IntegrityError and is retried by the caller.
            workflow.full_clean(validate_constraints=False)
        except ValidationError as error:
            raise InvalidInput(_validation_message(error)) from None
        workflow.save()
    logger.info(
        "Workflow %s database_id=%s workflow_id=%s user=%s",
        "created" if created else "updated",
        workflow.database_id,
        workflow.workflow_id,
        workflow.modified_by,
    )
    return workflow


def _stored_specified_pipelines(specified_pipelines: dict) -> dict:
    """Return the entries as sent, each also carrying pipelineId and object__type.

    Unknown keys are kept, and each entry keeps its own databaseId (GLOBAL or
    the workflow's), which is where execution looks its pipeline up.
    """
    functions = [
        {**entry, "pipelineId": entry["name"], "object__type": "pipeline"}
        for entry in specified_pipelines["functions"]
    ]
    return {**specified_pipelines, "functions": functions}


def _username(user) -> str:
    return user.get_username() if user is not None else "system"


def _validation_message(error: ValidationError) -> str:
    sentences = []
    for field, messages in error.message_dict.items():
        sentences.extend(f"{field}: {message}" for message in messages)
    return " ".join(sentences)


# Pipeline fields copied into a workflow's function entry, as the API documents them.
OPTIONAL_ENTRY_FIELDS = {
    "taskTimeout": "task_timeout",
    "taskHeartbeatTimeout": "task_heartbeat_timeout",
    "inputParameters": "input_parameters",
}


def function_entry_for(pipeline: Pipeline) -> dict:
    """Build the function entry that references ``pipeline`` in a workflow."""
    entry = {
        "name": pipeline.pipeline_id,
        "databaseId": pipeline.database_id,
        "pipelineType": pipeline.pipeline_type,
        "pipelineExecutionType": pipeline.pipeline_execution_type,
        "outputType": pipeline.output_type,
        "waitForCallback": pipeline.wait_for_callback,
        "userProvidedResource": pipeline.user_provided_resource,
    }
    for entry_field, model_field in OPTIONAL_ENTRY_FIELDS.items():
        value = getattr(pipeline, model_field)
        if value:
            entry[entry_field] = value
    if pipeline.wait_for_callback == Pipeline.Callback.ENABLED:
        entry.setdefault("taskTimeout", "86400")
    return entry

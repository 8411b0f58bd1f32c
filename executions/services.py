"""Start, stop and refresh workflow executions.

An execution row is inserted (status NEW) under the database constraint that
allows one running execution per workflow, asset and file key. The Step
Functions start is the last step of the same transaction, so a rejected start
leaves no row and two concurrent starts on one file cannot both succeed.
"""

import json
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from authz.services import authz_check
from executions import validation
from executions.models import WorkflowExecution
from vams.assets import asset_authz_object
from vams.aws import s3, stepfunctions
from vams.aws.errors import AwsError
from vams.exceptions import Forbidden, InvalidInput, NotFound, Throttled, UpstreamFailure
from vams.models import GLOBAL, Asset
from workflows.models import Pipeline, Workflow
from workflows.serializers import pipeline_authz_object, workflow_key_authz_object

logger = logging.getLogger(__name__)

NOT_AUTHORIZED = "Not Authorized"
WORKFLOW_SCOPE = (
    "Workflow can only be executed on assets of its own database or from GLOBAL; "
    "workflowDatabaseId {workflow_database_id!r} is neither GLOBAL nor {database_id!r}."
)
ASSET_NOT_FOUND_FOR_EXECUTE = "Asset {asset_id!r} was not found in database {database_id!r}."
ASSET_NOT_FOUND = "Asset not found: no asset {asset_id!r} in database {database_id!r}."
WORKFLOW_NOT_FOUND = (
    "Workflow {workflow_id!r} was not found in {workflow_database_id!r}; "
    "it does not exist or was deleted."
)
PIPELINE_MISSING = (
    "Pipeline {pipeline_id!r} in {pipeline_database_id!r} is not enabled/accessible: "
    "it does not exist or was deleted."
)
PIPELINE_DISABLED = (
    "Pipeline {pipeline_id!r} in {pipeline_database_id!r} is not enabled/accessible: "
    "it is disabled."
)
NO_STATE_MACHINE = (
    "Workflow {workflow_id!r} has no state machine; save the workflow again to create one."
)
ALREADY_RUNNING = (
    "Workflow {workflow_id!r} already has a running execution on {file_key!r}; "
    "wait for it to finish or stop it first."
)
START_THROTTLED = "Step Functions throttled the start of workflow {workflow_id!r}; retry later."
START_LIMIT_EXCEEDED = (
    "Step Functions refused to start workflow {workflow_id!r} because the account's limit "
    "of open executions is reached; retry when running executions finish."
)
START_STATE_MACHINE_MISSING = (
    "The state machine of workflow {workflow_id!r} no longer exists in Step Functions; "
    "save the workflow again to recreate it."
)
START_FAILED = "Starting workflow {workflow_id!r} in Step Functions failed ({code})."
INVALID_EXECUTION_FIELDS = "The execution is invalid: {detail}."
EXECUTION_NOT_FOUND = (
    "Execution {execution_id!r} of workflow {workflow_id!r} was not found on asset {asset_id!r}."
)
EXECUTION_NOT_RUNNING = (
    "Execution {execution_id!r} is already {status}; only running executions can be stopped."
)
STOP_THROTTLED = "Step Functions throttled the stop of execution {execution_id!r}; retry later."
STOP_FAILED = "Stopping execution {execution_id!r} in Step Functions failed ({code})."
FILE_CHECK_FAILED = "Checking that {key!r} exists in S3 failed ({code}); retry later."

# A running row whose execution Step Functions has no record of (its state
# machine was deleted, or the history expired) is closed with these values.
VANISHED_ERROR = "ExecutionNotFound"
VANISHED_CAUSE = (
    "Step Functions has no record of this execution: its state machine was deleted "
    "or its history expired, so its outcome is unknown."
)
STOP_ERROR = "vams.Stopped"
STOP_CAUSE = "Stopped by {user} through the VAMS API."
TRIGGER_SOURCE_API = "api"


def pipeline_row_authz_object(pipeline: Pipeline) -> dict:
    return pipeline_authz_object(
        database_id=pipeline.database_id,
        pipeline_id=pipeline.pipeline_id,
        pipeline_type=pipeline.pipeline_type,
        pipeline_execution_type=pipeline.pipeline_execution_type,
    )


def asset_get_for_execution(*, database_id: str, asset_id: str) -> Asset | None:
    return (
        Asset.objects.select_related("database")
        .filter(database_id=database_id, asset_id=asset_id)
        .first()
    )


def execution_start(
    *,
    database_id,
    asset_id,
    workflow_id,
    workflow_database_id,
    file_key,
    user,
    trigger_source: str = "",
) -> WorkflowExecution:
    """Start ``workflow_id`` on one file of an asset (or the whole asset) and record it.

    Raises InvalidInput (400) for bad parameters, a missing asset, workflow or
    file, a disabled or missing pipeline, or a running execution on the same
    file. Raises Forbidden (403) when the user may not POST on the asset, the
    workflow or a pipeline. Raises Throttled (429) or UpstreamFailure (500) when
    Step Functions rejects the start. Nothing is stored unless the start succeeded.
    """
    validation.validate_database_id(database_id)
    validation.validate_asset_id(asset_id)
    validation.validate_workflow_id(workflow_id)
    validation.validate_workflow_database_id(workflow_database_id)
    file_key = validation.validate_optional_file_key(file_key)
    if workflow_database_id not in (GLOBAL, database_id):
        raise InvalidInput(
            WORKFLOW_SCOPE.format(
                workflow_database_id=workflow_database_id, database_id=database_id
            )
        )

    asset = asset_get_for_execution(database_id=database_id, asset_id=asset_id)
    if asset is None:
        raise InvalidInput(
            ASSET_NOT_FOUND_FOR_EXECUTE.format(asset_id=asset_id, database_id=database_id),
            code="asset_not_found",
        )
    if not authz_check(user=user, obj=asset_authz_object(asset), action="POST"):
        raise Forbidden(NOT_AUTHORIZED)

    workflow = Workflow.objects.filter(
        database_id=workflow_database_id, workflow_id=workflow_id
    ).first()
    if workflow is None:
        raise InvalidInput(
            WORKFLOW_NOT_FOUND.format(
                workflow_id=workflow_id, workflow_database_id=workflow_database_id
            ),
            code="workflow_not_found",
        )
    workflow_object = workflow_key_authz_object(
        database_id=workflow.database_id, workflow_id=workflow.workflow_id
    )
    if not authz_check(user=user, obj=workflow_object, action="POST"):
        raise Forbidden(NOT_AUTHORIZED)
    _check_pipelines(workflow, user)

    input_key = _resolve_existing_key(asset, file_key)
    if not workflow.workflow_arn:
        raise UpstreamFailure(NO_STATE_MACHINE.format(workflow_id=workflow_id))
    _close_finished_runs(asset=asset, workflow=workflow, input_key=input_key)
    return _insert_and_start(
        asset=asset,
        workflow=workflow,
        input_key=input_key,
        file_key_sent=file_key,
        user=user,
        trigger_source=trigger_source or TRIGGER_SOURCE_API,
    )


def _check_pipelines(workflow: Workflow, user) -> None:
    """Check each function's pipeline in order: alive and enabled (400), then POST (403)."""
    for function in workflow.functions:
        pipeline_id = function.get("name") or function.get("pipelineId") or ""
        # Each function is looked up under its own databaseId (GLOBAL or the
        # workflow's), so a GLOBAL pipeline inside a database workflow is found.
        pipeline_database_id = function.get("databaseId") or workflow.database_id
        pipeline = Pipeline.objects.filter(
            database_id=pipeline_database_id, pipeline_id=pipeline_id
        ).first()
        names = {"pipeline_id": pipeline_id, "pipeline_database_id": pipeline_database_id}
        if pipeline is None:
            raise InvalidInput(PIPELINE_MISSING.format(**names), code="pipeline_missing")
        if not pipeline.enabled:
            raise InvalidInput(PIPELINE_DISABLED.format(**names), code="pipeline_disabled")
        if not authz_check(user=user, obj=pipeline_row_authz_object(pipeline), action="POST"):
            raise Forbidden(NOT_AUTHORIZED)


def _resolve_existing_key(asset: Asset, file_key: str | None) -> str:
    """Return the full S3 key of the input after checking that the object exists.

    The asset's base key (the whole asset folder) is returned without a check.
    """
    key = validation.resolve_file_key(base_key=asset.base_key, file_key=file_key)
    if key == asset.base_key:
        return key
    try:
        found = s3.head_object(bucket=settings.VAMS_ASSET_BUCKET, key=key)
    except AwsError as error:
        if error.is_throttling:
            raise Throttled(FILE_CHECK_FAILED.format(key=key, code=error.code)) from error
        raise UpstreamFailure(FILE_CHECK_FAILED.format(key=key, code=error.code)) from error
    if found is None:
        raise InvalidInput(
            validation.FILE_KEY_NOT_FOUND.format(
                value=file_key, key=key, asset_id=asset.asset_id
            ),
            code="file_not_found",
        )
    return key


def _close_finished_runs(*, asset: Asset, workflow: Workflow, input_key: str) -> None:
    """Refresh the running rows for this key, so a run that ended does not block a start."""
    running = WorkflowExecution.objects.filter(
        asset=asset,
        workflow_database_id=workflow.database_id,
        workflow_id=workflow.workflow_id,
        input_asset_file_key=input_key,
        stop_date__isnull=True,
    )
    for execution in running:
        try:
            execution_refresh(execution)
        except AwsError:
            # The row still counts as running, so the start's insert then fails
            # with the "already running" error.
            logger.warning(
                "Could not refresh execution_id=%s before a start", execution.execution_id
            )


def build_inputs_metadata(asset: Asset) -> str:
    """Return the ``inputMetadata`` JSON string handed to every pipeline."""
    return json.dumps(
        {
            "VAMS": {
                "assetData": {
                    "assetName": asset.asset_name,
                    "description": asset.description,
                    "tags": list(asset.tags or []),
                },
                "assetMetadata": {},
                "fileMetadata": {},
                "fileAttributes": {},
            }
        }
    )


def build_execution_input(
    *,
    asset: Asset,
    workflow: Workflow,
    input_key: str,
    user_name: str,
    trigger_source: str,
    execution_id: str,
) -> dict:
    """Return the state machine's input document (the keys every VAMS pipeline reads)."""
    return {
        "bucketAsset": settings.VAMS_ASSET_BUCKET,
        "bucketAssetAuxiliary": settings.VAMS_AUXILIARY_BUCKET,
        "inputAssetLocationKey": asset.base_key,
        "inputAssetFileKey": input_key,
        "databaseId": asset.database_id,
        "assetId": asset.asset_id,
        "workflowDatabaseId": workflow.database_id,
        "workflowId": workflow.workflow_id,
        "inputMetadata": build_inputs_metadata(asset),
        "executingUserName": user_name,
        "executingRequestContext": {
            "triggerSource": trigger_source,
            "executionId": execution_id,
            "requestTime": timezone.now().isoformat(),
        },
    }


def _insert_and_start(
    *,
    asset: Asset,
    workflow: Workflow,
    input_key: str,
    file_key_sent: str | None,
    user,
    trigger_source: str,
) -> WorkflowExecution:
    execution_id = uuid.uuid4()
    user_name = user.get_username() if user is not None else ""
    execution = WorkflowExecution(
        execution_id=execution_id,
        workflow_database_id=workflow.database_id,
        workflow_id=workflow.workflow_id,
        workflow_arn=workflow.workflow_arn,
        asset=asset,
        input_asset_file_key=input_key,
        status=WorkflowExecution.Status.NEW,
        started_by=user_name,
        trigger_source=trigger_source,
    )
    try:
        execution.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise InvalidInput(INVALID_EXECUTION_FIELDS.format(detail=error.messages[0])) from error
    payload = build_execution_input(
        asset=asset,
        workflow=workflow,
        input_key=input_key,
        user_name=user_name,
        trigger_source=trigger_source,
        execution_id=str(execution_id),
    )
    # NOTE: if the commit itself fails after Step Functions started the run, the
    # run has no row, and sync_executions (which walks rows) does not find it.
    try:
        with transaction.atomic():
            execution.save(force_insert=True)
            started = _start_in_step_functions(workflow, str(execution_id), payload)
            execution.execution_arn = started.arn
            execution.start_date = started.start_date
            execution.status = WorkflowExecution.Status.RUNNING
            execution.save(update_fields=["execution_arn", "start_date", "status"])
    except IntegrityError as error:
        shown_key = file_key_sent if file_key_sent is not None else input_key
        raise InvalidInput(
            ALREADY_RUNNING.format(workflow_id=workflow.workflow_id, file_key=shown_key),
            code="execution_already_running",
        ) from error
    logger.info(
        "Started execution_id=%s workflow=%s/%s database_id=%s asset_id=%s key=%s trigger=%s",
        execution_id,
        workflow.database_id,
        workflow.workflow_id,
        asset.database_id,
        asset.asset_id,
        input_key,
        trigger_source,
    )
    return execution


def _start_in_step_functions(workflow: Workflow, name: str, payload: dict):
    try:
        return stepfunctions.start_execution(
            state_machine_arn=workflow.workflow_arn, name=name, payload=payload
        )
    except AwsError as error:
        names = {"workflow_id": workflow.workflow_id}
        if error.is_throttling:
            raise Throttled(START_THROTTLED.format(**names)) from error
        if error.code == "ExecutionLimitExceeded":
            raise UpstreamFailure(
                START_LIMIT_EXCEEDED.format(**names), code="execution_limit_exceeded"
            ) from error
        if error.code == "StateMachineDoesNotExist":
            raise UpstreamFailure(START_STATE_MACHINE_MISSING.format(**names)) from error
        raise UpstreamFailure(START_FAILED.format(code=error.code, **names)) from error


@dataclass(frozen=True)
class RefreshResult:
    execution: WorkflowExecution
    # True when this call closed the row (it was running and has now stopped).
    closed: bool
    vanished: bool


def execution_refresh(execution: WorkflowExecution) -> RefreshResult:
    """Read a running execution's state from Step Functions and store it once it stopped.

    A row whose execution Step Functions has no record of is closed as ABORTED
    with error ``ExecutionNotFound``. Other AWS failures raise ``AwsError`` and
    leave the row as it was. Rows that already have a stop date are returned
    unchanged, without a Step Functions call.
    """
    if execution.stop_date is not None:
        return RefreshResult(execution=execution, closed=False, vanished=False)
    if not execution.execution_arn:
        return _close(execution, _vanished_fields(), vanished=True)
    try:
        snapshot = stepfunctions.describe_execution(execution_arn=execution.execution_arn)
    except AwsError as error:
        if stepfunctions.is_missing(error):
            return _close(execution, _vanished_fields(), vanished=True)
        raise
    if snapshot.stop_date is None:
        if snapshot.status != execution.status or execution.start_date is None:
            execution.status = snapshot.status
            execution.start_date = snapshot.start_date or execution.start_date
            WorkflowExecution.objects.filter(pk=execution.pk, stop_date__isnull=True).update(
                status=execution.status, start_date=execution.start_date
            )
        return RefreshResult(execution=execution, closed=False, vanished=False)
    fields = {
        "status": snapshot.status,
        "start_date": snapshot.start_date or execution.start_date,
        "stop_date": snapshot.stop_date,
        "error": (snapshot.error or "")[:256],
        "cause": snapshot.cause or "",
    }
    return _close(execution, fields, vanished=False)


def _vanished_fields() -> dict:
    return {
        "status": WorkflowExecution.Status.ABORTED,
        "stop_date": timezone.now(),
        "error": VANISHED_ERROR,
        "cause": VANISHED_CAUSE,
    }


def _close(execution: WorkflowExecution, fields: dict, *, vanished: bool) -> RefreshResult:
    """Write the final fields unless another refresh closed the row first."""
    updated = WorkflowExecution.objects.filter(
        pk=execution.pk, stop_date__isnull=True
    ).update(**fields)
    execution.refresh_from_db()
    if updated:
        logger.info(
            "Execution stopped execution_id=%s status=%s error=%s",
            execution.execution_id,
            execution.status,
            execution.error,
        )
    return RefreshResult(execution=execution, closed=bool(updated), vanished=vanished and bool(updated))


def execution_stop(
    *, database_id, asset_id, workflow_id, execution_id, user
) -> WorkflowExecution:
    """Stop a running execution through Step Functions and record it as ABORTED.

    Raises NotFound (404) for a missing asset or execution, Forbidden (403)
    without POST on the asset or the execution's workflow, and InvalidInput
    (400) when the execution has already stopped.
    """
    validation.validate_database_id(database_id)
    validation.validate_asset_id(asset_id)
    validation.validate_workflow_id(workflow_id)
    asset = asset_get_for_execution(database_id=database_id, asset_id=asset_id)
    if asset is None:
        raise NotFound(ASSET_NOT_FOUND.format(asset_id=asset_id, database_id=database_id))
    if not authz_check(user=user, obj=asset_authz_object(asset), action="POST"):
        raise Forbidden(NOT_AUTHORIZED)
    execution = _find_execution(asset=asset, workflow_id=workflow_id, execution_id=execution_id)
    workflow_object = workflow_key_authz_object(
        database_id=execution.workflow_database_id, workflow_id=execution.workflow_id
    )
    if not authz_check(user=user, obj=workflow_object, action="POST"):
        raise Forbidden(NOT_AUTHORIZED)

    try:
        execution = execution_refresh(execution).execution
    except AwsError as error:
        raise UpstreamFailure(STOP_FAILED.format(execution_id=execution_id, code=error.code)) from error
    if execution.stop_date is not None:
        raise InvalidInput(
            EXECUTION_NOT_RUNNING.format(execution_id=execution_id, status=execution.status),
            code="execution_not_running",
        )
    user_name = user.get_username() if user is not None else "system"
    try:
        stepfunctions.stop_execution(
            execution_arn=execution.execution_arn,
            error=STOP_ERROR,
            cause=STOP_CAUSE.format(user=user_name),
        )
    except AwsError as error:
        if error.is_throttling:
            raise Throttled(STOP_THROTTLED.format(execution_id=execution_id)) from error
        raise UpstreamFailure(STOP_FAILED.format(execution_id=execution_id, code=error.code)) from error
    _close(execution, _stopped_fields(execution, user_name), vanished=False)
    execution.refresh_from_db()
    logger.info("Stopped execution_id=%s by user=%s", execution.execution_id, user_name)
    return execution


def _stopped_fields(execution: WorkflowExecution, user_name: str) -> dict:
    """Return the final fields after a stop Step Functions accepted.

    Step Functions may still report RUNNING for a moment, so the row is closed
    as ABORTED now. The error and cause sent with the stop are stored when Step
    Functions reports none.
    """
    fields = {
        "status": WorkflowExecution.Status.ABORTED,
        "stop_date": timezone.now(),
        "error": STOP_ERROR,
        "cause": STOP_CAUSE.format(user=user_name),
    }
    try:
        snapshot = stepfunctions.describe_execution(execution_arn=execution.execution_arn)
    except AwsError:
        return fields
    if snapshot.stop_date is None:
        return fields
    fields["status"] = snapshot.status
    fields["stop_date"] = snapshot.stop_date
    if snapshot.status != WorkflowExecution.Status.ABORTED:
        # It finished on its own before the stop arrived.
        fields["error"] = snapshot.error[:256]
        fields["cause"] = snapshot.cause
    elif snapshot.error or snapshot.cause:
        fields["error"] = snapshot.error[:256]
        fields["cause"] = snapshot.cause
    return fields


def _find_execution(*, asset: Asset, workflow_id: str, execution_id) -> WorkflowExecution:
    not_found = NotFound(
        EXECUTION_NOT_FOUND.format(
            execution_id=str(execution_id), workflow_id=workflow_id, asset_id=asset.asset_id
        )
    )
    try:
        parsed = uuid.UUID(str(execution_id))
    except ValueError:
        raise not_found from None
    execution = WorkflowExecution.objects.filter(
        asset=asset, workflow_id=workflow_id, execution_id=parsed
    ).first()
    if execution is None:
        raise not_found
    return execution

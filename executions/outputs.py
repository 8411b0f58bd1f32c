"""Register an execution's pipeline outputs on its asset, exactly once.

The closing step of every workflow state machine sends one SQS message to the
queue ``settings.VAMS_OUTPUT_QUEUE_NAME`` and waits for its task token. The body
is ``{"body": {...output locations..., "TaskToken": ...}}``. The consumer here
registers the outputs and then sends task success for the token, so an
execution ends SUCCEEDED only after its outputs are on the asset. The consumer
then waits briefly for the execution to stop and stores its final status on the row.

What registration does, per output folder under
``pipelines/<pipeline>/<job>/output/<execution id>/``:

- ``files/``: each object is copied to the asset's base key at the same relative
  path and recorded as an ``AssetFile`` with source ``pipeline``. A folder that
  contains an executable is skipped whole, and files whose extension the
  database does not accept are skipped.
- ``previews/``: the first image in key order is copied to
  ``<base key>previews/<name>`` and becomes the asset's ``preview_key``. Keys
  with a ``previews`` folder never start auto-triggered workflows.
- ``metadata/``: each ``.json`` object is stored like a file (copied under the
  base key and recorded as an ``AssetFile``); its content is not applied,
  because the service has no metadata store.

The copied source objects are deleted after the registration commits. Pipeline
outputs do not start auto-triggered workflows.

Exactly once: the registration runs in one transaction that first claims the
row with ``UPDATE ... WHERE outputs_registered_at IS NULL``. A second consumer,
or ``sync_executions``, waits on that row lock and then finds it claimed.
"""

import json
import logging
import mimetypes
import posixpath
import re
import time
import uuid
from dataclasses import dataclass, field
from enum import Enum

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, transaction
from django.utils import timezone

from authz.services import authz_check
from executions.models import WorkflowExecution
from executions.services import execution_refresh
from vams import assets
from vams.aws import s3, sqs, stepfunctions
from vams.aws.errors import AwsError
from vams.models import AssetFile
from workflows.models import Workflow

logger = logging.getLogger(__name__)

OUTPUT_FOLDER_PATTERN = re.compile(
    r"^pipelines/[^/]+/[^/]+/output/(?P<execution_id>[^/]+)/(?P<kind>files|metadata|previews)/$"
)
PREVIEW_EXTENSIONS = frozenset({"jpeg", "jpg", "png", "gif", "svg"})
# Extensions of programs a pipeline must not place into an asset.
BLOCKED_EXTENSIONS = frozenset(
    {"exe", "dll", "bat", "cmd", "com", "msi", "scr", "ps1", "vbs", "jar", "sh", "app"}
)
# Step Functions error codes that mean the task token is no longer valid.
DEAD_TOKEN_CODES = frozenset({"TaskDoesNotExist", "InvalidToken", "TaskTimedOut"})
# How long the consumer polls for the execution to stop after task success. A
# row still running after this wait keeps its status until executions_sync runs.
STOP_POLL_SECONDS = 3.0
STOP_POLL_INTERVAL_SECONDS = 0.2
PROCESSING_COMPLETE = "Workflow Execution Output Processing Complete"
ALREADY_REGISTERED = "Workflow Execution Outputs Already Registered"

INVALID_MESSAGE = "Invalid output message: {detail}."
EXECUTION_UNKNOWN = "Invalid output message: execution {execution_id!r} is not recorded."
NOT_AUTHORIZED = "Not Authorized: user {user!r} may not change asset {asset_id!r}."


class TaskSuccess(Enum):
    SENT = "sent"
    # The token expired or its execution ended, so no task waits for the result.
    TOKEN_DEAD = "token_dead"
    # A retryable failure: the message stays in the queue.
    FAILED = "failed"


class InvalidOutputMessage(Exception):
    """Output message that cannot be processed. The execution still ends normally."""


class OutputsNotAuthorized(Exception):
    """The executing user may not PUT on the asset, so no output is registered."""


@dataclass(frozen=True)
class OutputLocation:
    files_key: str
    metadata_key: str
    preview_key: str


@dataclass
class RegistrationResult:
    files: int = 0
    metadata_files: int = 0
    preview_key: str = ""
    skipped: list[str] = field(default_factory=list)

    def as_output(self) -> dict:
        return {
            "statusCode": 200,
            "message": PROCESSING_COMPLETE,
            "filesRegistered": self.files,
            "metadataFilesRegistered": self.metadata_files,
            "previewKey": self.preview_key,
            "skipped": self.skipped,
        }


def location_for(prefix: str) -> OutputLocation:
    """Return the three output folders under ``pipelines/<p>/<job>/output/<exec>/``."""
    return OutputLocation(
        files_key=f"{prefix}files/",
        metadata_key=f"{prefix}metadata/",
        preview_key=f"{prefix}previews/",
    )


def outputs_register(
    *, execution: WorkflowExecution, location: OutputLocation
) -> RegistrationResult | None:
    """Register the outputs at ``location`` on the execution's asset.

    Returns None, without touching anything, when the execution's outputs were
    registered before. Raises OutputsNotAuthorized (nothing registered, the row
    still claimed) when the executing user may not PUT on the asset, and
    AwsError or DatabaseError on failures worth a retry (nothing claimed).
    """
    asset = execution.asset
    with transaction.atomic():
        claimed = WorkflowExecution.objects.filter(
            pk=execution.pk, outputs_registered_at__isnull=True
        ).update(outputs_registered_at=timezone.now())
        if not claimed:
            logger.info("Outputs already registered execution_id=%s", execution.execution_id)
            return None
        if not _may_change_asset(execution):
            denied = OutputsNotAuthorized(
                NOT_AUTHORIZED.format(user=execution.started_by, asset_id=asset.asset_id)
            )
        else:
            denied = None
            result, copied = _copy_outputs(execution, location)
            assets.asset_refresh_type(asset)
            transaction.on_commit(lambda: _delete_sources(copied))
    if denied is not None:
        logger.warning(
            "Outputs not registered execution_id=%s user=%s: no PUT on asset_id=%s",
            execution.execution_id,
            execution.started_by,
            asset.asset_id,
        )
        raise denied
    logger.info(
        "Registered outputs execution_id=%s asset_id=%s files=%d metadata=%d preview=%s",
        execution.execution_id,
        asset.asset_id,
        result.files,
        result.metadata_files,
        result.preview_key or "-",
    )
    return result


def _may_change_asset(execution: WorkflowExecution) -> bool:
    user = get_user_model().objects.filter(username=execution.started_by).first()
    if user is None:
        return False
    return authz_check(user=user, obj=assets.asset_authz_object(execution.asset), action="PUT")


def _list_folder(prefix: str) -> list[s3.ObjectInfo]:
    objects = s3.list_objects(bucket=settings.VAMS_ASSET_BUCKET, prefix=prefix)
    return sorted((item for item in objects if not item.key.endswith("/")), key=lambda item: item.key)


def _copy_outputs(
    execution: WorkflowExecution, location: OutputLocation
) -> tuple[RegistrationResult, list[str]]:
    """Copy the three output folders onto the asset.

    Returns the result and the copied source keys.
    """
    result = RegistrationResult()
    copied: list[str] = []
    asset = execution.asset
    execution_id = str(execution.execution_id)

    preview = _first_preview(location.preview_key)
    if preview is not None:
        name = posixpath.basename(preview.key)
        target = f"{asset.base_key}previews/{name}"
        _copy(preview.key, target)
        copied.append(preview.key)
        asset.preview_key = target
        asset.save(update_fields=["preview_key"])
        result.preview_key = target

    files = _list_folder(location.files_key)
    blocked = [item.key for item in files if assets.file_extension(item.key) in BLOCKED_EXTENSIONS]
    if blocked:
        logger.warning(
            "Skipped output folder execution_id=%s folder=%s: executable %s",
            execution_id,
            location.files_key,
            blocked[0],
        )
        result.skipped.extend(item.key for item in files)
        files = []
    relative_paths = {item.key[len(location.files_key) :] for item in files}
    for item in files:
        relative = item.key[len(location.files_key) :]
        if not _accept_file(asset, relative, relative_paths):
            result.skipped.append(item.key)
            continue
        _register_copy(asset, item, asset.base_key + relative, execution_id)
        copied.append(item.key)
        result.files += 1

    for item in _list_folder(location.metadata_key):
        relative = item.key[len(location.metadata_key) :]
        if not relative.lower().endswith(".json"):
            result.skipped.append(item.key)
            continue
        _register_copy(asset, item, asset.base_key + relative, execution_id)
        copied.append(item.key)
        result.metadata_files += 1
    return result, copied


def _first_preview(prefix: str) -> s3.ObjectInfo | None:
    for item in _list_folder(prefix):
        if assets.file_extension(item.key) in PREVIEW_EXTENSIONS:
            return item
    return None


def _accept_file(asset, relative: str, relative_paths: set[str]) -> bool:
    if not assets.is_extension_allowed(asset, relative):
        return False
    if ".previewFile." in relative:
        # A file preview needs its base file, among the outputs or on the asset.
        base = relative.split(".previewFile.", 1)[0]
        on_asset = AssetFile.objects.filter(asset=asset, key=asset.base_key + base).exists()
        return base in relative_paths or on_asset
    return True


def _register_copy(asset, item: s3.ObjectInfo, target: str, execution_id: str) -> None:
    _copy(item.key, target)
    assets.asset_file_record(
        asset=asset,
        key=target,
        size=item.size,
        content_type=mimetypes.guess_type(posixpath.basename(target))[0] or "",
        source=AssetFile.Source.PIPELINE,
        execution_id=execution_id,
    )


def _copy(source_key: str, target_key: str) -> None:
    s3.copy_object(
        bucket=settings.VAMS_ASSET_BUCKET, source_key=source_key, target_key=target_key
    )


def _delete_sources(keys: list[str]) -> None:
    for key in keys:
        try:
            s3.delete_object(bucket=settings.VAMS_ASSET_BUCKET, key=key)
        except AwsError:
            logger.exception("Could not delete registered output key=%s", key)


def locate_outputs(execution: WorkflowExecution) -> OutputLocation | None:
    """Find an execution's output folders in S3, for executions whose message was missed.

    Looks under ``pipelines/<first pipeline>/`` of the workflow, or under all of
    ``pipelines/`` when the workflow row is gone. Returns None when the
    execution wrote no output.
    """
    workflow = (
        Workflow.all_objects.filter(
            database_id=execution.workflow_database_id, workflow_id=execution.workflow_id
        )
        .order_by("-id")
        .first()
    )
    prefix = "pipelines/"
    if workflow is not None and workflow.functions:
        prefix = f"pipelines/{workflow.functions[0].get('name', '')}/"
    marker = f"/output/{execution.execution_id}/"
    for item in s3.list_objects(bucket=settings.VAMS_ASSET_BUCKET, prefix=prefix):
        position = item.key.find(marker)
        if position != -1:
            return location_for(item.key[: position + len(marker)])
    return None


def _parse_message(text: str) -> tuple[dict, str]:
    """Return the message's body and task token.

    Raises InvalidOutputMessage when the message has no task token.
    """
    try:
        document = json.loads(text)
    except ValueError:
        raise InvalidOutputMessage(INVALID_MESSAGE.format(detail="the body is not JSON")) from None
    body = document.get("body") if isinstance(document, dict) else None
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    if not isinstance(body, dict):
        raise InvalidOutputMessage(INVALID_MESSAGE.format(detail="it has no 'body' object"))
    token = body.get("TaskToken")
    if not isinstance(token, str) or not token:
        raise InvalidOutputMessage(INVALID_MESSAGE.format(detail="it has no TaskToken"))
    return body, token


def _execution_for(body: dict) -> tuple[WorkflowExecution, OutputLocation]:
    """Check the message fields against the recorded execution and return both."""
    raw_id = body.get("executionId")
    try:
        execution_id = uuid.UUID(str(raw_id))
    except ValueError:
        raise InvalidOutputMessage(
            INVALID_MESSAGE.format(detail=f"executionId {raw_id!r} is not a UUID")
        ) from None
    execution = (
        WorkflowExecution.objects.select_related("asset", "asset__database")
        .filter(execution_id=execution_id)
        .first()
    )
    if execution is None:
        raise InvalidOutputMessage(EXECUTION_UNKNOWN.format(execution_id=str(execution_id)))
    expected = {
        "databaseId": execution.asset.database_id,
        "assetId": execution.asset.asset_id,
        "workflowDatabaseId": execution.workflow_database_id,
        "workflowId": execution.workflow_id,
    }
    for name, value in expected.items():
        if body.get(name) != value:
            raise InvalidOutputMessage(
                INVALID_MESSAGE.format(
                    detail=f"{name} {body.get(name)!r} does not match the execution's {value!r}"
                )
            )
    keys = {}
    for name, kind in (("filesPathKey", "files"), ("metadataPathKey", "metadata"), ("previewPathKey", "previews")):
        value = body.get(name)
        match = OUTPUT_FOLDER_PATTERN.match(value) if isinstance(value, str) else None
        if match is None or match["kind"] != kind or match["execution_id"] != str(execution_id):
            raise InvalidOutputMessage(
                INVALID_MESSAGE.format(
                    detail=(
                        f"{name} {value!r} is not 'pipelines/<pipeline>/<job>/output/"
                        f"{execution_id}/{kind}/'"
                    )
                )
            )
        keys[kind] = value
    location = OutputLocation(
        files_key=keys["files"], metadata_key=keys["metadata"], preview_key=keys["previews"]
    )
    return execution, location


@dataclass(frozen=True)
class MessageOutcome:
    # True when the message is finished with and can be deleted from the queue.
    done: bool
    output: dict


def process_output_message(text: str) -> MessageOutcome:
    """Register the outputs named by one queue message, then send task success for its token.

    A message that cannot be processed (bad fields, unknown execution, denied
    user) gets a task output with status 400 or 403, so the execution still ends
    SUCCEEDED, as VAMS's process-output step does. A failure worth a retry (AWS
    or database) leaves the message in the queue for redelivery. After task
    success the execution's row is refreshed once Step Functions reports it
    stopped, waiting at most STOP_POLL_SECONDS.
    """
    try:
        body, token = _parse_message(text)
    except InvalidOutputMessage as error:
        logger.warning("Discarded output message without a usable task token: %s", error)
        return MessageOutcome(done=True, output={"statusCode": 400, "message": str(error)})
    execution = None
    try:
        execution, location = _execution_for(body)
        result = outputs_register(execution=execution, location=location)
        output = (
            result.as_output()
            if result is not None
            else {"statusCode": 200, "message": ALREADY_REGISTERED}
        )
    except InvalidOutputMessage as error:
        logger.warning("Rejected output message execution_id=%s: %s", body.get("executionId"), error)
        output = {"statusCode": 400, "message": str(error)}
    except OutputsNotAuthorized as error:
        output = {"statusCode": 403, "message": str(error)}
    except (AwsError, DatabaseError):
        logger.exception(
            "Output registration failed execution_id=%s, SQS will redeliver the message",
            body.get("executionId"),
        )
        return MessageOutcome(done=False, output={})
    sent = _send_task_success(token, output, body.get("executionId"))
    if sent is TaskSuccess.SENT and execution is not None:
        _record_stop(execution)
    return MessageOutcome(done=sent is not TaskSuccess.FAILED, output=output)


def _send_task_success(token: str, output: dict, execution_id) -> TaskSuccess:
    try:
        stepfunctions.send_task_success(task_token=token, output=output)
    except AwsError as error:
        if error.code in DEAD_TOKEN_CODES:
            logger.warning(
                "Task token no longer valid execution_id=%s code=%s", execution_id, error.code
            )
            return TaskSuccess.TOKEN_DEAD
        logger.exception(
            "SendTaskSuccess failed execution_id=%s, SQS will redeliver the message",
            execution_id,
        )
        return TaskSuccess.FAILED
    return TaskSuccess.SENT


def _record_stop(execution: WorkflowExecution) -> None:
    """Poll the execution for up to STOP_POLL_SECONDS and store its final status once it stopped.

    Failures are logged and not raised, because task success is already sent
    and executions_sync refreshes the row later.
    """
    deadline = time.monotonic() + STOP_POLL_SECONDS
    while True:
        try:
            result = execution_refresh(execution)
        except (AwsError, DatabaseError):
            logger.exception(
                "Refreshing execution_id=%s after task success failed, executions_sync will retry",
                execution.execution_id,
            )
            return
        if result.execution.stop_date is not None:
            return
        if time.monotonic() >= deadline:
            logger.info(
                "Execution still running %.1f s after task success execution_id=%s, "
                "executions_sync will record its end",
                STOP_POLL_SECONDS,
                execution.execution_id,
            )
            return
        time.sleep(STOP_POLL_INTERVAL_SECONDS)


def consume_output_messages(*, max_messages: int = 10, wait_seconds: int = 1) -> int:
    """Receive up to ``max_messages`` output messages, process them and return how many.

    Messages that failed with a retryable error stay in the queue and become
    visible again after its visibility timeout. Waits at most ``wait_seconds``
    for the first message (SQS long polling, 0 to 20 seconds).
    """
    url = sqs.queue_url(settings.VAMS_OUTPUT_QUEUE_NAME)
    handled = 0
    while handled < max_messages:
        batch = sqs.receive_messages(
            url=url, max_messages=min(10, max_messages - handled), wait_seconds=wait_seconds
        )
        if not batch:
            break
        for message in batch:
            outcome = process_output_message(message.body)
            if outcome.done:
                sqs.delete_message(url=url, receipt_handle=message.receipt_handle)
            handled += 1
        wait_seconds = 0
    return handled

"""The worker that runs the built-in pipelines from their SQS queues.

For each message: read the payload, download the input, run the pipeline's
step in a temporary folder, upload what it wrote to the execution's files,
previews and metadata folders, then report the result with SendTaskSuccess
or SendTaskFailure. A heartbeat thread keeps the task and the message alive
during long work. Only the AWS endpoint differs between the emulator and AWS.
"""

import logging
import mimetypes
import posixpath
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from vams.aws import s3, sqs, stepfunctions
from vams.aws.errors import AwsError
from workflows.builtin import isolation, meshes, payload, steps
from workflows.builtin.errors import (
    InputNotFound,
    InputTooLarge,
    InvalidPayload,
    PipelineError,
)
from workflows.builtin.pipelines import QUEUE_VISIBILITY_SECONDS, BuiltinPipeline

logger = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_SECONDS = 60
MAX_INPUT_BYTES = 1024**3
MAX_INPUT_FILES = 200
# Step Functions rejects task output over 256 KiB, so lists are cut short.
MAX_LISTED_OUTPUTS = 50
# Step Functions codes that mean the task token is no longer usable.
DEAD_TOKEN_CODES = frozenset({"TaskDoesNotExist", "InvalidToken", "TaskTimedOut"})


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    error: str = ""
    cause: str = ""
    output: dict | None = None


def process_message(
    pipeline: BuiltinPipeline, text: str, *, on_heartbeat=None
) -> Outcome:
    """Run ``pipeline`` on one message and report the result with its task token.

    ``on_heartbeat`` is called with no arguments at every heartbeat (the queue
    loop uses it to keep the message hidden). Returns what was sent.
    """
    try:
        body = payload.message_body(text)
    except InvalidPayload as error:
        logger.error(
            "Discarded message without a payload pipeline_id=%s: %s",
            pipeline.pipeline_id,
            error.cause,
        )
        return Outcome(succeeded=False, error=error.error, cause=error.cause)
    token = body.get("TaskToken") if isinstance(body.get("TaskToken"), str) else ""

    with _heartbeat(token, on_heartbeat):
        outcome = _run(pipeline, body)
    _report_result(token, outcome, pipeline)
    return outcome


def _run(pipeline: BuiltinPipeline, body: dict) -> Outcome:
    try:
        request = payload.parse_request(body)
        with tempfile.TemporaryDirectory(
            prefix=f"vams-{pipeline.pipeline_id}-"
        ) as folder:
            return run_request(pipeline, request, Path(folder))
    except PipelineError as error:
        return Outcome(succeeded=False, error=error.error, cause=error.cause)
    except AwsError as error:
        return Outcome(
            succeeded=False,
            error="StorageFailure",
            cause=f"{error.service} {error.operation} failed ({error.code}): {error.message}",
        )
    # Every task token needs a result, or the execution waits until the task
    # times out. So an unexpected error also becomes a task failure.
    except Exception as exc:  # noqa: BLE001
        logger.exception("Pipeline step crashed pipeline_id=%s", pipeline.pipeline_id)
        return Outcome(
            succeeded=False,
            error="ProcessingFailed",
            cause=f"{type(exc).__name__}: {exc}",
        )


def run_request(
    pipeline: BuiltinPipeline, request: payload.PipelineRequest, folder: Path
) -> Outcome:
    """Download the input into ``folder``, run the step and upload its outputs."""
    inputs = download_inputs(request, folder / "input")
    outputs = steps.OutputFolders(
        files=folder / "files",
        previews=folder / "previews",
        metadata=folder / "metadata",
    )
    outputs.create()
    result = isolation.run_isolated(
        pipeline.step,
        inputs,
        outputs,
        request.output_type,
        timeout_seconds=settings.VAMS_PIPELINE_STEP_TIMEOUT_SECONDS,
    )

    uploaded = []
    for local, target in (
        (outputs.files, request.files),
        (outputs.previews, request.previews),
        (outputs.metadata, request.metadata),
    ):
        uploaded.extend(upload_folder(local, target))
    logger.info(
        "Pipeline step done pipeline_id=%s execution_id=%s inputs=%d outputs=%d",
        pipeline.pipeline_id,
        request.execution_id,
        len(inputs),
        len(uploaded),
    )
    return Outcome(
        succeeded=True,
        output={
            "pipeline": pipeline.pipeline_id,
            "outputType": request.output_type,
            "outputCount": len(uploaded),
            "outputs": uploaded[:MAX_LISTED_OUTPUTS],
            "skipped": result.skipped[:MAX_LISTED_OUTPUTS],
        },
    )


def download_inputs(
    request: payload.PipelineRequest, folder: Path
) -> list[steps.InputFile]:
    """Download the step's input and return the files to process.

    A later step's input is the shared files folder. When that contains no mesh
    or image (an earlier step had nothing to convert), the step works on the
    asset file the execution was started on instead.
    """
    if not request.input.is_folder:
        relative = _asset_relative_path(request, request.input.key)
        return [download_file(request.input, folder, relative)]
    inputs = download_folder(request.input, folder / "input")
    if request.is_first_step or steps.usable_inputs(inputs):
        return inputs
    original = request.original_input
    if original.is_folder:
        return download_folder(original, folder / "asset")
    relative = _asset_relative_path(request, original.key)
    return [download_file(original, folder / "asset", relative)]


def _asset_relative_path(request: payload.PipelineRequest, key: str) -> str:
    base = request.input_asset_location_key
    if base and key.startswith(base) and key != base:
        return key[len(base) :]
    return posixpath.basename(key)


def download_file(
    location: payload.S3Location, folder: Path, relative: str
) -> steps.InputFile:
    """Download one object, plus the files an OBJ or glTF loads beside it."""
    info = s3.head_object(bucket=location.bucket, key=location.key)
    if info is None:
        raise InputNotFound(f"The input file {location} does not exist.")
    _check_size(location, info.size)
    local = folder / relative
    local.parent.mkdir(parents=True, exist_ok=True)
    s3.download_file(bucket=location.bucket, key=location.key, path=str(local))
    _download_companions(location, local)
    return steps.InputFile(path=local, relative_path=relative)


def _download_companions(location: payload.S3Location, local: Path) -> None:
    """Download the referenced MTL, texture and buffer files that exist in S3."""
    pending = [(location.key, local)]
    seen = {location.key}
    while pending:
        key, path = pending.pop()
        for reference in meshes.referenced_files(path):
            reference = posixpath.normpath(reference)
            # Only files at or below the referencing file's folder are fetched,
            # so the local copy stays inside the work folder.
            if reference.startswith(("..", "/")):
                logger.warning(
                    "Skipped reference outside the folder reference=%s key=%s",
                    reference,
                    key,
                )
                continue
            companion_key = posixpath.join(posixpath.dirname(key), reference)
            if companion_key in seen:
                continue
            seen.add(companion_key)
            info = s3.head_object(bucket=location.bucket, key=companion_key)
            if info is None:
                logger.warning(
                    "Referenced file missing key=%s referenced_by=%s",
                    companion_key,
                    key,
                )
                continue
            companion = path.parent / reference
            companion.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(
                bucket=location.bucket, key=companion_key, path=str(companion)
            )
            pending.append((companion_key, companion))


def download_folder(
    location: payload.S3Location, folder: Path
) -> list[steps.InputFile]:
    """Download every object under the prefix, keeping relative paths."""
    objects = [
        item
        for item in s3.list_objects(bucket=location.bucket, prefix=location.key)
        if not item.key.endswith("/")
    ]
    if len(objects) > MAX_INPUT_FILES:
        raise InputTooLarge(
            f"The input folder {location} contains {len(objects)} files; the limit is {MAX_INPUT_FILES}."
        )
    _check_size(location, sum(item.size for item in objects))
    inputs = []
    for item in sorted(objects, key=lambda item: item.key):
        relative = item.key[len(location.key) :]
        local = folder / relative
        local.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket=location.bucket, key=item.key, path=str(local))
        inputs.append(steps.InputFile(path=local, relative_path=relative))
    return inputs


def _check_size(location: payload.S3Location, size: int) -> None:
    if size > MAX_INPUT_BYTES:
        raise InputTooLarge(
            f"The input {location} is {size} bytes; the limit is {MAX_INPUT_BYTES} bytes."
        )


def upload_folder(folder: Path, target: payload.S3Location) -> list[str]:
    """Upload every file under ``folder`` below ``target`` and return the keys."""
    keys = []
    for local in sorted(path for path in folder.rglob("*") if path.is_file()):
        key = target.key + local.relative_to(folder).as_posix()
        content_type = mimetypes.guess_type(local.name)[0] or ""
        s3.upload_file(
            bucket=target.bucket, key=key, path=str(local), content_type=content_type
        )
        keys.append(key)
    return keys


def _report_result(token: str, outcome: Outcome, pipeline: BuiltinPipeline) -> None:
    if not token:
        logger.info(
            "Pipeline step finished without a task token pipeline_id=%s succeeded=%s",
            pipeline.pipeline_id,
            outcome.succeeded,
        )
        return
    try:
        if outcome.succeeded:
            stepfunctions.send_task_success(
                task_token=token, output=outcome.output or {}
            )
        else:
            logger.warning(
                "Pipeline step failed pipeline_id=%s error=%s cause=%s",
                pipeline.pipeline_id,
                outcome.error,
                outcome.cause,
            )
            stepfunctions.send_task_failure(
                task_token=token, error=outcome.error, cause=outcome.cause
            )
    except AwsError as error:
        if error.code not in DEAD_TOKEN_CODES:
            raise
        logger.warning(
            "Task token no longer valid pipeline_id=%s code=%s",
            pipeline.pipeline_id,
            error.code,
        )


@contextmanager
def _heartbeat(token: str, on_heartbeat):
    """Send a task heartbeat (and call ``on_heartbeat``) every interval until exit."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_INTERVAL_SECONDS):
            try:
                if token:
                    stepfunctions.send_task_heartbeat(task_token=token)
                if on_heartbeat is not None:
                    on_heartbeat()
            except AwsError as error:
                logger.warning("Heartbeat failed code=%s, the step continues", error.code)

    thread = threading.Thread(target=beat, name="pipeline-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def poll_queue(pipeline: BuiltinPipeline, url: str, *, wait_seconds: int = 10) -> int:
    """Receive and process the messages waiting on ``url`` and return their count."""
    handled = 0
    for message in sqs.receive_messages(
        url=url, max_messages=10, wait_seconds=wait_seconds
    ):

        def keep_hidden(receipt_handle=message.receipt_handle) -> None:
            sqs.change_visibility(
                url=url, receipt_handle=receipt_handle, timeout=QUEUE_VISIBILITY_SECONDS
            )

        try:
            process_message(pipeline, message.body, on_heartbeat=keep_hidden)
        except AwsError:
            # The result could not be sent, so the message returns to the queue
            # after its visibility timeout and the step runs again.
            logger.exception(
                "Sending the task result failed pipeline_id=%s message_id=%s",
                pipeline.pipeline_id,
                message.message_id,
            )
            continue
        sqs.delete_message(url=url, receipt_handle=message.receipt_handle)
        handled += 1
    return handled


def run_queue_loop(
    pipeline: BuiltinPipeline,
    url: str,
    stop: threading.Event,
    *,
    wait_seconds: int = 10,
) -> None:
    """Poll one pipeline queue until ``stop`` is set, surviving AWS errors."""
    logger.info("Worker polling pipeline_id=%s queue_url=%s", pipeline.pipeline_id, url)
    while not stop.is_set():
        try:
            poll_queue(pipeline, url, wait_seconds=wait_seconds)
        except AwsError as error:
            logger.warning(
                "Polling failed pipeline_id=%s code=%s, retrying in 5 s",
                pipeline.pipeline_id,
                error.code,
            )
            stop.wait(5)
    logger.info("Worker stopped pipeline_id=%s", pipeline.pipeline_id)


def start_worker_threads(
    pipelines: list[BuiltinPipeline], stop: threading.Event, *, wait_seconds: int = 10
) -> list[threading.Thread]:
    """Start one daemon thread per pipeline queue. Setting ``stop`` ends them."""
    threads = []
    for pipeline in pipelines:
        url = sqs.queue_url(pipeline.queue_name)
        thread = threading.Thread(
            target=run_queue_loop,
            args=(pipeline, url, stop),
            kwargs={"wait_seconds": wait_seconds},
            name=f"pipeline-worker-{pipeline.pipeline_id}",
            daemon=True,
        )
        thread.start()
        threads.append(thread)
    return threads

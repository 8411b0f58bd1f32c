"""The built-in GLOBAL pipelines and their registration.

``register_builtin_pipelines`` makes each pipeline's SQS queue (and, for the
EventBridge pipeline, a rule on the default bus that delivers its events to a
queue), then creates or updates its GLOBAL ``Pipeline`` row with the real
queue URL. Running it again changes nothing that is already in place.
"""

import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from vams.aws import events, sqs
from vams.models import GLOBAL
from workflows.models import Pipeline

logger = logging.getLogger(__name__)

EVENT_SOURCE = "vams.pipeline"
EVENT_BUS = "default"
# Step Functions waits this long for the worker's result, and at most
# HEARTBEAT_TIMEOUT between heartbeats (the worker sends one every
# worker.HEARTBEAT_INTERVAL_SECONDS).
TASK_TIMEOUT = "3600"
HEARTBEAT_TIMEOUT = "300"
QUEUE_VISIBILITY_SECONDS = 600


@dataclass(frozen=True)
class BuiltinPipeline:
    pipeline_id: str
    description: str
    pipeline_type: str
    execution_type: str
    output_type: str
    # Key of the step function in ``steps.STEPS``. It is a name, not the
    # function, because the step runs in a child process.
    step: str

    @property
    def queue_name(self) -> str:
        return f"{settings.VAMS_BUILTIN_QUEUE_PREFIX}{self.pipeline_id}"

    @property
    def rule_name(self) -> str:
        return f"{self.queue_name}-rule"

    @property
    def is_eventbridge(self) -> bool:
        return self.execution_type == Pipeline.ExecutionType.EVENTBRIDGE


@dataclass(frozen=True)
class Registration:
    pipeline: Pipeline
    created: bool
    queue_url: str


BUILTIN_PIPELINES = (
    BuiltinPipeline(
        pipeline_id="convert-mesh-glb",
        description="Convert OBJ, PLY, STL, glTF and GLB meshes to GLB; images pass unchanged.",
        pipeline_type=Pipeline.PipelineType.STANDARD_FILE,
        execution_type=Pipeline.ExecutionType.SQS,
        output_type=".glb",
        step="convert_meshes",
    ),
    BuiltinPipeline(
        pipeline_id="preview-thumbnail",
        description="Render a PNG thumbnail of each mesh or image and set the asset preview.",
        pipeline_type=Pipeline.PipelineType.PREVIEW_FILE,
        execution_type=Pipeline.ExecutionType.SQS,
        output_type=".png",
        step="make_previews",
    ),
    BuiltinPipeline(
        pipeline_id="extract-metadata",
        description="Record vertex and face counts, bounds, and image size and mode as metadata.",
        pipeline_type=Pipeline.PipelineType.STANDARD_FILE,
        execution_type=Pipeline.ExecutionType.EVENTBRIDGE,
        output_type=".json",
        step="extract_metadata",
    ),
)


def builtin_pipeline(pipeline_id: str) -> BuiltinPipeline:
    """Return the built-in pipeline ``pipeline_id``, or raise KeyError if unknown."""
    for pipeline in BUILTIN_PIPELINES:
        if pipeline.pipeline_id == pipeline_id:
            return pipeline
    raise KeyError(pipeline_id)


def ensure_queue(pipeline: BuiltinPipeline) -> str:
    """Create the pipeline's queue (and event rule) where missing.

    Returns the queue URL.
    """
    url = sqs.ensure_queue(
        pipeline.queue_name, visibility_timeout=QUEUE_VISIBILITY_SECONDS
    )
    if pipeline.is_eventbridge:
        queue_arn = sqs.queue_arn(url)
        rule_arn = events.ensure_rule_to_queue(
            rule_name=pipeline.rule_name,
            event_pattern={
                "source": [EVENT_SOURCE],
                "detail-type": [pipeline.pipeline_id],
            },
            queue_arn=queue_arn,
            bus_name=EVENT_BUS,
        )
        sqs.allow_events_rule(url=url, queue_arn=queue_arn, rule_arn=rule_arn)
    return url


def user_provided_resource(pipeline: BuiltinPipeline, queue_url: str) -> dict:
    if pipeline.is_eventbridge:
        return {
            "resourceId": EVENT_BUS,
            "resourceType": Pipeline.ExecutionType.EVENTBRIDGE.value,
            "isProvided": True,
            "eventSource": EVENT_SOURCE,
            "eventDetailType": pipeline.pipeline_id,
        }
    return {
        "resourceId": queue_url,
        "resourceType": Pipeline.ExecutionType.SQS.value,
        "isProvided": True,
    }


def register_builtin_pipelines() -> list[Registration]:
    """Ensure every built-in pipeline's queue, rule and GLOBAL row exist.

    An existing row is brought back to the built-in definition, except that
    ``enabled`` is kept, so a pipeline an administrator disabled stays disabled.
    """
    return [_register(pipeline) for pipeline in BUILTIN_PIPELINES]


def _register(pipeline: BuiltinPipeline) -> Registration:
    queue_url = ensure_queue(pipeline)
    fields = {
        "pipeline_type": pipeline.pipeline_type,
        "pipeline_execution_type": pipeline.execution_type,
        "description": pipeline.description,
        "asset_type": ".all",
        "output_type": pipeline.output_type,
        "wait_for_callback": Pipeline.Callback.ENABLED,
        "task_timeout": TASK_TIMEOUT,
        "task_heartbeat_timeout": HEARTBEAT_TIMEOUT,
        "input_parameters": "",
        "user_provided_resource": json.dumps(
            user_provided_resource(pipeline, queue_url)
        ),
    }
    with transaction.atomic():
        row = (
            Pipeline.objects.select_for_update()
            .filter(database_id=GLOBAL, pipeline_id=pipeline.pipeline_id)
            .first()
        )
        created = row is None
        if created:
            row = Pipeline(database_id=GLOBAL, pipeline_id=pipeline.pipeline_id)
        for name, value in fields.items():
            setattr(row, name, value)
        row.full_clean()
        row.save()
    logger.info(
        "Registered built-in pipeline pipeline_id=%s created=%s queue_url=%s",
        pipeline.pipeline_id,
        created,
        queue_url,
    )
    return Registration(pipeline=row, created=created, queue_url=queue_url)

"""Helpers for the state machine tests: function entries and receiver-firing saves."""

import json

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from vams.aws import sqs, stepfunctions
from workflows.models import Workflow
from workflows.statemachine import build_definition

LAMBDA_RESOURCE = json.dumps({"resourceId": "vams-convert", "resourceType": "Lambda"})


def lambda_function(name: str = "convert-glb", **overrides) -> dict:
    entry = {
        "name": name,
        "databaseId": "GLOBAL",
        "pipelineType": "standardFile",
        "pipelineExecutionType": "Lambda",
        "outputType": ".glb",
        "waitForCallback": "Disabled",
        "userProvidedResource": LAMBDA_RESOURCE,
    }
    entry.update(overrides)
    return entry


def save_workflow(workflow: Workflow | None = None, **fields) -> Workflow:
    """Save a workflow row the way the services do: inside a transaction.

    The save fires the state machine receiver. Without ``workflow`` a new row is
    built from ``fields``; with it, ``fields`` are set on that row first.
    """
    now = timezone.now()
    if workflow is None:
        fields.setdefault("specified_pipelines", {"functions": [lambda_function()]})
        workflow = Workflow(
            database_id=fields.pop("database_id", "my-database"),
            workflow_id=fields.pop("workflow_id", "convert-models"),
            description="Convert models",
            date_created=now,
            date_modified=now,
        )
    for name, value in fields.items():
        setattr(workflow, name, value)
    with transaction.atomic():
        workflow.save()
    return workflow


def expected_definition(workflow: Workflow) -> dict:
    return build_definition(
        workflow.workflow_id,
        workflow.functions,
        output_queue_url=sqs.queue_url(settings.VAMS_OUTPUT_QUEUE_NAME),
    )


def delete_project_state_machines() -> None:
    """Delete every state machine with the project prefix left by earlier tests."""
    for machine in stepfunctions.list_state_machines(
        name_prefix=settings.VAMS_STATE_MACHINE_PREFIX
    ):
        stepfunctions.delete_state_machine(arn=machine.arn)

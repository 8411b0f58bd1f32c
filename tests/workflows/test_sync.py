import re

import pytest
from botocore.stub import Stubber
from django.conf import settings
from django.utils import timezone

from tests.factories import make_pipeline, workflow_body
from tests.workflows.machines import expected_definition, lambda_function, save_workflow
from vams.aws import clients, emulator, stepfunctions
from vams.exceptions import InvalidInput, Throttled, UpstreamFailure
from workflows import receivers
from workflows.models import Workflow
from workflows.services import workflow_soft_delete
from workflows.sync import (
    STATE_MACHINE_DELETE_FAILED,
    STATE_MACHINE_SYNC_FAILED,
    state_machine_name,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def unreachable_aws(aws_emulator):
    """Point every AWS client at a loopback port nothing listens on."""
    clients.use_endpoint(f"http://127.0.0.1:{emulator.free_port()}")
    yield
    clients.use_endpoint(aws_emulator.endpoint_url)


@pytest.fixture
def stepfunctions_stub():
    client = clients.get_client("stepfunctions")
    with Stubber(client) as stubber:
        yield stubber


def test_receiver_creates_state_machine():
    workflow = save_workflow()

    machine = stepfunctions.describe_state_machine(arn=workflow.workflow_arn)

    assert machine is not None
    assert machine.name.startswith(
        settings.VAMS_STATE_MACHINE_PREFIX + "convert-models-"
    )
    assert machine.definition == expected_definition(workflow)
    assert Workflow.objects.get(pk=workflow.pk).workflow_arn == workflow.workflow_arn


def test_state_machine_sync_updates_in_place():
    workflow = save_workflow()
    arn = workflow.workflow_arn
    started = stepfunctions.start_execution(
        state_machine_arn=arn, name="before-update", payload={"assetId": "xa1b2"}
    )

    functions = [lambda_function("convert-glb"), lambda_function("make-preview")]
    save_workflow(workflow, specified_pipelines={"functions": functions})

    machine = stepfunctions.describe_state_machine(arn=arn)
    executions = stepfunctions.list_executions(state_machine_arn=arn)
    assert workflow.workflow_arn == arn
    assert Workflow.objects.get(pk=workflow.pk).workflow_arn == arn
    assert list(machine.definition["States"])[:2] == [
        "00-convert-glb",
        "01-make-preview",
    ]
    assert machine.definition == expected_definition(workflow)
    assert started.arn in [execution.arn for execution in executions]


def test_state_machine_sync_replaces_missing_machine():
    workflow = save_workflow()
    old_arn = workflow.workflow_arn
    stepfunctions.delete_state_machine(arn=old_arn)

    save_workflow(workflow, description="Convert models again")

    stored = Workflow.objects.get(pk=workflow.pk)
    assert stored.workflow_arn != old_arn
    assert stepfunctions.describe_state_machine(arn=stored.workflow_arn) is not None


def test_receiver_deletes_state_machine_of_deleted_workflow():
    workflow = save_workflow()
    arn = workflow.workflow_arn

    save_workflow(workflow, deleted_at=timezone.now())

    assert stepfunctions.describe_state_machine(arn=arn) is None
    assert Workflow.all_objects.get(pk=workflow.pk).workflow_arn == arn


def test_workflow_soft_delete_deletes_state_machine(admin_user):
    workflow = save_workflow()
    arn = workflow.workflow_arn

    workflow_soft_delete(workflow=workflow, user=admin_user)

    assert stepfunctions.describe_state_machine(arn=arn) is None
    assert Workflow.all_objects.get(pk=workflow.pk).deleted_at is not None


def test_receiver_skips_raw_saves():
    workflow = Workflow(
        database_id="my-database",
        workflow_id="loaded-from-fixture",
        description="Loaded",
        specified_pipelines={"functions": [lambda_function()]},
        date_created=timezone.now(),
        date_modified=timezone.now(),
    )
    Workflow.objects.bulk_create([workflow])

    receivers.workflow_saved(Workflow, instance=workflow, raw=True, created=True)

    assert Workflow.objects.get(workflow_id="loaded-from-fixture").workflow_arn == ""


def test_state_machine_sync_unreachable_stores_nothing(unreachable_aws):
    message = STATE_MACHINE_SYNC_FAILED.format(
        action="create", workflow_id="convert-models", code="EndpointConnectionError"
    )

    with pytest.raises(UpstreamFailure, match=re.escape(message)):
        save_workflow()

    assert not Workflow.all_objects.exists()


def test_state_machine_sync_unreachable_keeps_previous_row(aws_emulator):
    workflow = save_workflow()
    clients.use_endpoint(f"http://127.0.0.1:{emulator.free_port()}")
    try:
        with pytest.raises(UpstreamFailure, match="could not update the state machine"):
            save_workflow(workflow, description="Changed while AWS is down")
    finally:
        clients.use_endpoint(aws_emulator.endpoint_url)

    stored = Workflow.objects.get(pk=workflow.pk)
    assert stored.description == "Convert models"
    assert stepfunctions.describe_state_machine(arn=stored.workflow_arn) is not None


def test_state_machine_sync_client_error_stores_nothing(stepfunctions_stub):
    stepfunctions_stub.add_client_error(
        "create_state_machine",
        service_error_code="InternalFailure",
        http_status_code=500,
    )
    message = STATE_MACHINE_SYNC_FAILED.format(
        action="create", workflow_id="convert-models", code="InternalFailure"
    )

    with pytest.raises(UpstreamFailure, match=re.escape(message)):
        save_workflow()

    assert not Workflow.all_objects.exists()


def test_state_machine_sync_throttled_stores_nothing(stepfunctions_stub):
    stepfunctions_stub.add_client_error(
        "create_state_machine",
        service_error_code="ThrottlingException",
        http_status_code=400,
    )

    with pytest.raises(Throttled, match="Step Functions is throttling requests"):
        save_workflow()

    assert not Workflow.all_objects.exists()


def test_state_machine_delete_failure_keeps_row_live():
    workflow = save_workflow()
    message = STATE_MACHINE_DELETE_FAILED.format(
        workflow_id="convert-models", code="InternalFailure"
    )
    client = clients.get_client("stepfunctions")

    with Stubber(client) as stubber:
        stubber.add_client_error(
            "delete_state_machine",
            service_error_code="InternalFailure",
            http_status_code=500,
        )
        with pytest.raises(UpstreamFailure, match=re.escape(message)):
            save_workflow(workflow, deleted_at=timezone.now())

    assert Workflow.objects.filter(pk=workflow.pk).exists()
    assert stepfunctions.describe_state_machine(arn=workflow.workflow_arn) is not None


def test_state_machine_sync_rejects_unusable_entries():
    functions = [lambda_function(userProvidedResource="not json")]

    with pytest.raises(
        InvalidInput, match="userProvidedResource that is not a JSON object"
    ):
        save_workflow(specified_pipelines={"functions": functions})

    assert not Workflow.all_objects.exists()


def test_state_machine_name_fits_80_characters(settings):
    settings.VAMS_STATE_MACHINE_PREFIX = "vams-production-"
    workflow_id = "w" * 60 + "-tail"

    name = state_machine_name(workflow_id)

    assert len(name) == 80
    assert name.startswith("vams-production-w")
    assert re.fullmatch(r"vams-production-w+-tail-[a-z0-9]{8}", name)


def test_state_machine_name_is_unique_per_call():
    assert state_machine_name("convert-models") != state_machine_name("convert-models")


def test_put_workflow_unreachable_aws_is_500(api_client, unreachable_aws):
    make_pipeline()

    response = api_client.put("/workflows", workflow_body(), format="json")

    assert response.status_code == 500
    assert response.json() == {
        "message": STATE_MACHINE_SYNC_FAILED.format(
            action="create",
            workflow_id="convert-and-preview",
            code="EndpointConnectionError",
        )
    }
    assert not Workflow.all_objects.exists()


def test_state_machine_sync_failed_recreate_says_create():
    workflow = save_workflow()
    message = STATE_MACHINE_SYNC_FAILED.format(
        action="create", workflow_id="convert-models", code="InternalFailure"
    )
    client = clients.get_client("stepfunctions")

    with Stubber(client) as stubber:
        stubber.add_client_error(
            "describe_state_machine", service_error_code="StateMachineDoesNotExist"
        )
        stubber.add_client_error(
            "create_state_machine",
            service_error_code="InternalFailure",
            http_status_code=500,
        )
        with pytest.raises(UpstreamFailure, match=re.escape(message)):
            save_workflow(workflow, description="Changed after the machine was lost")

    assert Workflow.objects.get(pk=workflow.pk).description == "Convert models"

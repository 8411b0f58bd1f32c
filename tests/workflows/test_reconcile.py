import io

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from tests.workflows.machines import (
    delete_project_state_machines,
    expected_definition,
    lambda_function,
    save_workflow,
)
from vams.aws import stepfunctions
from workflows.models import Workflow

pytestmark = pytest.mark.django_db

STALE_DEFINITION = {
    "Comment": "An edit made outside this service",
    "StartAt": "Done",
    "States": {"Done": {"Type": "Succeed"}},
}


@pytest.fixture(autouse=True)
def no_leftover_machines():
    """Start each test without machines that rolled-back rows of other tests left."""
    delete_project_state_machines()


def reconcile(*args: str) -> str:
    stdout = io.StringIO()
    call_command("reconcile_state_machines", *args, stdout=stdout, stderr=io.StringIO())
    return stdout.getvalue()


def orphan_state_machine() -> str:
    return stepfunctions.create_state_machine(
        name=f"{settings.VAMS_STATE_MACHINE_PREFIX}orphan-abcd1234",
        definition=STALE_DEFINITION,
    )


def test_reconcile_creates_machine_for_row_without_arn():
    workflow = save_workflow()
    stepfunctions.delete_state_machine(arn=workflow.workflow_arn)
    Workflow.objects.filter(pk=workflow.pk).update(workflow_arn="")

    output = reconcile("--orphan-grace-minutes", "0")

    stored = Workflow.objects.get(pk=workflow.pk)
    machine = stepfunctions.describe_state_machine(arn=stored.workflow_arn)
    assert machine is not None
    assert machine.definition == expected_definition(stored)
    assert "1 created, 0 updated, 0 deleted, 0 unchanged, 0 failed." in output


def test_reconcile_replaces_missing_machine():
    workflow = save_workflow()
    old_arn = workflow.workflow_arn
    stepfunctions.delete_state_machine(arn=old_arn)

    output = reconcile()

    stored = Workflow.objects.get(pk=workflow.pk)
    assert stored.workflow_arn != old_arn
    assert stepfunctions.describe_state_machine(arn=stored.workflow_arn) is not None
    assert "1 created, 0 updated" in output


def test_reconcile_updates_drifted_definition():
    workflow = save_workflow()
    stepfunctions.update_state_machine(
        arn=workflow.workflow_arn, definition=STALE_DEFINITION
    )

    output = reconcile()

    machine = stepfunctions.describe_state_machine(arn=workflow.workflow_arn)
    assert machine.definition == expected_definition(workflow)
    assert Workflow.objects.get(pk=workflow.pk).workflow_arn == workflow.workflow_arn
    assert "0 created, 1 updated, 0 deleted, 0 unchanged, 0 failed." in output


def test_reconcile_deletes_orphan_machine():
    arn = orphan_state_machine()

    output = reconcile("--orphan-grace-minutes", "0")

    assert stepfunctions.describe_state_machine(arn=arn) is None
    assert "0 created, 0 updated, 1 deleted, 0 unchanged, 0 failed." in output


def test_reconcile_keeps_recent_orphan():
    arn = orphan_state_machine()

    output = reconcile()

    assert stepfunctions.describe_state_machine(arn=arn) is not None
    assert "0 deleted" in output


def test_reconcile_deletes_machine_of_deleted_workflow():
    workflow = save_workflow()
    arn = workflow.workflow_arn
    Workflow.objects.filter(pk=workflow.pk).delete()

    reconcile("--orphan-grace-minutes", "0")

    assert stepfunctions.describe_state_machine(arn=arn) is None


def test_reconcile_leaves_matching_machine_alone():
    workflow = save_workflow()

    output = reconcile("--orphan-grace-minutes", "0")

    assert stepfunctions.describe_state_machine(arn=workflow.workflow_arn) is not None
    assert "0 created, 0 updated, 0 deleted, 1 unchanged, 0 failed." in output


def test_reconcile_ignores_machines_without_prefix():
    arn = stepfunctions.create_state_machine(
        name="someone-elses-machine", definition=STALE_DEFINITION
    )

    reconcile("--orphan-grace-minutes", "0")

    assert stepfunctions.describe_state_machine(arn=arn) is not None
    stepfunctions.delete_state_machine(arn=arn)


def test_reconcile_dry_run_changes_nothing():
    missing = save_workflow(workflow_id="missing-machine")
    stepfunctions.delete_state_machine(arn=missing.workflow_arn)
    drifted = save_workflow(workflow_id="drifted-machine")
    stepfunctions.update_state_machine(
        arn=drifted.workflow_arn, definition=STALE_DEFINITION
    )
    orphan_arn = orphan_state_machine()

    output = reconcile("--dry-run", "--orphan-grace-minutes", "0", "--verbosity", "2")

    assert Workflow.objects.get(pk=missing.pk).workflow_arn == missing.workflow_arn
    assert stepfunctions.describe_state_machine(arn=missing.workflow_arn) is None
    drifted_machine = stepfunctions.describe_state_machine(arn=drifted.workflow_arn)
    assert drifted_machine.definition == STALE_DEFINITION
    assert stepfunctions.describe_state_machine(arn=orphan_arn) is not None
    assert (
        "Would create a state machine for workflow my-database/missing-machine."
        in output
    )
    assert f"Would update state machine {drifted.workflow_arn}" in output
    assert f"Would delete state machine {orphan_arn}" in output
    assert (
        "Dry run, nothing changed. Would create 1, update 1 and delete 1 state "
        "machines; 0 unchanged, 0 failed." in output
    )


def test_reconcile_verbosity_2_lists_actions():
    workflow = save_workflow()
    stepfunctions.update_state_machine(
        arn=workflow.workflow_arn, definition=STALE_DEFINITION
    )

    output = reconcile("--verbosity", "2")

    workflow_label = "my-database/convert-models"
    line = (
        f"Updated state machine {workflow.workflow_arn} of workflow {workflow_label}."
    )
    assert line in output


def test_reconcile_verbosity_0_prints_nothing():
    save_workflow()

    output = reconcile("--verbosity", "0")

    assert output == ""


def test_reconcile_counts_failures_and_continues():
    broken = save_workflow(workflow_id="broken-entries")
    bad_functions = {"functions": [lambda_function(userProvidedResource="not json")]}
    Workflow.objects.filter(pk=broken.pk).update(specified_pipelines=bad_functions)
    stepfunctions.delete_state_machine(arn=broken.workflow_arn)
    healthy = save_workflow(workflow_id="healthy-entries")
    stepfunctions.delete_state_machine(arn=healthy.workflow_arn)
    stderr = io.StringIO()

    with pytest.raises(CommandError, match="1 state machine repairs failed"):
        call_command("reconcile_state_machines", stdout=io.StringIO(), stderr=stderr)

    stored = Workflow.objects.get(pk=healthy.pk)
    assert stepfunctions.describe_state_machine(arn=stored.workflow_arn) is not None
    assert "of workflow my-database/broken-entries" in stderr.getvalue()


def test_reconcile_rejects_negative_grace():
    with pytest.raises(
        CommandError, match="--orphan-grace-minutes must be 0 or more"
    ) as raised:
        reconcile("--orphan-grace-minutes", "-1")

    assert raised.value.returncode == 2


def test_run_embedded_startup_reconciles():
    from vams.management.commands.run_embedded import (
        reconcile_state_machines,
        startup_steps,
    )

    workflow = save_workflow()
    stepfunctions.delete_state_machine(arn=workflow.workflow_arn)
    stdout = io.StringIO()

    reconcile_state_machines(stdout)

    assert reconcile_state_machines in startup_steps()
    stored = Workflow.objects.get(pk=workflow.pk)
    assert stepfunctions.describe_state_machine(arn=stored.workflow_arn) is not None
    assert "1 created" in stdout.getvalue()

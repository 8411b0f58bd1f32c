import io
import logging
import threading
from unittest import mock

from executions import startup
from executions.models import WorkflowExecution
from executions.services import execution_start
from tests.executions.conftest import FAIL_DEFINITION, make_workflow, wait_until_stopped
from vams.management.commands.run_embedded import startup_steps


def test_startup_steps_include_output_consumer():
    assert startup.start_output_consumer in startup_steps()


def test_start_output_consumer_runs_daemon_thread():
    ran = threading.Event()
    out = io.StringIO()

    with mock.patch.object(startup, "_consume_forever", side_effect=ran.set):
        thread = startup.start_output_consumer(out)
        thread.join(timeout=5)

    assert ran.is_set() is True
    assert thread.daemon is True
    assert thread.name == "execution-outputs"
    assert "Output consumer: running in the background" in out.getvalue()


def test_startup_steps_include_execution_sync():
    steps = startup_steps()

    assert startup.start_execution_sync in steps
    assert steps.index(startup.start_execution_sync) > steps.index(startup.start_output_consumer)


def test_start_execution_sync_runs_daemon_thread():
    ran = threading.Event()
    out = io.StringIO()

    with mock.patch.object(startup, "_sync_forever", side_effect=ran.set):
        thread = startup.start_execution_sync(out)
        thread.join(timeout=5)

    assert ran.is_set() is True
    assert thread.daemon is True
    assert thread.name == "execution-sync"
    assert "Execution sync: every 15 s" in out.getvalue()


def test_sync_executions_once_records_failed_execution(asset, admin_user):
    workflow = make_workflow("wf-fail", definition=FAIL_DEFINITION)
    execution = execution_start(
        database_id=asset.database_id,
        asset_id=asset.asset_id,
        workflow_id=workflow.workflow_id,
        workflow_database_id=workflow.database_id,
        file_key="models/part.glb",
        user=admin_user,
    )
    wait_until_stopped(execution)

    startup.sync_executions_once()

    execution.refresh_from_db()
    assert execution.status == WorkflowExecution.Status.FAILED
    assert execution.error == "test.Error"
    assert execution.stop_date is not None


def test_sync_executions_once_logs_failure(caplog):
    with mock.patch.object(startup, "executions_sync", side_effect=RuntimeError("db down")) as sync:
        startup.sync_executions_once()

    assert sync.call_count == 1
    assert "Execution sync failed" in caplog.text
    assert "db down" in caplog.text


def test_sync_executions_once_quiet_when_unchanged(db, caplog):
    caplog.set_level(logging.INFO, logger="executions.sync")

    startup.sync_executions_once()

    assert "Synced executions" not in caplog.text

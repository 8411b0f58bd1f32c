"""Start the output consumer and the periodic execution sync beside the embedded server."""

import logging
import threading
import time

from django.db import close_old_connections

from executions.outputs import consume_output_messages
from executions.sync import executions_sync

logger = logging.getLogger(__name__)

WAIT_SECONDS = 5
RETRY_PAUSE_SECONDS = 5
# How often the embedded server refreshes running executions, the job that a
# cron entry running ``manage.py sync_executions`` does in production.
SYNC_INTERVAL_SECONDS = 15


def _consume_forever() -> None:
    while True:
        try:
            consume_output_messages(max_messages=10, wait_seconds=WAIT_SECONDS)
        except Exception:  # noqa: BLE001 - the thread must outlive any one failure
            logger.exception("Output consumer failed, retrying in %d s", RETRY_PAUSE_SECONDS)
            time.sleep(RETRY_PAUSE_SECONDS)
        finally:
            close_old_connections()


def start_output_consumer(stdout) -> threading.Thread:
    """Start a daemon thread that processes the output queue until the process exits."""
    thread = threading.Thread(target=_consume_forever, name="execution-outputs", daemon=True)
    thread.start()
    stdout.write("  Output consumer: running in the background")
    return thread


def sync_executions_once() -> None:
    """Run one executions_sync pass and log a failure instead of raising it."""
    try:
        executions_sync()
    except Exception:  # noqa: BLE001 - the thread must outlive any one failure
        logger.exception("Execution sync failed, retrying in %d s", SYNC_INTERVAL_SECONDS)


def _sync_forever() -> None:
    while True:
        try:
            sync_executions_once()
        finally:
            close_old_connections()
        time.sleep(SYNC_INTERVAL_SECONDS)


def start_execution_sync(stdout) -> threading.Thread:
    """Start a daemon thread that runs executions_sync every SYNC_INTERVAL_SECONDS."""
    thread = threading.Thread(target=_sync_forever, name="execution-sync", daemon=True)
    thread.start()
    stdout.write(f"  Execution sync: every {SYNC_INTERVAL_SECONDS} s in the background")
    return thread

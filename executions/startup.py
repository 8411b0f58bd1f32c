"""Start the output-processing consumer beside the embedded server."""

import logging
import threading
import time

from django.db import close_old_connections

from executions.outputs import consume_output_messages

logger = logging.getLogger(__name__)

WAIT_SECONDS = 5
RETRY_PAUSE_SECONDS = 5


def _consume_forever() -> None:
    while True:
        try:
            consume_output_messages(max_messages=10, wait_seconds=WAIT_SECONDS)
        except Exception:  # noqa: BLE001 - the thread must outlive any one failure
            logger.exception("Output consumer failed; retrying in %d s", RETRY_PAUSE_SECONDS)
            time.sleep(RETRY_PAUSE_SECONDS)
        finally:
            close_old_connections()


def start_output_consumer(stdout) -> threading.Thread:
    """Start a daemon thread that processes the output queue until the process exits."""
    thread = threading.Thread(target=_consume_forever, name="execution-outputs", daemon=True)
    thread.start()
    stdout.write("  Output consumer: running in the background")
    return thread

import io
import threading
from unittest import mock

from executions import startup
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

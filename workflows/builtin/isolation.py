"""Run pipeline steps in a child process with a time limit.

A malformed file can make a parser loop for a very long time, exhaust memory
or crash the interpreter. In a child process such a step can be stopped and
reported as a task failure, and the worker goes on with the next message.

Each worker thread keeps one child and sends it one step at a time, so the
imports (numpy, trimesh, Pillow: about two seconds) are paid once, not per
step. A child that timed out or died is replaced at the next step. Children
are started with ``spawn``, because forking a process that runs threads (the
worker loops, the web server) can copy locks held by other threads.
"""

import logging
import multiprocessing
import threading
from multiprocessing.connection import Connection

from workflows.builtin.errors import PipelineError, ProcessingFailed, StepTimedOut
from workflows.builtin.steps import InputFile, OutputFolders, StepResult

logger = logging.getLogger(__name__)

SPAWN = multiprocessing.get_context("spawn")
_thread_state = threading.local()


class StepProcess:
    """One child process that runs steps sent to it, one at a time."""

    def __init__(self) -> None:
        self.connection, child_end = SPAWN.Pipe()
        self.process = SPAWN.Process(
            target=_serve_steps, args=(child_end,), name="pipeline-steps", daemon=True
        )
        self.process.start()
        child_end.close()

    def is_usable(self) -> bool:
        return self.process.is_alive() and not self.connection.closed

    def stop(self) -> None:
        self.connection.close()
        self.process.terminate()
        self.process.join(timeout=10)


def run_isolated(
    step: str,
    inputs: list[InputFile],
    outputs: OutputFolders,
    output_type: str,
    *,
    timeout_seconds: float,
) -> StepResult:
    """Run ``steps.run_step`` in this thread's child process and return its result.

    Raises the step's PipelineError, StepTimedOut when the step runs longer
    than ``timeout_seconds`` (the child is terminated), and ProcessingFailed
    when the child dies without a result.
    """
    child = getattr(_thread_state, "child", None)
    if child is None or not child.is_usable():
        child = StepProcess()
        _thread_state.child = child

    child.connection.send((step, inputs, outputs, output_type))
    if not child.connection.poll(timeout_seconds):
        child.stop()
        names = ", ".join(item.relative_path for item in inputs[:3])
        raise StepTimedOut(
            f"Step {step} did not finish within {timeout_seconds:g} s on "
            f"{names or '(no files)'} and was stopped."
        )
    try:
        outcome = child.connection.recv()
    except EOFError:
        child.stop()
        raise ProcessingFailed(
            f"Step {step} ended without a result (exit code {child.process.exitcode}); "
            "it may have run out of memory."
        ) from None

    if outcome[0] == "ok":
        return outcome[1]
    failure = PipelineError(outcome[2])
    failure.error = outcome[1]
    raise failure


def _serve_steps(connection: Connection) -> None:
    """Run each step received on ``connection`` until the parent closes it."""
    from workflows.builtin.steps import run_step

    while True:
        try:
            step, inputs, outputs, output_type = connection.recv()
        except EOFError:
            return
        try:
            result = run_step(step, inputs, outputs, output_type)
        except PipelineError as error:
            connection.send(("failed", error.error, error.cause))
        # The parent reports any other error as ProcessingFailed. The exception
        # itself may not pickle, so only its text crosses the pipe.
        except Exception as exc:  # noqa: BLE001
            logger.exception("Step crashed step=%s", step)
            text = f"{type(exc).__name__}: {exc}"
            connection.send(("failed", ProcessingFailed.error, text))
        else:
            connection.send(("ok", result))

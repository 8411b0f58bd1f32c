"""Startup steps of ``manage.py run_embedded`` for the built-in pipelines."""

import logging
import threading

from django.contrib.auth import get_user_model

from workflows.builtin import worker
from workflows.builtin.demo import DEMO_DATABASE_ID, DEMO_WORKFLOW_ID, seed_demo
from workflows.builtin.pipelines import BUILTIN_PIPELINES, register_builtin_pipelines

logger = logging.getLogger(__name__)

# Never set: the worker threads are daemons and end with the process.
_worker_stop = threading.Event()


def register_builtin_pipelines_step(stdout) -> None:
    registrations = register_builtin_pipelines()
    names = ", ".join(item.pipeline.pipeline_id for item in registrations)
    stdout.write(f"  Built-in pipelines: {names}")


def seed_demo_step(stdout) -> None:
    """Seed the demo catalog as the first superuser, if there is one."""
    user = (
        get_user_model()
        .objects.filter(is_superuser=True, is_active=True)
        .order_by("pk")
        .first()
    )
    if user is None:
        stdout.write("  Demo: skipped, because no superuser exists to own it")
        return
    catalog = seed_demo(user=user)
    stdout.write(
        f"  Demo: workflow {DEMO_DATABASE_ID}/{DEMO_WORKFLOW_ID} on asset "
        f"{catalog.asset.asset_id} ({catalog.mesh_key}, {catalog.image_key})"
    )


def start_pipeline_worker_step(stdout) -> list[threading.Thread]:
    threads = worker.start_worker_threads(list(BUILTIN_PIPELINES), _worker_stop)
    stdout.write(f"  Pipeline worker: {len(threads)} queue(s) polled in the background")
    return threads

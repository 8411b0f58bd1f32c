"""Time state machine builds, saves and reconcile runs against the embedded emulator.

Runs in a throwaway database (a temporary SQLite file, or a new PostgreSQL
database next to the one DATABASE_URL names) and starts moto's server on
loopback. The workflows have ``--functions`` pipelines each. It prints the pure
build time per definition and the saves per second through the receiver, first
creating and then updating machines. Then it times three reconcile runs: one
that creates every machine, one with nothing to do, and one that deletes every
machine as an orphan.

moto 5.2 parses each definition it receives with its ANTLR parser in pure
Python, so creating a five-pipeline machine took about 0.3 s on a 2-vCPU Xeon
(a one-state machine about 0.03 s). These figures are therefore a poor guide to
real Step Functions, and they leave out its network latency too.

    .venv/bin/python benchmarks/bench_state_machines.py --workflows 200 --functions 5
"""

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vams.settings")

import django  # noqa: E402 (settings must be chosen before Django is set up)
from scratch_database import scratch_database  # noqa: E402 (beside this script)

BUILD_REPEATS = 2_000


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workflows",
        type=int,
        default=200,
        help="Workflow rows to save and reconcile.",
    )
    parser.add_argument(
        "--functions", type=int, default=5, help="Pipeline functions per workflow."
    )
    return parser.parse_args()


def functions(count: int) -> list[dict]:
    resource = json.dumps({"resourceId": "vams-bench", "resourceType": "Lambda"})
    return [
        {
            "name": f"bench-step-{index}",
            "databaseId": "GLOBAL",
            "pipelineType": "standardFile",
            "pipelineExecutionType": "Lambda",
            "outputType": ".glb",
            "waitForCallback": "Enabled",
            "taskTimeout": "3600",
            "userProvidedResource": resource,
        }
        for index in range(count)
    ]


def time_build(entries: list[dict]) -> float:
    """Return the mean seconds per ``build_definition`` call."""
    from workflows.statemachine import build_definition

    started = time.perf_counter()
    for _ in range(BUILD_REPEATS):
        build_definition("bench", entries, output_queue_url="http://127.0.0.1/q")
    return (time.perf_counter() - started) / BUILD_REPEATS


def time_saves(rows: list, *, description: str) -> float:
    """Save every row inside its own transaction, as the services do."""
    from django.db import transaction

    started = time.perf_counter()
    for row in rows:
        row.description = description
        with transaction.atomic():
            row.save()
    return time.perf_counter() - started


def time_reconcile(*, orphan_grace_minutes: int = 10) -> tuple[float, str]:
    from django.core.management import call_command

    stdout = io.StringIO()
    started = time.perf_counter()
    call_command(
        "reconcile_state_machines",
        orphan_grace_minutes=orphan_grace_minutes,
        stdout=stdout,
    )
    return time.perf_counter() - started, stdout.getvalue().strip()


def run(workflow_count: int, function_count: int) -> None:
    from django.utils import timezone

    from workflows.models import Workflow

    entries = functions(function_count)
    print(f"build_definition: {time_build(entries) * 1e6:,.0f} us per definition")

    now = timezone.now()
    rows = [
        Workflow(
            database_id="bench-db",
            workflow_id=f"bench-{index}",
            description="Benchmark workflow",
            specified_pipelines={"functions": entries},
            date_created=now,
            date_modified=now,
        )
        for index in range(workflow_count)
    ]
    seconds = time_saves(rows, description="Created")
    print(f"save (create machine): {workflow_count / seconds:,.1f} saves/s")
    seconds = time_saves(rows, description="Updated")
    print(f"save (update machine): {workflow_count / seconds:,.1f} saves/s")

    # Forget every ARN, so reconcile creates all machines again and the old
    # ones become orphans.
    Workflow.objects.update(workflow_arn="")
    seconds, summary = time_reconcile()
    print(f"reconcile, all missing: {seconds:.2f}s ({summary})")
    seconds, summary = time_reconcile()
    print(f"reconcile, nothing to do: {seconds:.2f}s ({summary})")
    seconds, summary = time_reconcile(orphan_grace_minutes=0)
    print(f"reconcile, deleting orphans: {seconds:.2f}s ({summary})")


def main() -> None:
    arguments = parse_arguments()
    django.setup()


    from vams.aws import emulator as emulator_module

    with scratch_database() as engine:
        emulator = emulator_module.start_emulator()
        emulator_module.provision_core_resources()
        try:
            print(
                f"database: {engine}, workflows={arguments.workflows} "
                f"functions={arguments.functions}"
            )
            run(arguments.workflows, arguments.functions)
        finally:
            emulator.stop()


if __name__ == "__main__":
    main()

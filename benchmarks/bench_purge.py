"""Time purge_deleted_workflows on a large backlog of soft-deleted workflows.

Runs in a throwaway database (a temporary SQLite file, or a new PostgreSQL
database next to the one DATABASE_URL names) and prints rows per second for
each batch size. By default the rows have no state machine ARN, so the purge
makes no Step Functions calls and the figures measure the database work only.
With ``--with-arns`` each row names a state machine that does not exist, as
after a normal soft delete, and the purge describes each one in the embedded
emulator (moto's server on loopback, so far faster than real AWS).

    .venv/bin/python benchmarks/bench_purge.py [--rows 100000] [--batch-sizes 500,2000]
    .venv/bin/python benchmarks/bench_purge.py --rows 5000 --with-arns
    DATABASE_URL=postgres://user@127.0.0.1:5432/postgres \
        .venv/bin/python benchmarks/bench_purge.py
"""

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vams.settings")
# Without --with-arns the purge must make no AWS call. Should one happen, it
# fails fast on a closed loopback port, and boto3 never queries the instance
# metadata service for credentials.
os.environ["VAMS_AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

import django  # noqa: E402 (settings must be chosen before Django is set up)
from scratch_database import scratch_database  # noqa: E402 (beside this script)

INSERT_CHUNK = 5_000


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=100_000, help="Soft-deleted workflows to purge."
    )
    parser.add_argument(
        "--batch-sizes",
        default="500",
        help="Comma-separated --batch-size values to time, one full purge each.",
    )
    parser.add_argument(
        "--with-arns",
        action="store_true",
        help="Give each row the ARN of a missing state machine and start the emulator.",
    )
    return parser.parse_args()


def insert_deleted_workflows(count: int, *, with_arns: bool) -> float:
    """Insert ``count`` workflows soft-deleted 40 days ago; return the seconds taken."""
    from django.utils import timezone

    from workflows.models import Workflow

    now = timezone.now()
    arn_prefix = (
        "arn:aws:states:us-east-1:123456789012:stateMachine:vams-bench-missing-"
    )
    started = time.perf_counter()
    for first in range(0, count, INSERT_CHUNK):
        rows = [
            Workflow(
                database_id="bench-db",
                workflow_id=f"wf-{index}",
                description="Benchmark workflow",
                specified_pipelines={"functions": []},
                workflow_arn=f"{arn_prefix}{index}" if with_arns else "",
                date_created=now - timedelta(days=100),
                date_modified=now - timedelta(days=100),
                deleted_at=now - timedelta(days=40),
            )
            for index in range(first, min(first + INSERT_CHUNK, count))
        ]
        Workflow.all_objects.bulk_create(rows)
    return time.perf_counter() - started


def time_purge(batch_size: int) -> float:
    from django.core.management import call_command

    started = time.perf_counter()
    call_command(
        "purge_deleted_workflows",
        older_than_days=30,
        batch_size=batch_size,
        verbosity=0,
    )
    return time.perf_counter() - started


def main() -> None:
    arguments = parse_arguments()
    batch_sizes = [int(size) for size in arguments.batch_sizes.split(",")]
    django.setup()

    with scratch_database() as engine:
        run(arguments, batch_sizes, engine)


def run(arguments, batch_sizes: list[int], engine: str) -> None:
    from django.db import connection

    from workflows.models import Workflow

    emulator = None
    if arguments.with_arns:
        from vams.aws import emulator as emulator_module

        emulator = emulator_module.start_emulator()
    try:
        print(f"database: {engine} ({connection.settings_dict['NAME']})")
        for batch_size in batch_sizes:
            insert_seconds = insert_deleted_workflows(
                arguments.rows, with_arns=arguments.with_arns
            )
            purge_seconds = time_purge(batch_size)
            left = Workflow.all_objects.count()
            print(
                f"rows={arguments.rows} batch_size={batch_size} "
                f"with_arns={arguments.with_arns} "
                f"insert={insert_seconds:.2f}s purge={purge_seconds:.2f}s "
                f"purge_rate={arguments.rows / purge_seconds:,.0f} rows/s left={left}"
            )
    finally:
        if emulator is not None:
            emulator.stop()


if __name__ == "__main__":
    main()

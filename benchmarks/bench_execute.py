"""Compare the execute route's latency with a bare Step Functions start.

Both run against the embedded emulator (moto's server, started in this
process). The route is driven through Django's test client with a bearer token,
so the figure covers authentication, authorization, the asset, workflow and
pipeline lookups, the S3 existence check, the running-execution refresh, the
row insert and the start. The bare start is one boto3 ``start_execution`` on the
same state machine with the same input document. Each request runs on its own
file, so none is rejected as already running. The S3 ``head_object`` the route
makes is timed on its own too, because it is the route's second AWS call.

    .venv/bin/python benchmarks/bench_execute.py [--requests 200] [--warmup 20]
    DATABASE_URL=postgres://user@127.0.0.1:5432/postgres .venv/bin/python benchmarks/bench_execute.py

It creates and drops its own database (a temporary SQLite file, or a new
PostgreSQL database beside the one DATABASE_URL names). Figures are medians on
the machine at hand.
"""

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vams.settings")
# Each start logs at info; printing them would be timed along with the requests.
os.environ.setdefault("VAMS_LOG_LEVEL", "WARNING")

import django  # noqa: E402 (settings must be chosen before Django is set up)
from scratch_database import scratch_database  # noqa: E402 (beside this script)

HOLD_DEFINITION = {
    "StartAt": "Hold",
    "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}},
}


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="Timed starts of each kind.")
    parser.add_argument("--warmup", type=int, default=20, help="Untimed starts of each kind first.")
    return parser.parse_args()


def build_fixture(file_count: int):
    """Create a user, an asset with ``file_count`` files and a workflow; return them."""
    from django.conf import settings
    from django.utils import timezone

    from tests.factories import function_entry, make_asset, make_database, make_pipeline, make_user
    from vams.aws import s3, stepfunctions
    from workflows.models import Workflow

    user = make_user("bench-admin", is_superuser=True)
    asset = make_asset(make_database("bench-db"), "bench-asset", asset_name="Bench")
    for index in range(file_count):
        s3.put_object(
            bucket=settings.VAMS_ASSET_BUCKET, key=f"{asset.base_key}files/{index}.glb", body=b"x"
        )
    pipeline = make_pipeline("bench-pipe")
    now = timezone.now()
    workflow = Workflow.objects.create(
        database_id="bench-db",
        workflow_id="bench-workflow",
        description="Benchmark workflow",
        specified_pipelines={"functions": [function_entry(pipeline)]},
        date_created=now,
        date_modified=now,
    )
    # A machine that waits keeps every execution cheap and RUNNING. A queryset
    # update stores its ARN without firing the workflow's save receiver.
    arn = stepfunctions.create_state_machine(
        name=f"vams-bench-{uuid.uuid4().hex[:8]}", definition=HOLD_DEFINITION
    )
    Workflow.objects.filter(pk=workflow.pk).update(workflow_arn=arn)
    workflow.refresh_from_db()
    return user, asset, workflow


def time_route(user, asset, files: range) -> list[float]:
    from tests.factories import client_for

    client = client_for(user)
    path = f"/database/bench-db/assets/{asset.asset_id}/workflows/bench-workflow"
    samples = []
    for index in files:
        body = {"workflowDatabaseId": "bench-db", "fileKey": f"files/{index}.glb"}
        started = time.perf_counter()
        response = client.post(path, body, format="json")
        samples.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"execute returned {response.status_code}: {response.content!r}")
    return samples


def time_bare_start(asset, workflow, count: int) -> list[float]:
    from executions.services import build_execution_input
    from vams.aws.clients import get_client

    client = get_client("stepfunctions")
    document = json.dumps(
        build_execution_input(
            asset=asset,
            workflow=workflow,
            input_key=f"{asset.base_key}files/0.glb",
            user_name="bench-admin",
            trigger_source="api",
            execution_id=str(uuid.uuid4()),
        )
    )
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        client.start_execution(
            stateMachineArn=workflow.workflow_arn, name=str(uuid.uuid4()), input=document
        )
        samples.append(time.perf_counter() - started)
    return samples


def time_bare_head(asset, count: int) -> list[float]:
    """Time the S3 existence check the route makes before it starts."""
    from django.conf import settings

    from vams.aws.clients import get_client

    client = get_client("s3")
    samples = []
    for index in range(count):
        started = time.perf_counter()
        client.head_object(Bucket=settings.VAMS_ASSET_BUCKET, Key=f"{asset.base_key}files/{index}.glb")
        samples.append(time.perf_counter() - started)
    return samples


def milliseconds(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[int(len(ordered) * 0.9) - 1]
    return f"median={statistics.median(samples) * 1000:.2f} ms p90={p90 * 1000:.2f} ms"


def main() -> None:
    arguments = parse_arguments()
    django.setup()

    from django.test.utils import setup_test_environment

    from vams.aws import emulator

    setup_test_environment()
    with scratch_database() as engine:
        aws = emulator.start_emulator()
        try:
            emulator.provision_core_resources()
            total = arguments.warmup + arguments.requests
            user, asset, workflow = build_fixture(total)

            time_route(user, asset, range(arguments.warmup))
            route = time_route(user, asset, range(arguments.warmup, total))
            time_bare_start(asset, workflow, arguments.warmup)
            bare = time_bare_start(asset, workflow, arguments.requests)
            head = time_bare_head(asset, arguments.requests)

            ratio = statistics.median(route) / statistics.median(bare)
            print(f"database: {engine}; emulator: {aws.endpoint_url}; requests: {arguments.requests}")
            print(f"execute route (test client): {milliseconds(route)}")
            print(f"bare boto3 start_execution:  {milliseconds(bare)}")
            print(f"bare boto3 S3 head_object:   {milliseconds(head)}")
            print(f"ratio of medians (route / bare start): {ratio:.2f}")
        finally:
            aws.stop()


if __name__ == "__main__":
    main()

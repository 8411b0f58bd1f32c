"""Measure the admin workflow changelist, whose rows are filtered by authz_check.

Run from the repository root:

    .venv/bin/python benchmarks/bench_admin_changelist.py [--workflows 1000 10000]

The admin checks every row of the table in Python before it paginates, so the
page cost grows with the table, not with the 100 rows shown. The script
creates and drops its own test database (SQLite in memory by default; set
DATABASE_URL for PostgreSQL). Rows are written with bulk_create, so no state
machine is created and no AWS endpoint is needed. It prints the median wall
time of a few page loads for a superuser and for a curator allowed half of
the workflows, on the machine at hand.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vams.settings")
# Each denied row is logged at info level, and printing those lines would be
# timed too.
os.environ.setdefault("VAMS_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    setup_databases,
    setup_test_environment,
    teardown_databases,
)
from django.utils import timezone  # noqa: E402

ROUNDS = 5
CHANGELIST_URL = "/admin/workflows/workflow/"


def seed(workflow_count: int) -> None:
    from workflows.models import Workflow

    now = timezone.now()
    Workflow.all_objects.all().hard_delete()
    Workflow.objects.bulk_create(
        [
            Workflow(
                database_id="db-even" if index % 2 == 0 else "db-odd",
                workflow_id=f"workflow-{index:06d}",
                description="Benchmark workflow",
                specified_pipelines={"functions": []},
                date_created=now,
                date_modified=now,
            )
            for index in range(workflow_count)
        ],
        batch_size=2000,
    )


def make_clients() -> dict[str, Client]:
    from authz.services import grant

    user_model = get_user_model()
    superuser = user_model.objects.create(
        username="bench-admin", is_superuser=True, is_staff=True
    )
    curator = user_model.objects.create(username="bench-curator", is_staff=True)
    grant(
        curator,
        object_type="api",
        actions=["GET"],
        criteria_and=[
            ("object__type", "equals", "api"),
        ],
    )
    grant(
        curator,
        object_type="workflow",
        actions=["GET"],
        criteria_and=[
            ("databaseId", "equals", "db-even"),
        ],
    )
    clients = {}
    for name, user in (("superuser", superuser), ("curator", curator)):
        client = Client()
        client.force_login(user)
        clients[name] = client
    return clients


def time_page(client: Client) -> float:
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = client.get(CHANGELIST_URL)
        samples.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"{CHANGELIST_URL} returned {response.status_code}")
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workflows",
        type=int,
        nargs="+",
        default=[1000, 10000],
        help="Table sizes to measure, in workflow rows.",
    )
    args = parser.parse_args()

    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        clients = make_clients()
        for workflow_count in args.workflows:
            seed(workflow_count)
            for name, client in clients.items():
                client.get(CHANGELIST_URL)  # warm up caches and the connection
                milliseconds = time_page(client)
                print(
                    f"workflows={workflow_count:6d} user={name:9s} "
                    f"median page load {milliseconds:8.1f} ms over {ROUNDS} loads"
                )
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()

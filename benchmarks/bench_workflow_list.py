"""Measure GET /workflows at the largest page against a raw values() read.

Run with ``.venv/bin/python benchmarks/bench_workflow_list.py``. Without
DATABASE_URL it uses its own SQLite file, ``var/bench_workflow_list.sqlite3``.
With DATABASE_URL, point it at a scratch database: the script migrates it and
replaces every workflow row in it with 30,000 generated ones.

The rows are inserted with bulk_create, which fires no post_save receiver, so
no state machines are created and no AWS endpoint is needed.
"""

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vams.settings")
os.environ.setdefault(
    "DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench_workflow_list.sqlite3'}"
)

import django  # noqa: E402  (the environment must be set before Django starts)

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Q  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from workflows.models import Workflow  # noqa: E402
from workflows.serializers import REPRESENTATION_FIELDS  # noqa: E402

WORKFLOW_COUNT = 30000
DATABASE_COUNT = 30
ROUNDS = 3
ORDERING = ("database_id", "workflow_id", "id")


def seed() -> None:
    """Replace every workflow row with WORKFLOW_COUNT generated ones."""
    if Workflow.all_objects.count() == WORKFLOW_COUNT:
        return
    Workflow.all_objects.all().hard_delete()
    now = timezone.now()
    functions = [
        {
            "name": "3d-conversion-pipeline",
            "databaseId": "GLOBAL",
            "pipelineType": "standardFile",
            "pipelineExecutionType": "Lambda",
            "outputType": ".gltf",
            "waitForCallback": "Disabled",
            "userProvidedResource": json.dumps(
                {
                    "resourceId": "vams-3dconversion",
                    "resourceType": "Lambda",
                    "isProvided": False,
                }
            ),
            "pipelineId": "3d-conversion-pipeline",
            "object__type": "pipeline",
        }
    ]
    rows = [
        Workflow(
            database_id=f"bench-db-{n % DATABASE_COUNT:02d}",
            workflow_id=f"bench-workflow-{n:05d}",
            description=f"Benchmark workflow {n}",
            specified_pipelines={"functions": functions},
            workflow_arn=(
                "arn:aws:states:us-east-1:123456789012:stateMachine:"
                f"vams-bench-workflow-{n:05d}abcdefgh"
            ),
            auto_trigger_on_file_extensions_upload=".fbx,.obj",
            date_created=now,
            date_modified=now,
            modified_by="bench",
        )
        for n in range(WORKFLOW_COUNT)
    ]
    Workflow.all_objects.bulk_create(rows, batch_size=2000)


def api_client() -> APIClient:
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    # 127.0.0.1 is in the default ALLOWED_HOSTS; Django's "testserver" is not.
    client = APIClient(HTTP_HOST="127.0.0.1")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


class Timings:
    """Wall-clock and CPU seconds per page.

    CPU time is this process only: it leaves out a PostgreSQL server's work,
    but it is steadier than wall-clock time on a machine shared with other jobs.
    """

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def add(self, wall: float, cpu: float) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)

    def medians_ms(self) -> tuple[float, float]:
        return statistics.median(self.wall) * 1000, statistics.median(self.cpu) * 1000


def time_api_pages(client: APIClient, page_size: int, timings: Timings) -> list[int]:
    """Walk every page of GET /workflows and record times; return queries per page."""
    queries: list[int] = []
    token = None
    while True:
        params = {"pageSize": page_size, "maxItems": page_size}
        if token:
            params["startingToken"] = token
        with CaptureQueriesContext(connection) as captured:
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get("/workflows", params)
            timings.add(
                time.perf_counter() - started, time.process_time() - cpu_started
            )
        queries.append(len(captured))
        if response.status_code != 200:
            raise SystemExit(
                f"GET /workflows returned {response.status_code}: {response.content!r}"
            )
        token = json.loads(response.content)["message"]["NextToken"]
        if token is None:
            return queries


def time_raw_pages(page_size: int, timings: Timings) -> None:
    """Read the same pages with values() and json.dumps, the lower bound for the API."""
    last = None
    while True:
        started, cpu_started = time.perf_counter(), time.process_time()
        # Every seeded row is live, so no deleted_at filter is needed.
        queryset = Workflow.all_objects.values(*REPRESENTATION_FIELDS).order_by(
            *ORDERING
        )
        if last is not None:
            database_id, workflow_id, row_id = last
            queryset = queryset.filter(
                Q(database_id__gt=database_id)
                | Q(database_id=database_id, workflow_id__gt=workflow_id)
                | Q(database_id=database_id, workflow_id=workflow_id, id__gt=row_id)
            )
        rows = list(queryset[:page_size])
        json.dumps(rows, default=str)
        timings.add(time.perf_counter() - started, time.process_time() - cpu_started)
        if len(rows) < page_size:
            return
        last = tuple(rows[-1][field] for field in ORDERING)


def main() -> None:
    call_command("migrate", verbosity=0)
    seed()
    client = api_client()
    client.get("/workflows", {"maxItems": 1})  # warm up caches and the connection

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"rows: {Workflow.objects.count()}; rounds: {ROUNDS}")
    for page_size in (3000, 300):
        api = Timings()
        raw = Timings()
        queries: list[int] = []
        for _ in range(ROUNDS):
            queries += time_api_pages(client, page_size, api)
            time_raw_pages(page_size, raw)
        api_wall, api_cpu = api.medians_ms()
        raw_wall, raw_cpu = raw.medians_ms()
        print(f"pageSize={page_size} maxItems={page_size}, {len(api.wall)} pages:")
        print(
            f"  API median     {api_wall:7.1f} ms wall  {api_cpu:7.1f} ms CPU per page"
        )
        print(
            f"  raw median     {raw_wall:7.1f} ms wall  {raw_cpu:7.1f} ms CPU per page"
        )
        print(
            f"  ratio API/raw  {api_wall / raw_wall:7.2f} wall     "
            f"{api_cpu / raw_cpu:7.2f} CPU"
        )
        print(f"  SQL queries per API page: min {min(queries)}, max {max(queries)}")


if __name__ == "__main__":
    main()

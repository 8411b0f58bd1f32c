"""Measure authorization cost: per-request enforcement with 1,000 constraints,
and GET /workflows over 30,000 workflows for a user allowed half of them.

Run from the repository root:

    .venv/bin/python benchmarks/bench_authz.py [--workflows 30000] [--constraints 1000]

It creates and drops its own test database (Django's test-database naming),
so set DATABASE_URL to PostgreSQL to measure there. The default is SQLite in
memory. Rows are written with bulk_create, so no state machine is created and
no AWS endpoint is needed. Figures are medians of repeated runs on the
machine at hand and print as plain text.
"""

import argparse
import gc
import os
import re
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vams.settings")
# Denials are logged at info, and writing thousands of them to the terminal
# would be timed along with the decisions.
os.environ.setdefault("VAMS_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

LIMIT_PATTERN = re.compile(r"\bLIMIT\s+(\d+)", re.IGNORECASE)


def median_micros(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def create_rules(constraint_count: int, operator: str):
    """Create a user with 1 route and ``constraint_count`` workflow constraints."""
    from django.contrib.auth import get_user_model

    from authz.enforcer import bump_policy_version
    from authz.models import (
        Constraint,
        ConstraintPermission,
        Criterion,
        Role,
        RoleMembership,
    )

    user = get_user_model().objects.create(username=f"bench-{operator}")
    role = Role.objects.create(name=f"bench-{operator}")
    RoleMembership.objects.create(user=user, role=role)
    route = Constraint.objects.create(
        name=f"bench-routes-{operator}", object_type="api"
    )
    Criterion.objects.create(
        constraint=route, field="route__path", operator="starts_with", value="/"
    )
    ConstraintPermission.objects.create(constraint=route, role=role, action="GET")

    constraints = Constraint.objects.bulk_create(
        Constraint(name=f"bench-{operator}-{index}", object_type="workflow")
        for index in range(constraint_count)
    )
    Criterion.objects.bulk_create(
        Criterion(
            constraint=constraint,
            field="workflowId",
            operator=operator,
            value=f"wf-{index}",
        )
        for index, constraint in enumerate(constraints)
    )
    ConstraintPermission.objects.bulk_create(
        ConstraintPermission(constraint=constraint, role=role, action="GET")
        for constraint in constraints
    )
    # bulk_create sends no post_save signal, so the version is bumped here.
    bump_policy_version()
    return user


def bench_enforcement(constraint_count: int, requests: int, operator: str) -> None:
    from django.contrib.auth import get_user_model

    from authz import enforcer as enforcer_module
    from authz.enforcer import build_enforcer, pin_request_state
    from authz.services import authz_check

    user_id = create_rules(constraint_count, operator).pk
    print(
        f"== Enforcement, one user reached by {constraint_count} workflow constraints "
        f"'workflowId {operator} wf-<n>'"
    )

    user = get_user_model().objects.get(pk=user_id)
    build_samples = []
    for _ in range(20):
        started = time.perf_counter()
        enforcer = build_enforcer(user, mfa_authenticated=False)
        build_samples.append(time.perf_counter() - started)
    print(
        f"build enforcer from the database (cold, per user and version): "
        f"{statistics.median(build_samples) * 1e3:.1f} ms median; "
        f"{enforcer.policy_count} Casbin policies"
    )

    request_samples = []
    allowed = 0
    for index in range(requests):
        # A new user object per request, as DRF authentication produces.
        request_user = get_user_model().objects.get(pk=user_id)
        started = time.perf_counter()
        pin_request_state(request_user, mfa_authenticated=False)
        route_ok = authz_check(
            user=request_user,
            obj={"object__type": "api", "route__path": "/database/db-a/workflows/x"},
            action="GET",
        )
        # Distinct workflow ids defeat the decision memo, so each request
        # pays a full Casbin evaluation.
        workflow_id = f"wf-{(index * 7919) % (2 * constraint_count)}"
        object_ok = authz_check(
            user=request_user,
            obj={
                "object__type": "workflow",
                "databaseId": "db-a",
                "workflowId": workflow_id,
            },
            action="GET",
        )
        request_samples.append(time.perf_counter() - started)
        allowed += route_ok and object_ok
    print(
        f"per request (version read + tier 1 + tier 2, memo missed): "
        f"{median_micros(request_samples):.0f} us median over {requests} requests "
        f"({allowed} allowed)"
    )

    version_samples = []
    for _ in range(500):
        started = time.perf_counter()
        enforcer_module.current_policy_version()
        version_samples.append(time.perf_counter() - started)
    version_micros = median_micros(version_samples)
    print(f"of which the policy version read: {version_micros:.0f} us median")

    enforcer = enforcer_module.enforcer_for(user)
    denied_object = {
        "object__type": "workflow",
        "databaseId": "db-a",
        "workflowId": "none",
    }
    allowed_object = {
        "object__type": "workflow",
        "databaseId": "db-a",
        "workflowId": "wf-0",
    }
    for label, obj in (
        ("denied (all predicates run)", denied_object),
        ("allowed (first predicate)", allowed_object),
    ):
        samples = []
        for _ in range(500):
            started = time.perf_counter()
            enforcer.enforce_uncached(obj, "GET")
            samples.append(time.perf_counter() - started)
        print(f"one Casbin decision, {label}: {median_micros(samples):.0f} us median")

    samples = []
    for _ in range(2000):
        started = time.perf_counter()
        enforcer.decide(denied_object, "GET")
        samples.append(time.perf_counter() - started)
    print(f"one remembered decision: {median_micros(samples):.1f} us median")


def create_workflows(total: int) -> None:
    from workflows.models import Workflow

    now = timezone.now()
    batch = [
        Workflow(
            database_id="db-a" if index % 2 == 0 else "db-b",
            workflow_id=f"wf-{index:06d}",
            description="Benchmark workflow",
            specified_pipelines={"functions": []},
            date_created=now,
            date_modified=now,
        )
        for index in range(total)
    ]
    Workflow.objects.bulk_create(batch, batch_size=2000)


def create_half_reader():
    from django.contrib.auth import get_user_model

    from authz.services import grant

    user = get_user_model().objects.create(username="bench-half")
    grant(
        user,
        object_type="api",
        criteria_and=[("route__path", "equals", "/workflows")],
        actions=["GET"],
    )
    grant(
        user,
        object_type="workflow",
        criteria_and=[("databaseId", "equals", "db-a")],
        actions=["GET"],
    )
    return user


class QueryRecorder:
    """Record the LIMIT of every SELECT on the workflow table."""

    def __init__(self) -> None:
        self.limits: list[int] = []
        self.queries = 0

    def __call__(self, execute, sql, params, many, context):
        self.queries += 1
        if "workflows_workflow" in sql and sql.lstrip().upper().startswith("SELECT"):
            match = LIMIT_PATTERN.search(sql)
            self.limits.append(int(match.group(1)) if match else -1)
        return execute(sql, params, many, context)


def list_all_pages(
    client: Client, headers: dict, params: dict, *, trace: bool
) -> tuple[int, int, QueryRecorder, float]:
    """Follow NextToken to the end.

    Returns (responses, items, recorder, peak bytes of one response). The
    peak is measured only with ``trace``, from a collected heap before each
    request, so garbage left by earlier responses does not count.
    """
    recorder = QueryRecorder()
    responses, items, token, peak = 0, 0, None, 0
    with connection.execute_wrapper(recorder):
        while True:
            query = dict(params)
            if token:
                query["startingToken"] = token
            if trace:
                gc.collect()
                tracemalloc.reset_peak()
                baseline, _ = tracemalloc.get_traced_memory()
            response = client.get("/workflows", query, **headers)
            if trace:
                _, response_peak = tracemalloc.get_traced_memory()
                peak = max(peak, response_peak - baseline)
            assert response.status_code == 200, response.content
            message = response.json()["message"]
            responses += 1
            items += len(message["Items"])
            token = message["NextToken"]
            if token is None:
                break
    return responses, items, recorder, peak


def timed_listing(
    client: Client, headers: dict, params: dict, *, trace: bool = False
) -> dict:
    """List every page once; return its time, counts and (with ``trace``) memory."""
    import casbin

    original = casbin.Enforcer.enforce
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with mock.patch.object(
        casbin.Enforcer, "enforce", autospec=True, side_effect=original
    ) as counted:
        responses, items, recorder, peak = list_all_pages(
            client, headers, params, trace=trace
        )
    elapsed = time.perf_counter() - started
    if trace:
        tracemalloc.stop()
    return {
        "seconds": elapsed,
        "responses": responses,
        "items": items,
        "queries": recorder.queries,
        "table_reads": len(recorder.limits),
        "max_limit": max(recorder.limits),
        "casbin_calls": counted.call_count,
        "peak_mb": peak / 1e6,
    }


def bench_list(total: int, repeats: int) -> None:
    from authz.enforcer import enforcer_cache

    create_workflows(total)
    user = create_half_reader()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {AccessToken.for_user(user)}"}
    client = Client()
    print(f"== GET /workflows over {total} workflows, user allowed db-a (half)")

    for label, params in (
        ("defaults (maxItems 30000, pageSize 3000)", {}),
        ("maxItems 1000, pageSize 500", {"maxItems": 1000, "pageSize": 500}),
    ):
        enforcer_cache.clear()
        cold = timed_listing(client, headers, params)
        warm = [timed_listing(client, headers, params) for _ in range(repeats)]
        warm_ms = statistics.median(run["seconds"] for run in warm) * 1e3
        traced = timed_listing(client, headers, params, trace=True)
        print(
            f"{label}: {cold['responses']} response(s), {cold['items']} items; "
            f"cold {cold['seconds'] * 1e3:.0f} ms, warm {warm_ms:.0f} ms median; "
            f"{cold['queries']} SQL queries, {cold['table_reads']} reads of the "
            f"workflow table with LIMIT at most {cold['max_limit']}; "
            f"{cold['casbin_calls']} Casbin evaluations cold, "
            f"{warm[0]['casbin_calls']} warm; peak traced memory of one response "
            f"{traced['peak_mb']:.1f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workflows", type=int, default=30000, help="Workflow rows to list."
    )
    parser.add_argument(
        "--constraints", type=int, default=1000, help="Constraints reaching the user."
    )
    parser.add_argument(
        "--requests", type=int, default=2000, help="Simulated requests to time."
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="Timed runs of each list."
    )
    options = parser.parse_args()

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        print(f"database: {connection.vendor}, python {sys.version.split()[0]}")
        # Single equals tests are indexed in a set. starts_with runs each
        # constraint's predicate in turn, the slow path.
        for operator in ("equals", "starts_with"):
            bench_enforcement(options.constraints, options.requests, operator)
        bench_list(options.workflows, options.repeats)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()

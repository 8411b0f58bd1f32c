"""Fuzzing of the API from its own OpenAPI schema, shared by the test and the long run.

Schemathesis generates requests from the schema built in-process; each
response must not be a 5xx and must match the documented status, content type
and body. Failures are collected rather than raised, so one run reports every
distinct failure with a curl line that reproduces it.
"""

from collections import Counter
from dataclasses import dataclass, field

import hypothesis
import schemathesis
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup, ServerError
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import make_asset, make_database, make_pipeline, make_user
from vams.aws import s3

FUZZ_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# Seeded objects. Cases with these path parameters reach past the lookups,
# into validation of the query and body against stored rows.
DATABASE_ID = "my-database"
ASSET_ID = "xa1b2"
WORKFLOW_ID = "convert-and-preview"
PIPELINE_ID = "3d-conversion-pipeline"
FILE_KEY = "models/building.fbx"
ASSET_PATH = {"databaseId": DATABASE_ID, "assetId": ASSET_ID}
SEEDED_PATH_PARAMETERS = {
    "databaseId": DATABASE_ID,
    "assetId": ASSET_ID,
    "workflowId": WORKFLOW_ID,
}
REQUEST_TIMEOUT_SECONDS = 30


def build_schema_document() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def load_fuzz_schema(base_url: str):
    """Load the in-process schema into schemathesis, aimed at ``base_url``."""
    schema = schemathesis.openapi.from_dict(build_schema_document())
    schema.config.update(base_url=base_url, request_timeout=REQUEST_TIMEOUT_SECONDS)
    return schema


def operations_of(schema) -> list:
    return [result.ok() for result in schema.get_all_operations()]


@dataclass
class FuzzUser:
    name: str
    headers: dict


def seed_fuzz_data() -> dict[str, FuzzUser]:
    """Create the seeded objects and return the callers by name.

    They are an admin, a user with no role, and an anonymous caller without a
    token.
    """
    admin = make_user("fuzz-admin", is_superuser=True)
    admin.set_password("fuzz-admin-password")
    admin.save()
    no_role = make_user("fuzz-no-role")
    database = make_database(DATABASE_ID)
    asset = make_asset(database, ASSET_ID)
    s3.put_object(
        bucket=settings.VAMS_ASSET_BUCKET,
        key=asset.base_key + FILE_KEY,
        body=b"solid\n",
    )
    make_pipeline(PIPELINE_ID)
    seed_workflow()
    return {
        "admin": FuzzUser("admin", _bearer(admin)),
        "no-role": FuzzUser("no-role", _bearer(no_role)),
        "anonymous": FuzzUser("anonymous", {}),
    }


def seed_workflow() -> None:
    """Save the seeded workflow again, so a run that deleted it can go on using it."""
    from tests.factories import function_entry
    from workflows.models import Pipeline
    from workflows.services import workflow_create_or_update

    admin = make_user("fuzz-admin", is_superuser=True)
    pipeline = Pipeline.objects.get(database_id="GLOBAL", pipeline_id=PIPELINE_ID)
    workflow_create_or_update(
        data={
            "workflowId": WORKFLOW_ID,
            "databaseId": DATABASE_ID,
            "description": "Convert 3D files and generate preview thumbnails",
            "specifiedPipelines": {"functions": [function_entry(pipeline)]},
            "autoTriggerOnFileExtensionsUpload": ".fbx,.obj",
        },
        user=admin,
    )


def _bearer(user) -> dict:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


@dataclass
class FuzzTally:
    """Counts of one fuzzing run and the distinct failures it found."""

    requests: int = 0
    server_errors: int = 0
    schema_violations: int = 0
    statuses: Counter = field(default_factory=Counter)
    operations: Counter = field(default_factory=Counter)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)

    def record(self, case, response, user: FuzzUser) -> None:
        self.requests += 1
        self.statuses[response.status_code] += 1
        self.operations[case.operation.label] += 1
        try:
            case.validate_response(response, checks=FUZZ_CHECKS, headers=user.headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                if isinstance(failure, ServerError):
                    self.server_errors += 1
                else:
                    self.schema_violations += 1
                key = (f"{case.operation.label} as {user.name}", failure.title)
                self.failures.setdefault(key, _describe(case, response, failure))

    def report(self) -> str:
        statuses = " ".join(f"{code}:{n}" for code, n in sorted(self.statuses.items()))
        lines = [
            f"requests={self.requests} server_errors={self.server_errors} "
            f"schema_violations={self.schema_violations}",
            f"statuses {statuses}",
        ]
        for (label, title), detail in sorted(self.failures.items()):
            lines.append(f"- {label}: {title}\n{detail}")
        return "\n".join(lines)


def _describe(case, response, failure) -> str:
    body = response.text[:300]
    curl = case.as_curl_command(headers={"Authorization": "Bearer <token>"})
    status = response.status_code
    return f"  {failure.message[:300]}\n  status={status} body={body}\n  {curl}"


def fuzz_operation(
    operation,
    user: FuzzUser,
    tally: FuzzTally,
    *,
    max_examples: int,
    path_parameters: dict | None = None,
) -> None:
    """Send generated requests to one operation, valid and invalid ones alike."""
    pinned = None
    if path_parameters is not None:
        names = {parameter.name for parameter in operation.path_parameters}
        pinned = {
            name: path_parameters[name] for name in names if name in path_parameters
        }
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, path_parameters=pinned),
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=pinned),
    )

    @hypothesis.given(case=strategy)
    @hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def send(case) -> None:
        response = case.call(headers=user.headers)
        tally.record(case, response, user)

    send()


def fuzz_all(
    schema, users: dict[str, FuzzUser], tally: FuzzTally, *, max_examples: int
) -> None:
    """Fuzz every operation as every user, with free and with seeded path parameters."""
    for operation in operations_of(schema):
        for user in users.values():
            fuzz_operation(operation, user, tally, max_examples=max_examples)
            if operation.path_parameters:
                fuzz_operation(
                    operation,
                    user,
                    tally,
                    max_examples=max_examples,
                    path_parameters=SEEDED_PATH_PARAMETERS,
                )



def lifecycle_machine(schema, user: FuzzUser, tally: FuzzTally):
    """Build a state machine that saves, reads, runs, stops and deletes workflows.

    Random sequences of these calls check each response against the schema,
    and, for the admin, against a model of what was saved: a saved workflow
    reads back, a deleted one is 404, a started execution is listed.
    """
    from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, rule

    from tests.factories import function_entry
    from workflows.models import Pipeline, Workflow

    pipeline = Pipeline.objects.get(database_id="GLOBAL", pipeline_id=PIPELINE_ID)
    entry = function_entry(pipeline)
    put = schema["/workflows"]["PUT"]
    get = schema["/database/{databaseId}/workflows/{workflowId}"]["GET"]
    delete = schema["/database/{databaseId}/workflows/{workflowId}"]["DELETE"]
    database_list = schema["/database/{databaseId}/workflows"]["GET"]
    execute = schema["/database/{databaseId}/assets/{assetId}/workflows/{workflowId}"][
        "POST"
    ]
    executions = schema[EXECUTIONS_BY_WORKFLOW]["GET"]
    stop = schema[EXECUTIONS_BY_WORKFLOW + "/{executionId}/stop"]["POST"]
    is_admin = user.name == "admin"

    def send(operation, **parts):
        case = operation.Case(**parts)
        response = case.call(headers=user.headers)
        tally.record(case, response, user)
        return response

    def expect(response, statuses: set[int], failure_title: str) -> None:
        if is_admin and response.status_code not in statuses:
            key = (f"lifecycle as {user.name}", failure_title)
            detail = f"  status={response.status_code} body={response.text[:300]}"
            tally.failures.setdefault(key, detail)

    class WorkflowLifecycle(RuleBasedStateMachine):
        saved = Bundle("saved")
        started = Bundle("started")

        def __init__(self) -> None:
            super().__init__()
            # Rows persist between examples, so each one starts from the table.
            self.alive = set(
                Workflow.objects.values_list("database_id", "workflow_id")
            )

        @rule(
            target=saved,
            workflow_id=st.sampled_from(["wf-fuzz-a", "wf-fuzz-b", WORKFLOW_ID]),
            database_id=st.sampled_from([DATABASE_ID, "GLOBAL"]),
            description=st.text(DESCRIPTION_ALPHABET, min_size=4, max_size=40),
            trigger=st.sampled_from(["", "all", ".fbx,.obj", "jpg, png"]),
        )
        def save(self, workflow_id, database_id, description, trigger):
            body = {
                "workflowId": workflow_id,
                "databaseId": database_id,
                "description": description,
                "specifiedPipelines": {"functions": [entry]},
                "autoTriggerOnFileExtensionsUpload": trigger,
            }
            response = send(put, body=body, media_type="application/json")
            expect(response, {200}, "saving a valid workflow failed")
            if response.status_code == 200:
                self.alive.add((database_id, workflow_id))
            return (database_id, workflow_id)

        @rule(key=saved, show_deleted=st.sampled_from([None, "true", "false"]))
        def read(self, key, show_deleted):
            query = {} if show_deleted is None else {"showDeleted": show_deleted}
            path = {"databaseId": key[0], "workflowId": key[1]}
            response = send(get, path_parameters=path, query=query)
            if key in self.alive:
                expect(response, {200}, "a saved workflow did not read back")
            elif show_deleted != "true":
                expect(response, {404}, "a deleted workflow still reads back")

        @rule(key=consumes(saved))
        def remove(self, key):
            path = {"databaseId": key[0], "workflowId": key[1]}
            response = send(delete, path_parameters=path)
            if key in self.alive:
                expect(response, {200}, "deleting a saved workflow failed")
            else:
                expect(response, {404}, "deleting a deleted workflow did not 404")
            self.alive.discard(key)

        @rule(
            key=saved,
            max_items=st.integers(min_value=1, max_value=3),
            show_deleted=st.sampled_from(["true", "false"]),
        )
        def page_through(self, key, max_items, show_deleted):
            query = {"maxItems": max_items, "showDeleted": show_deleted}
            seen: list[str] = []
            for _ in range(20):
                response = send(
                    database_list, path_parameters={"databaseId": key[0]}, query=query
                )
                if response.status_code != 200:
                    return
                page = response.json()["message"]
                seen.extend(item["workflowId"] for item in page["Items"])
                if not page["NextToken"]:
                    break
                query = {**query, "startingToken": page["NextToken"]}
            if show_deleted == "false" and len(seen) != len(set(seen)):
                expect(response, set(), "paging repeated a workflow")

        @rule(
            target=started,
            key=saved,
            file_key=st.sampled_from([None, FILE_KEY, f"{ASSET_ID}/{FILE_KEY}"]),
        )
        def run(self, key, file_key):
            path = {**ASSET_PATH, "workflowId": key[1]}
            body = {"workflowDatabaseId": key[0]}
            if file_key is not None:
                body["fileKey"] = file_key
            response = send(execute, path_parameters=path, body=body)
            if response.status_code == 200:
                return (key, response.json()["message"])
            return (key, "00000000-0000-0000-0000-000000000000")

        @rule(item=started, history=st.sampled_from(["true", "false"]))
        def list_runs(self, item, history):
            key, _ = item
            path = {**ASSET_PATH, "workflowId": key[1]}
            query = {"history": history}
            response = send(executions, path_parameters=path, query=query)
            expect(response, {200}, "listing executions failed")

        @rule(item=consumes(started))
        def halt(self, item):
            key, execution_id = item
            path = {**ASSET_PATH, "workflowId": key[1], "executionId": execution_id}
            response = send(stop, path_parameters=path)
            expect(response, {200, 400, 404}, "stopping an execution failed")

    return WorkflowLifecycle


# Any character a stored description may contain: no NUL, no lone surrogates.
DESCRIPTION_ALPHABET = st.characters(
    blacklist_categories=("Cs",), blacklist_characters="\x00"
)
EXECUTIONS_BY_WORKFLOW = (
    "/database/{databaseId}/assets/{assetId}/workflows/executions/{workflowId}"
)


def fuzz_lifecycle(schema, user: FuzzUser, tally: FuzzTally, *, max_examples: int):
    """Run random call sequences of the workflow lifecycle."""
    machine = lifecycle_machine(schema, user, tally)
    machine.TestCase.settings = hypothesis.settings(
        max_examples=max_examples,
        stateful_step_count=12,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    run_state_machine_as_test(machine, settings=machine.TestCase.settings)


def fuzz_linked_sequences(
    schema, user: FuzzUser, tally: FuzzTally, *, max_examples: int
) -> None:
    """Run schemathesis' own call sequences, which follow the schema's OpenAPI links.

    A saved workflow is read and deleted through the ids of the PUT body, and
    a started execution is listed and stopped through the id it returned.
    """
    linked_machine = schema.as_state_machine()

    class LinkedSequences(linked_machine):
        def get_call_kwargs(self, case) -> dict:
            return {"headers": user.headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            tally.record(case, response, user)

    LinkedSequences.run(
        settings=hypothesis.settings(
            max_examples=max_examples,
            stateful_step_count=6,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )

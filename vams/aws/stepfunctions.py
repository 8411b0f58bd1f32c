"""The Step Functions gateway: every Step Functions call goes through here.

Functions return small dataclasses, not boto3 dictionaries, and raise
``AwsError`` (``vams.aws.errors``) for any AWS failure.
"""

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from vams.aws.clients import get_client
from vams.aws.errors import AWS_EXCEPTIONS, AwsError, translate

logger = logging.getLogger(__name__)

SERVICE = "stepfunctions"
# A role ARN for the emulator, which checks the ARN's format but not the role.
EMULATOR_ROLE_ARN = "arn:aws:iam::123456789012:role/vams-workflows-state-machine"
MISSING_CODES = frozenset({"StateMachineDoesNotExist", "ExecutionDoesNotExist"})


@dataclass(frozen=True)
class StateMachine:
    arn: str
    name: str
    definition: dict
    status: str


@dataclass(frozen=True)
class StateMachineSummary:
    arn: str
    name: str
    creation_date: datetime | None = None


@dataclass(frozen=True)
class StartedExecution:
    arn: str
    start_date: datetime


@dataclass(frozen=True)
class ExecutionSnapshot:
    arn: str
    name: str
    status: str
    start_date: datetime | None
    stop_date: datetime | None
    error: str
    cause: str
    output: str


def is_missing(error: AwsError) -> bool:
    """Return True when ``error`` means the state machine or execution does not exist."""
    return error.code in MISSING_CODES


def _call(operation: str, **kwargs):
    try:
        return getattr(get_client(SERVICE), operation)(**kwargs)
    except AWS_EXCEPTIONS as exc:
        error = translate(SERVICE, operation, exc)
        # A missing machine or execution is an expected result of describe
        # and delete, and the purge commands query thousands of them.
        level = logging.DEBUG if is_missing(error) else logging.WARNING
        logger.log(
            level,
            "Step Functions %s failed code=%s request_id=%s",
            operation,
            error.code,
            error.request_id,
        )
        raise error from exc


def role_arn() -> str:
    """Return the IAM role state machines run as."""
    if settings.VAMS_STATE_MACHINE_ROLE_ARN:
        return settings.VAMS_STATE_MACHINE_ROLE_ARN
    if settings.VAMS_AWS_ENDPOINT_URL:
        return EMULATOR_ROLE_ARN
    raise ImproperlyConfigured(
        "Missing VAMS_STATE_MACHINE_ROLE_ARN: set it to the ARN of the IAM role "
        "that workflow state machines run as."
    )


def create_state_machine(*, name: str, definition: dict) -> str:
    """Create a STANDARD state machine and return its ARN."""
    response = _call(
        "create_state_machine",
        name=name,
        definition=json.dumps(definition),
        roleArn=role_arn(),
        type="STANDARD",
    )
    logger.info("Created state machine arn=%s", response["stateMachineArn"])
    return response["stateMachineArn"]


def update_state_machine(*, arn: str, definition: dict) -> None:
    """Replace the definition in place, keeping the ARN and execution history."""
    _call(
        "update_state_machine",
        stateMachineArn=arn,
        definition=json.dumps(definition),
        roleArn=role_arn(),
    )
    logger.info("Updated state machine arn=%s", arn)


def delete_state_machine(*, arn: str) -> None:
    """Delete the state machine. A machine that is already gone counts as deleted."""
    try:
        _call("delete_state_machine", stateMachineArn=arn)
    except AwsError as error:
        if not is_missing(error):
            raise
    logger.info("Deleted state machine arn=%s", arn)


def describe_state_machine(*, arn: str) -> StateMachine | None:
    """Return the state machine, or None when it does not exist."""
    try:
        response = _call("describe_state_machine", stateMachineArn=arn)
    except AwsError as error:
        if is_missing(error):
            return None
        raise
    return StateMachine(
        arn=response["stateMachineArn"],
        name=response["name"],
        definition=json.loads(response["definition"]),
        status=response.get("status", "ACTIVE"),
    )


def list_state_machines(*, name_prefix: str = "") -> list[StateMachineSummary]:
    """Return every state machine whose name starts with ``name_prefix``."""
    machines = []
    token = None
    while True:
        kwargs = {"maxResults": 1000}
        if token:
            kwargs["nextToken"] = token
        response = _call("list_state_machines", **kwargs)
        for item in response.get("stateMachines", []):
            if item["name"].startswith(name_prefix):
                machines.append(
                    StateMachineSummary(
                        arn=item["stateMachineArn"],
                        name=item["name"],
                        creation_date=item.get("creationDate"),
                    )
                )
        token = response.get("nextToken")
        if not token:
            return machines


def start_execution(*, state_machine_arn: str, name: str, payload: dict) -> StartedExecution:
    """Start an execution named ``name`` and return its ARN and start date.

    Retrying with the same name and input while the execution runs is idempotent.
    """
    response = _call(
        "start_execution",
        stateMachineArn=state_machine_arn,
        name=name,
        input=json.dumps(payload),
    )
    logger.info("Started execution arn=%s", response["executionArn"])
    return StartedExecution(arn=response["executionArn"], start_date=response["startDate"])


def describe_execution(*, execution_arn: str) -> ExecutionSnapshot:
    response = _call("describe_execution", executionArn=execution_arn)
    return _snapshot(response)


def _snapshot(response: dict) -> ExecutionSnapshot:
    return ExecutionSnapshot(
        arn=response["executionArn"],
        name=response.get("name", ""),
        status=response["status"],
        start_date=response.get("startDate"),
        stop_date=response.get("stopDate"),
        error=response.get("error", "") or "",
        cause=response.get("cause", "") or "",
        output=response.get("output", "") or "",
    )


def list_executions(*, state_machine_arn: str) -> list[ExecutionSnapshot]:
    """Return every execution of the state machine, newest first."""
    executions = []
    token = None
    while True:
        kwargs = {"stateMachineArn": state_machine_arn, "maxResults": 1000}
        if token:
            kwargs["nextToken"] = token
        response = _call("list_executions", **kwargs)
        for item in response.get("executions", []):
            executions.append(
                ExecutionSnapshot(
                    arn=item["executionArn"],
                    name=item["name"],
                    status=item["status"],
                    start_date=item.get("startDate"),
                    stop_date=item.get("stopDate"),
                    error="",
                    cause="",
                    output="",
                )
            )
        token = response.get("nextToken")
        if not token:
            return executions


def stop_execution(*, execution_arn: str, error: str, cause: str) -> None:
    _call("stop_execution", executionArn=execution_arn, error=error, cause=cause)
    logger.info("Stopped execution arn=%s", execution_arn)


def send_task_success(*, task_token: str, output: dict) -> None:
    _call("send_task_success", taskToken=task_token, output=json.dumps(output))


def send_task_failure(*, task_token: str, error: str, cause: str) -> None:
    # Step Functions limits error to 256 and cause to 32768 characters.
    _call("send_task_failure", taskToken=task_token, error=error[:256], cause=cause[:32768])


def send_task_heartbeat(*, task_token: str) -> None:
    _call("send_task_heartbeat", taskToken=task_token)

"""The SQS gateway: pipeline queues and the output-processing queue."""

import json
import logging
from dataclasses import dataclass

from vams.aws.clients import get_client
from vams.aws.errors import AWS_EXCEPTIONS, translate

logger = logging.getLogger(__name__)

SERVICE = "sqs"


@dataclass(frozen=True)
class Message:
    body: str
    receipt_handle: str
    message_id: str


def _call(operation: str, **kwargs):
    try:
        return getattr(get_client(SERVICE), operation)(**kwargs)
    except AWS_EXCEPTIONS as exc:
        error = translate(SERVICE, operation, exc)
        logger.warning("SQS %s failed code=%s", operation, error.code)
        raise error from exc


def ensure_queue(name: str, *, visibility_timeout: int = 300) -> str:
    """Create the queue unless it exists and return its URL."""
    response = _call(
        "create_queue",
        QueueName=name,
        Attributes={"VisibilityTimeout": str(visibility_timeout)},
    )
    return response["QueueUrl"]


def queue_url(name: str) -> str:
    return _call("get_queue_url", QueueName=name)["QueueUrl"]


def queue_arn(url: str) -> str:
    response = _call("get_queue_attributes", QueueUrl=url, AttributeNames=["QueueArn"])
    return response["Attributes"]["QueueArn"]


def allow_events_rule(*, url: str, queue_arn: str, rule_arn: str) -> None:
    """Let the EventBridge rule ``rule_arn`` send to the queue.

    Real SQS drops a rule's deliveries without this policy. It replaces any
    policy the queue had, so use it only on queues this service owns.
    """
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowEventBridgeRule",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }
    _call("set_queue_attributes", QueueUrl=url, Attributes={"Policy": json.dumps(policy)})


def send_message(*, url: str, body: str) -> str:
    return _call("send_message", QueueUrl=url, MessageBody=body)["MessageId"]


def receive_messages(*, url: str, max_messages: int = 1, wait_seconds: int = 1) -> list[Message]:
    response = _call(
        "receive_message",
        QueueUrl=url,
        MaxNumberOfMessages=max_messages,
        WaitTimeSeconds=wait_seconds,
    )
    return [
        Message(
            body=item["Body"],
            receipt_handle=item["ReceiptHandle"],
            message_id=item["MessageId"],
        )
        for item in response.get("Messages", [])
    ]


def delete_message(*, url: str, receipt_handle: str) -> None:
    _call("delete_message", QueueUrl=url, ReceiptHandle=receipt_handle)


def change_visibility(*, url: str, receipt_handle: str, timeout: int) -> None:
    _call(
        "change_message_visibility",
        QueueUrl=url,
        ReceiptHandle=receipt_handle,
        VisibilityTimeout=timeout,
    )

"""The EventBridge gateway: rules that route pipeline events to SQS queues."""

import json
import logging

from vams.aws.clients import get_client
from vams.aws.errors import AWS_EXCEPTIONS, translate

logger = logging.getLogger(__name__)

SERVICE = "events"


def _call(operation: str, **kwargs):
    try:
        return getattr(get_client(SERVICE), operation)(**kwargs)
    except AWS_EXCEPTIONS as exc:
        error = translate(SERVICE, operation, exc)
        logger.warning("EventBridge %s failed code=%s", operation, error.code)
        raise error from exc


def ensure_rule_to_queue(
    *, rule_name: str, event_pattern: dict, queue_arn: str, bus_name: str = "default"
) -> str:
    """Create or update a rule on ``bus_name`` that sends matching events to a queue.

    Returns the rule's ARN.
    """
    response = _call(
        "put_rule",
        Name=rule_name,
        EventBusName=bus_name,
        EventPattern=json.dumps(event_pattern),
        State="ENABLED",
    )
    _call(
        "put_targets",
        Rule=rule_name,
        EventBusName=bus_name,
        Targets=[{"Id": f"{rule_name}-queue", "Arn": queue_arn}],
    )
    logger.info("Routed rule=%s bus=%s to queue_arn=%s", rule_name, bus_name, queue_arn)
    return response["RuleArn"]


def put_event(*, bus_name: str, source: str, detail_type: str, detail: dict) -> None:
    _call(
        "put_events",
        Entries=[
            {
                "EventBusName": bus_name,
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
            }
        ],
    )

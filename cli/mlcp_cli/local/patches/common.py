"""Helpers more than one patch module uses (it patches nothing itself): Step Functions' rendering of datetimes and
delivery to an SQS queue (EventBridge targets and dead-letter queues, Lambda's on-failure destinations)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from moto.sqs.models import sqs_backends


def iso(value: Any) -> Any:
    """Datetimes as Step Functions renders them in task output: ISO-8601 in UTC with milliseconds."""
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, dict):
        return {k: iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [iso(v) for v in value]
    return value


def send_to_queue(queue_arn: str, body: Any, attributes: dict[str, str]) -> None:
    _, _, _, region, account, name = queue_arn.split(":", 5)
    sqs_backends[account][region].send_message(
        queue_name=name,
        message_body=body if isinstance(body, str) else json.dumps(body),
        message_attributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )

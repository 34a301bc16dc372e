"""``eventbridge_targets``: rules deliver to Lambda (asynchronous invoke) and Step Functions targets with Input,
InputPath or InputTransformer, RetryPolicy and DeadLetterConfig (moto: NotImplementedError for both).

moto's ``Rule.send_to_targets`` renders every target through its own template parser and has no Lambda or Step
Functions delivery ("Expr not defined"). With the fix a matching rule records the delivery (for tests), sends to SQS
targets at once, and delivers to Lambda and Step Functions targets on the local cloud's dispatcher, retrying with
EventBridge's doubling back-off on the simulated clock, bounded by MaximumRetryAttempts and
MaximumEventAgeInSeconds, then to the dead-letter queue. moto's other targets (logs, buses, archives) keep moto's
own delivery and event shape. Delivery faults (``Faults.delivery``, seeded) duplicate, delay (so that later events
overtake) or drop a rule's deliveries, as EventBridge's at-least-once, unordered delivery allows.

:func:`put_event` is how the other patches emit an AWS service's event (S3, CloudWatch, Step Functions).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from jsonpath_ng.ext import parse as jsonpath_parse  # moto's own dependency
from moto.awslambda.models import lambda_backends
from moto.core.exceptions import JsonRESTError
from moto.events.models import Rule, events_backends
from moto.stepfunctions.parser import models as parser_models

from mlcp_cli.local.patches.awslambda import invoke_async
from mlcp_cli.local.patches.common import send_to_queue
from mlcp_cli.local.patches.context import LocalContext, active

LOG = logging.getLogger(__name__)

# EventBridge target retries: exponential back-off with jitter; the local cloud uses its doubling core.
_TARGET_RETRY_BASE_SECONDS = 1.0
_TARGET_RETRY_MAX_SECONDS = 300.0
_PLACEHOLDER = re.compile(r'("?)<([A-Za-z0-9_.\-]+)>("?)')


def _epoch_iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def put_event(
    source: str,
    detail_type: str,
    detail: dict[str, Any],
    resources: list[str],
    *,
    account: str,
    region: str,
    bus: str = "default",
) -> dict[str, Any]:
    """Emit an event as an AWS service does: every enabled rule of the bus whose pattern matches delivers it."""
    context = active()
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": context.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ") if context else _epoch_iso(0),
        "region": region,
        "resources": resources,
        "detail": detail,
    }
    backend = events_backends[account][region]
    event_bus = backend.event_buses.get(bus)
    if event_bus is not None:
        for rule in list(event_bus.rules.values()):
            rule.send_to_targets(event)
    return event


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What a target receives: Input (a constant), InputPath (part of the event), InputTransformer, or the event."""
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        matches = jsonpath_parse(target["InputPath"]).find(event)
        return matches[0].value if matches else None
    if "InputTransformer" in target:
        return _transform(target["InputTransformer"], event, target)
    return event


def _transform(transformer: dict[str, Any], event: dict[str, Any], target: dict[str, Any]) -> Any:
    """InputTransformer as EventBridge documents it: InputPathsMap values are JSONPaths into the event; in the
    template a quoted "<var>" takes the value's text, a bare <var> its JSON; a template that is not JSON is text."""
    values: dict[str, Any] = {}
    for name, path in (transformer.get("InputPathsMap") or {}).items():
        matches = jsonpath_parse(path).find(event)
        values[name] = matches[0].value if matches else None
    values.setdefault("aws.events.event", event)
    values.setdefault("aws.events.event.json", event)
    values.setdefault("aws.events.rule-arn", target.get("_rule_arn", ""))
    values.setdefault("aws.events.event.ingestion-time", event.get("time"))

    def render(match: re.Match[str]) -> str:
        open_quote, name, close_quote = match.groups()
        if name not in values:
            return match.group(0)
        value = values[name]
        if open_quote and close_quote:
            text = value if isinstance(value, str) else json.dumps(value)
            return json.dumps(text)
        return open_quote + json.dumps(value) + close_quote

    rendered = _PLACEHOLDER.sub(render, transformer.get("InputTemplate", "<aws.events.event>"))
    try:
        return json.loads(rendered)
    except ValueError:
        return rendered


def deliver(
    target_arn: str,
    payload: Any,
    *,
    retry_policy: dict[str, Any] | None,
    dead_letter_arn: str | None,
    rule_arn: str,
    account: str,
    region: str,
) -> None:
    """Deliver one event to a Lambda function (asynchronous invoke) or a state machine, with retries and a DLQ."""
    context = active()
    if context is None:
        return
    policy = retry_policy or {}
    attempts = 1 + int(policy.get("MaximumRetryAttempts", 185))
    max_age = float(policy.get("MaximumEventAgeInSeconds", 86400))
    first = context.clock.seconds()
    last_error = ""
    for attempt in range(attempts):
        try:
            _deliver_once(target_arn, payload, account=account, region=region)
            return
        except (ClientError, JsonRESTError) as exc:
            last_error = str(exc)
            LOG.warning("delivery to %s failed (attempt %d): %s", target_arn, attempt + 1, exc)
            delay = min(_TARGET_RETRY_BASE_SECONDS * 2**attempt, _TARGET_RETRY_MAX_SECONDS)
            if attempt + 1 >= attempts or context.clock.seconds() - first + delay > max_age:
                break
            context.clock.sleep(delay)
    if dead_letter_arn:
        send_to_queue(
            dead_letter_arn,
            payload,
            {"RULE_ARN": rule_arn, "TARGET_ARN": target_arn, "ERROR_MESSAGE": last_error[:256]},
        )


def _deliver_once(target_arn: str, payload: Any, *, account: str, region: str) -> None:
    service = target_arn.split(":")[2]
    if service == "lambda":
        function = lambda_backends[account][region].get_function(target_arn)
        context = active()
        fault = context.faults.api_fault("lambda", "Invoke", function.function_name) if context else None
        if fault is not None:
            raise JsonRESTError(fault.code, fault.message)
        invoke_async(function, payload)
    elif service == "states":
        backend = parser_models.stepfunctions_parser_backends[account][region]
        backend.start_execution(target_arn, None, json.dumps(payload))
    else:
        raise ValueError(f"the local cloud delivers to lambda and states targets here, not {target_arn}")


def _local_event(original_event: dict[str, Any]) -> dict[str, Any]:
    """The event as targets receive it: an ISO ``time`` and no ``ingestion-time``."""
    event = copy.deepcopy(original_event)
    if isinstance(event.get("time"), int | float):
        event["time"] = _epoch_iso(float(event["time"]))
    event.pop("ingestion-time", None)
    return event


def _moto_event(original_event: dict[str, Any]) -> dict[str, Any]:
    """The event in the shape moto's own targets render it from (epoch ``time`` and ``ingestion-time``)."""
    moto_event = {**original_event, "time": original_event.get("time", 0), "ingestion-time": 0}
    if not isinstance(moto_event["time"], int | float):
        moto_event["time"] = dt.datetime.fromisoformat(str(moto_event["time"]).replace("Z", "+00:00")).timestamp()
    return moto_event


def _deliver_locally(context: LocalContext, rule: Any, target: dict[str, Any], event: dict[str, Any]) -> bool:
    """Deliver to an SQS (now), Lambda or Step Functions target (on the dispatcher); False for any other target."""
    arn = target["Arn"]
    service = arn.split(":")[2]
    if service == "sqs":
        send_to_queue(arn, _target_input({**target, "_rule_arn": rule.arn}, event), {})
        return True
    if service not in ("lambda", "states"):
        return False  # moto's own targets (logs, buses, archives) get moto's event shape
    payload = _target_input({**target, "_rule_arn": rule.arn}, event)

    def delivery(delay: float) -> None:
        if delay:
            context.clock.sleep(delay)
        deliver(
            arn,
            payload,
            retry_policy=target.get("RetryPolicy"),
            dead_letter_arn=(target.get("DeadLetterConfig") or {}).get("Arn"),
            rule_arn=rule.arn,
            account=rule.account_id,
            region=rule.region_name,
        )

    for delay in context.faults.delivery_plan(rule.name):  # once and now, unless a delivery fault says otherwise
        context.dispatcher.submit(delivery, delay)
    return True


def install() -> None:
    original: Callable[..., None] = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        context = active()
        if context is None:
            original(self, original_event, transform_input)
            return
        if self.state != "ENABLED" or not self.event_pattern.matches_event(original_event):
            return
        event = _local_event(original_event)
        with context.lock:
            context.delivered.append({"rule": self.name, "event": event})
        others = [target for target in self.targets if not _deliver_locally(context, self, target, event)]
        if not others:
            return
        saved = self.targets
        self.targets = others
        try:
            original(self, _moto_event(original_event), transform_input)
        finally:
            self.targets = saved

    Rule.send_to_targets = send_to_targets

"""Node-group scaling, step 1: decide (policy, cooldowns, schedules) and take the lease; every decision is logged."""

import os
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.aws.wiring.scaling import scaling_deps
from mlcp.common.observability import logger, meter, metrics, tracer
from mlcp.common.validation import parse_event
from mlcp.scaling import use_cases
from mlcp.scaling.payloads import DecideInput


@cache
def deps() -> use_cases.ScalingDeps:
    return scaling_deps(os.environ, meter)


@logger.inject_lambda_context(correlation_id_path="event.id || event.schedule_arn")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = use_cases.decide_scaling(parse_event(DecideInput, event, "decide_scaling input"), deps())
    decision = result.decision
    logger.info(
        "scaling decision", extra={"policy": decision.policy, "action": decision.action, "reason": decision.reason}
    )
    return result.model_dump(mode="json")

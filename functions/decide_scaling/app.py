"""Node-group scaling, step 1: decide (policy, cooldowns, schedules) and take the lease; every decision is logged."""

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp import scaling_service
from mlcp.aws.deps import scaling_deps
from mlcp.models.scaling import DecideInput
from mlcp.models.settings import load_settings
from mlcp.observability import PowertoolsMeter, parse_event

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))  # the handlers only call AWS through boto3
metrics = Metrics()


@cache
def deps() -> scaling_service.ScalingDeps:
    return scaling_deps(load_settings(os.environ), PowertoolsMeter(metrics))


@logger.inject_lambda_context(correlation_id_path="event.id || event.schedule_arn")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = scaling_service.decide_scaling(parse_event(DecideInput, event, "decide_scaling input"), deps())
    decision = result.decision
    logger.info(
        "scaling decision", extra={"policy": decision.policy, "action": decision.action, "reason": decision.reason}
    )
    return result.model_dump(mode="json")

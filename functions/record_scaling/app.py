"""Node-group scaling, last step: record the update's outcome on the decision and release the lease."""

import os
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.aws.wiring.scaling import scaling_deps
from mlcp.common.observability import logger, meter, metrics, tracer
from mlcp.common.validation import parse_event
from mlcp.scaling import use_cases
from mlcp.scaling.payloads import RecordInput


@cache
def deps() -> use_cases.ScalingDeps:
    return scaling_deps(os.environ, meter)


@logger.inject_lambda_context(correlation_id_path="decision.decision_id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = use_cases.record_scaling(parse_event(RecordInput, event, "record_scaling input"), deps())
    logger.info("scaling recorded", extra={"failed": result.failed, "outcome": result.outcome})
    return result.model_dump(mode="json")

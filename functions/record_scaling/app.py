"""Node-group scaling, last step: record the update's outcome on the decision and release the lease."""

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp import scaling_service
from mlcp.aws.deps import scaling_deps
from mlcp.models.scaling import RecordInput
from mlcp.models.settings import load_settings
from mlcp.observability import PowertoolsMeter, parse_event

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))  # the handlers only call AWS through boto3
metrics = Metrics()


@cache
def deps() -> scaling_service.ScalingDeps:
    return scaling_deps(load_settings(os.environ), PowertoolsMeter(metrics))


@logger.inject_lambda_context(correlation_id_path="decision.decision_id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = scaling_service.record_scaling(parse_event(RecordInput, event, "record_scaling input"), deps())
    logger.info("scaling recorded", extra={"failed": result.failed, "outcome": result.outcome})
    return result.model_dump(mode="json")

"""S3 scaling/<cluster>/<name>/policy.yaml uploaded (EventBridge): validate and register the policy, or reject it."""

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp import scaling_service
from mlcp.aws.deps import scaling_deps
from mlcp.models.settings import load_settings
from mlcp.observability import PowertoolsMeter

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))  # the handlers only call AWS through boto3
metrics = Metrics()


@cache
def deps() -> scaling_service.ScalingDeps:
    return scaling_deps(load_settings(os.environ), PowertoolsMeter(metrics))


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = scaling_service.register_policy(event, deps())
    logger.info("scaling policy processed", extra=result.model_dump(mode="json"))
    return result.model_dump(mode="json")

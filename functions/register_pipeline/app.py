"""S3 pipelines/<name>/pipeline.yaml uploaded (EventBridge): validate and register the spec, or reject it."""

import os
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.aws.wiring.training import training_deps
from mlcp.common.observability import logger, meter, metrics, tracer
from mlcp.training import stages, use_cases


@cache
def deps() -> use_cases.Deps:
    return training_deps(os.environ, meter)


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = stages.register_pipeline(event, deps())
    logger.info("pipeline spec processed", extra=result.model_dump(mode="json"))
    return result.model_dump(mode="json")

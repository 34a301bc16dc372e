"""A dataset manifest upload (S3 via EventBridge) or a schedule: start a run under a deterministic name."""

import os
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.aws.wiring.training import training_deps
from mlcp.common.observability import logger, meter, metrics, tracer
from mlcp.training import use_cases


@cache
def deps() -> use_cases.Deps:
    return training_deps(os.environ, meter)


@logger.inject_lambda_context(correlation_id_path="id || schedule_arn")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = use_cases.start_run(event, deps())
    logger.info("run started" if result.started else "duplicate trigger", extra=result.model_dump(mode="json"))
    return result.model_dump(mode="json")

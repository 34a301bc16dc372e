"""A ``batches/<profile>/…/manifest.json`` upload, a batch schedule or a shard retry: start batch_pipeline."""

import os
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.aws.wiring.batch import batch_deps
from mlcp.batch import use_cases
from mlcp.common.observability import logger, meter, metrics, tracer


@cache
def deps() -> use_cases.BatchDeps:
    return batch_deps(os.environ, meter)


@logger.inject_lambda_context(correlation_id_path="id || schedule_arn || retry_of")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = use_cases.start_batch(event, deps())
    logger.info("batch run started" if result.started else "duplicate trigger", extra=result.model_dump(mode="json"))
    return result.model_dump(mode="json")

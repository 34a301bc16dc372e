"""A ``batches/<profile>/…/manifest.json`` upload, a batch schedule or a shard retry: start batch_pipeline."""

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp import batch_service
from mlcp.aws.deps import aws_batch_deps
from mlcp.models.settings import load_batch_settings
from mlcp.observability import PowertoolsMeter

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))  # the handlers only call AWS through boto3
metrics = Metrics()


@cache
def deps() -> batch_service.BatchDeps:
    return aws_batch_deps(load_batch_settings(os.environ), PowertoolsMeter(metrics))


@logger.inject_lambda_context(correlation_id_path="id || schedule_arn || retry_of")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = batch_service.start_batch_from_event(event, deps())
    logger.info("batch run started" if result.started else "duplicate trigger", extra=result.model_dump(mode="json"))
    return result.model_dump(mode="json")

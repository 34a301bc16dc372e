"""Build the compression request: a training job (pruning/quantization) or a Neo compilation job."""

import os
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.aws.wiring.training import training_deps
from mlcp.common.observability import logger, meter, metrics, tracer
from mlcp.common.validation import parse_event
from mlcp.training import stages, use_cases
from mlcp.training.payloads import CompressionInput


@cache
def deps() -> use_cases.Deps:
    return training_deps(os.environ, meter)


@logger.inject_lambda_context(correlation_id_path="run.execution_arn")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = stages.build_compression(parse_event(CompressionInput, event, "build_compression input"), deps())
    return result.model_dump(mode="json")

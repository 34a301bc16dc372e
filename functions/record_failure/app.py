"""Catch target: mark the run FAILED with a readable reason and build the failure notification."""

import os
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.aws.wiring.training import training_deps
from mlcp.common.observability import logger, meter, metrics, tracer
from mlcp.common.validation import parse_event
from mlcp.training import use_cases
from mlcp.training.payloads import FailureInput


@cache
def deps() -> use_cases.Deps:
    return training_deps(os.environ, meter)


@logger.inject_lambda_context(correlation_id_path="execution_name")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = use_cases.record_failure(parse_event(FailureInput, event, "record_failure input"), deps())
    return result.model_dump(mode="json")

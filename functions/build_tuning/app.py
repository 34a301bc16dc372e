"""Build the CreateHyperParameterTuningJob request of a run (Step Functions launches and waits with .sync)."""

import os
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.aws.wiring.training import training_deps
from mlcp.common.observability import logger, meter, metrics, tracer
from mlcp.common.validation import parse_event
from mlcp.training import stages, use_cases
from mlcp.training.payloads import StageInput


@cache
def deps() -> use_cases.Deps:
    return training_deps(os.environ, meter)


@logger.inject_lambda_context(correlation_id_path="run.execution_arn")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return stages.build_tuning(parse_event(StageInput, event, "build_tuning input"), deps())

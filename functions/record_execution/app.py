"""Run recorder: "Step Functions Execution Status Change" events keep the runs table's status current."""

import os
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.aws.wiring.training import training_deps
from mlcp.common.observability import logger, meter, metrics, tracer
from mlcp.common.validation import parse_event
from mlcp.training import use_cases
from mlcp.training.events import ExecutionStatusChange


@cache
def deps() -> use_cases.Deps:
    return training_deps(os.environ, meter)


@logger.inject_lambda_context(correlation_id_path="detail.executionArn")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = parse_event(ExecutionStatusChange, event, "Step Functions status event")
    return use_cases.record_execution(change, deps()).model_dump(mode="json")

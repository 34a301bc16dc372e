"""First state of batch_pipeline: the spec, the item count and the profile's estimate -> the Batch request."""

import os
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.aws.wiring.batch import batch_deps
from mlcp.batch import use_cases
from mlcp.batch.payloads import PlanInput
from mlcp.common.observability import logger, meter, metrics, tracer
from mlcp.common.validation import parse_event


@cache
def deps() -> use_cases.BatchDeps:
    return batch_deps(os.environ, meter)


@logger.inject_lambda_context(correlation_id_path="execution_arn")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = use_cases.plan_batch(parse_event(PlanInput, event, "plan_batch input"), deps())
    return result.model_dump(mode="json")

"""After the array job: DescribeJobs on the children, failed shards, and the profile's new per-item estimate."""

import os
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.aws.wiring.batch import batch_deps
from mlcp.batch import use_cases
from mlcp.batch.payloads import CollectInput
from mlcp.common.observability import logger, meter, metrics, tracer
from mlcp.common.validation import parse_event


@cache
def deps() -> use_cases.BatchDeps:
    return batch_deps(os.environ, meter)


@logger.inject_lambda_context(correlation_id_path="input.run_id")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = use_cases.collect_batch_stats(parse_event(CollectInput, event, "collect_batch_stats input"), deps())
    return result.model_dump(mode="json")

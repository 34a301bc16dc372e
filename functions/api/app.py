"""The REST API (API Gateway REST, AWS_IAM auth): runs, pipelines, batches, scaling; one Powertools Router each."""

import os
from functools import cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.aws.wiring.api import api_deps
from mlcp.common.observability import logger, meter, metrics, tracer
from mlcp.rest import context as rest_context
from mlcp.rest.context import ApiDeps
from mlcp.rest.resolver import create_app

app = create_app()


@cache
def deps() -> ApiDeps:
    # With the batch pipeline's variables (PROFILES_TABLE) the API serves /batches too; with the scaling
    # controller's tables, /scaling.
    return api_deps(os.environ, meter)


@cache
def idempotency_store() -> DynamoDBPersistenceLayer | None:
    table = deps().idempotency_table
    return DynamoDBPersistenceLayer(table_name=table) if table else None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    app.append_context(**{rest_context.DEPS: deps(), rest_context.IDEMPOTENCY: idempotency_store()})  # type: ignore[no-untyped-call]
    return app.resolve(event, context)

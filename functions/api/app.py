"""The REST API (API Gateway REST, AWS_IAM auth): runs, pipelines, batches, scaling; one Powertools Router each."""

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.api import ApiDeps
from mlcp.aws.deps import aws_api_deps
from mlcp.models.settings import load_batch_settings, load_settings
from mlcp.observability import PowertoolsMeter
from mlcp.rest import context as rest_context
from mlcp.rest.resolver import create_app

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))  # the handlers only call AWS through boto3
metrics = Metrics()
app = create_app()


@cache
def deps() -> ApiDeps:
    # With the batch pipeline's settings (PROFILES_TABLE) the API serves /batches too.
    settings = load_batch_settings(os.environ) if os.environ.get("PROFILES_TABLE") else load_settings(os.environ)
    return aws_api_deps(settings, PowertoolsMeter(metrics))


@cache
def idempotency_store() -> DynamoDBPersistenceLayer | None:
    table = deps().core.settings.idempotency_table
    return DynamoDBPersistenceLayer(table_name=table) if table else None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    app.append_context(**{rest_context.DEPS: deps(), rest_context.IDEMPOTENCY: idempotency_store()})  # type: ignore[no-untyped-call]
    return app.resolve(event, context)

"""The batch pipeline's ports (mlcp.batch.use_cases.BatchDeps) on S3, Batch, Step Functions, SNS, DynamoDB."""

from __future__ import annotations

from collections.abc import Mapping

from mlcp.aws.batch import BatchAdapter
from mlcp.aws.dynamodb.batch import DynamoProfileStore
from mlcp.aws.s3 import S3ObjectStore
from mlcp.aws.service_models import ServiceModels
from mlcp.aws.sfn import StepFunctionsExecutions
from mlcp.aws.sns import SnsNotifier
from mlcp.batch.settings import BatchSettings
from mlcp.batch.use_cases import BatchDeps
from mlcp.common.ports import Meter
from mlcp.common.settings import load_settings


def batch_deps(environ: Mapping[str, str], meter: Meter) -> BatchDeps:
    return batch_deps_for(load_settings(BatchSettings, environ), meter)


def batch_deps_for(settings: BatchSettings, meter: Meter) -> BatchDeps:
    return BatchDeps(
        settings=settings,
        objects=S3ObjectStore(),
        batch=BatchAdapter(),
        profiles=DynamoProfileStore(settings.profiles_table),
        executions=StepFunctionsExecutions(),
        notifier=SnsNotifier(settings.notification_topic_arn),
        meter=meter,
        requests=ServiceModels(),
    )

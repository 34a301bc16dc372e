"""Wire the core's ports to the AWS adapters (clients are created lazily, on first use)."""

from __future__ import annotations

from mlcp.aws.batch import BatchAdapter
from mlcp.aws.dynamodb import DynamoPipelineStore, DynamoProfileStore, DynamoRunStore
from mlcp.aws.s3 import S3ObjectStore
from mlcp.aws.sagemaker import SageMakerAdapter
from mlcp.aws.sfn import StepFunctionsExecutions
from mlcp.aws.sns import SnsNotifier
from mlcp.batch_service import BatchDeps
from mlcp.models.settings import BatchSettings, Settings
from mlcp.ports import Meter
from mlcp.service import Deps


def aws_deps(settings: Settings, meter: Meter) -> Deps:
    return Deps(
        settings=settings,
        objects=S3ObjectStore(),
        sagemaker=SageMakerAdapter(),
        executions=StepFunctionsExecutions(),
        notifier=SnsNotifier(settings.notification_topic_arn),
        runs=DynamoRunStore(settings.runs_table),
        pipelines=DynamoPipelineStore(settings.pipelines_table),
        meter=meter,
    )


def aws_batch_deps(settings: BatchSettings, meter: Meter) -> BatchDeps:
    """The batch pipeline's ports (mlcp.batch_service)."""
    return BatchDeps(
        settings=settings,
        objects=S3ObjectStore(),
        batch=BatchAdapter(),
        profiles=DynamoProfileStore(settings.profiles_table),
        executions=StepFunctionsExecutions(),
        notifier=SnsNotifier(settings.notification_topic_arn),
        meter=meter,
    )

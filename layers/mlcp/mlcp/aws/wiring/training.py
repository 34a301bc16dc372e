"""The training pipeline's ports (mlcp.training.use_cases.Deps) on S3, SageMaker, Step Functions, SNS, DynamoDB."""

from __future__ import annotations

from collections.abc import Mapping

from mlcp.aws.dynamodb.notices import DynamoNoticeLedger
from mlcp.aws.dynamodb.training import DynamoPipelineStore, DynamoRunStore
from mlcp.aws.s3 import S3ObjectStore
from mlcp.aws.sagemaker import SageMakerAdapter
from mlcp.aws.service_models import ServiceModels
from mlcp.aws.sfn import StepFunctionsExecutions
from mlcp.aws.sns import SnsNotifier
from mlcp.common.ports import Meter
from mlcp.common.settings import load_settings
from mlcp.training.settings import TrainingSettings
from mlcp.training.use_cases import Deps


def training_deps_for(settings: TrainingSettings, meter: Meter) -> Deps:
    runs = DynamoRunStore(settings.runs_table)
    return Deps(
        settings=settings,
        objects=S3ObjectStore(),
        sagemaker=SageMakerAdapter(),
        executions=StepFunctionsExecutions(),
        notifier=SnsNotifier(settings.notification_topic_arn),
        runs=runs,
        pipelines=DynamoPipelineStore(settings.pipelines_table),
        meter=meter,
        requests=ServiceModels(),
        notices=DynamoNoticeLedger(settings.notices_table) if settings.notices_table else None,
        run_index=runs,
    )


def training_deps(environ: Mapping[str, str], meter: Meter) -> Deps:
    return training_deps_for(load_settings(TrainingSettings, environ), meter)

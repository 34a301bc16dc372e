"""Wire the core's ports to the AWS adapters (clients are created lazily, on first use)."""

from __future__ import annotations

from dataclasses import replace

from mlcp.api import ApiDeps
from mlcp.aws.dynamodb import DynamoPipelineStore, DynamoRunStore
from mlcp.aws.s3 import S3ObjectStore
from mlcp.aws.sagemaker import SageMakerAdapter
from mlcp.aws.sfn import StepFunctionsExecutions
from mlcp.aws.sns import SnsNotifier
from mlcp.models.settings import Settings
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


def aws_api_deps(settings: Settings, meter: Meter) -> ApiDeps:
    """The REST API's ports: the pipeline's plus execution control, run listing and the pipeline catalogue."""
    core = aws_deps(settings, meter)
    executions = StepFunctionsExecutions()
    return ApiDeps(
        core=replace(core, executions=executions),
        control=executions,
        run_index=DynamoRunStore(settings.runs_table),
        catalog=DynamoPipelineStore(settings.pipelines_table),
    )

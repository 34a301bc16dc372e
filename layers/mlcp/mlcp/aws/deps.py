"""Wire the core's ports to the AWS adapters (clients are created lazily, on first use)."""

from __future__ import annotations

from dataclasses import replace

from mlcp.api import ApiDeps, ScalingApi
from mlcp.aws.batch import BatchAdapter
from mlcp.aws.dynamodb import (
    DynamoDecisionLog,
    DynamoPipelineStore,
    DynamoProfileStore,
    DynamoRunStore,
    DynamoScalingPolicyStore,
    DynamoScalingStateStore,
)
from mlcp.aws.eks import EksAdapter
from mlcp.aws.s3 import S3ObjectStore
from mlcp.aws.sagemaker import SageMakerAdapter
from mlcp.aws.sfn import StepFunctionsExecutions
from mlcp.aws.sns import SnsNotifier
from mlcp.batch_service import BatchDeps
from mlcp.errors import FieldError, InputInvalid
from mlcp.models.settings import BatchSettings, Settings
from mlcp.ports import Meter
from mlcp.scaling_service import ScalingDeps
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


def scaling_deps(settings: Settings, meter: Meter) -> ScalingDeps:
    """The scaling controller's ports (its tables are set on its functions only)."""
    missing = [
        FieldError(name, "must be set on the scaling functions")
        for name, value in (
            ("SCALING_POLICIES_TABLE", settings.scaling_policies_table),
            ("SCALING_STATE_TABLE", settings.scaling_state_table),
            ("SCALING_DECISIONS_TABLE", settings.scaling_decisions_table),
        )
        if not value
    ]
    if missing:
        raise InputInvalid("function environment", missing)
    return ScalingDeps(
        settings=settings,
        objects=S3ObjectStore(),
        nodegroups=EksAdapter(),
        policies=DynamoScalingPolicyStore(settings.scaling_policies_table or ""),
        state=DynamoScalingStateStore(settings.scaling_state_table or ""),
        decisions=DynamoDecisionLog(settings.scaling_decisions_table or ""),
        notifier=SnsNotifier(settings.notification_topic_arn),
        meter=meter,
    )


def aws_api_deps(settings: Settings, meter: Meter) -> ApiDeps:
    """The REST API's ports: the pipeline's plus execution control, run listing and the pipeline catalogue; the
    batch pipeline's (when ``settings`` are BatchSettings) and the scaling controller's (when its tables are set)."""
    core = aws_deps(settings, meter)
    executions = StepFunctionsExecutions()
    scaling = None
    if settings.scaling_policies_table and settings.scaling_state_table and settings.scaling_decisions_table:
        scaling = ScalingApi(
            controller=scaling_deps(settings, meter),
            index=DynamoScalingPolicyStore(settings.scaling_policies_table),
            history=DynamoDecisionLog(settings.scaling_decisions_table),
        )
    return ApiDeps(
        core=replace(core, executions=executions),
        control=executions,
        run_index=DynamoRunStore(settings.runs_table),
        catalog=DynamoPipelineStore(settings.pipelines_table),
        batch=aws_batch_deps(settings, meter) if isinstance(settings, BatchSettings) else None,
        scaling=scaling,
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

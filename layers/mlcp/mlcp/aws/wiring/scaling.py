"""The scaling controller's ports (mlcp.scaling.use_cases.ScalingDeps) on S3, EKS, SNS and its DynamoDB tables."""

from __future__ import annotations

from collections.abc import Mapping

from mlcp.aws.cloudwatch import CloudWatchAlarms
from mlcp.aws.dynamodb.scaling import DynamoDecisionLog, DynamoScalingPolicyStore, DynamoScalingStateStore
from mlcp.aws.eks import EksAdapter
from mlcp.aws.s3 import S3ObjectStore
from mlcp.aws.service_models import ServiceModels
from mlcp.aws.sns import SnsNotifier
from mlcp.common.ports import Meter
from mlcp.common.settings import load_settings
from mlcp.scaling.settings import ScalingSettings
from mlcp.scaling.use_cases import ScalingDeps


def scaling_deps(environ: Mapping[str, str], meter: Meter) -> ScalingDeps:
    return scaling_deps_for(load_settings(ScalingSettings, environ), meter)


def scaling_deps_for(settings: ScalingSettings, meter: Meter) -> ScalingDeps:
    return ScalingDeps(
        settings=settings,
        objects=S3ObjectStore(),
        nodegroups=EksAdapter(),
        alarms=CloudWatchAlarms(),
        policies=DynamoScalingPolicyStore(settings.scaling_policies_table),
        state=DynamoScalingStateStore(settings.scaling_state_table),
        decisions=DynamoDecisionLog(settings.scaling_decisions_table),
        notifier=SnsNotifier(settings.notification_topic_arn),
        meter=meter,
        requests=ServiceModels(),
    )

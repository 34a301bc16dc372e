"""The REST API's ports (mlcp.rest.context.ApiDeps): /runs and /pipelines always; /batches when the function has
the batch pipeline's variables (PROFILES_TABLE), /scaling when it has the scaling controller's tables."""

from __future__ import annotations

from collections.abc import Mapping

from mlcp.aws.dynamodb.scaling import DynamoDecisionLog, DynamoScalingPolicyStore
from mlcp.aws.dynamodb.training import DynamoPipelineStore, DynamoRunStore
from mlcp.aws.sfn import StepFunctionsExecutions
from mlcp.aws.wiring.batch import batch_deps
from mlcp.aws.wiring.scaling import scaling_deps
from mlcp.aws.wiring.training import training_deps_for
from mlcp.batch.api import BatchApi
from mlcp.common.ports import Meter
from mlcp.common.settings import load_settings
from mlcp.rest.context import ApiDeps
from mlcp.rest.settings import ApiSettings
from mlcp.scaling.api import ScalingApi
from mlcp.training.api import RunsApi

SCALING_TABLES = ("SCALING_POLICIES_TABLE", "SCALING_STATE_TABLE", "SCALING_DECISIONS_TABLE")


def api_deps(environ: Mapping[str, str], meter: Meter) -> ApiDeps:
    settings = load_settings(ApiSettings, environ)
    executions = StepFunctionsExecutions()
    runs = RunsApi(
        core=training_deps_for(settings, meter),
        control=executions,
        run_index=DynamoRunStore(settings.runs_table),
        catalog=DynamoPipelineStore(settings.pipelines_table),
    )
    batch = None
    if environ.get("PROFILES_TABLE"):
        batch = BatchApi(pipeline=batch_deps(environ, meter), control=executions)
    scaling = None
    if all(environ.get(name) for name in SCALING_TABLES):
        controller = scaling_deps(environ, meter)
        scaling = ScalingApi(
            controller=controller,
            index=DynamoScalingPolicyStore(controller.settings.scaling_policies_table),
            history=DynamoDecisionLog(controller.settings.scaling_decisions_table),
            control=executions,
            executions=executions,
        )
    return ApiDeps(
        runs=runs,
        batch=batch,
        scaling=scaling,
        idempotency_table=settings.idempotency_table,
        idempotency_ttl_seconds=settings.idempotency_ttl_seconds,
    )

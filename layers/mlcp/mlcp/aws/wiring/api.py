"""The REST API's ports (mlcp.rest.context.ApiDeps): /runs and /pipelines always; /batches when the function has
the batch pipeline's variables (PROFILES_TABLE), /scaling when it has the scaling controller's tables.

The batch and scaling capabilities are imported and wired on the first request that needs them (a provider,
cached): the API's cold start pays only for the training capability that most requests use
(bench/cold_start.py measures it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING

from mlcp.aws.dynamodb.training import DynamoPipelineStore, DynamoRunStore
from mlcp.aws.sfn import StepFunctionsExecutions
from mlcp.aws.wiring.training import training_deps_for
from mlcp.batch.settings import BatchSettings
from mlcp.common.ports import Meter
from mlcp.common.settings import load_settings
from mlcp.rest.context import ApiDeps
from mlcp.rest.settings import ApiSettings
from mlcp.scaling.settings import ScalingSettings
from mlcp.training.api import RunsApi

if TYPE_CHECKING:
    from mlcp.batch.api import BatchApi
    from mlcp.scaling.api import ScalingApi

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
    # Settings are validated now (a misconfigured function fails its cold start, not a request); the capabilities
    # themselves are imported and wired on first use.
    batch = None
    if environ.get("PROFILES_TABLE"):
        batch = _batch_provider(load_settings(BatchSettings, environ), meter, executions)
    scaling = None
    if all(environ.get(name) for name in SCALING_TABLES):
        scaling = _scaling_provider(load_settings(ScalingSettings, environ), meter, executions)
    return ApiDeps(
        runs=runs,
        batch=batch,
        scaling=scaling,
        idempotency_table=settings.idempotency_table,
        idempotency_ttl_seconds=settings.idempotency_ttl_seconds,
    )


def _batch_provider(
    settings: BatchSettings, meter: Meter, executions: StepFunctionsExecutions
) -> Callable[[], BatchApi]:
    @cache
    def provide() -> BatchApi:
        from mlcp.aws.wiring.batch import batch_deps_for  # noqa: PLC0415 - the batch capability loads on first use
        from mlcp.batch.api import BatchApi  # noqa: PLC0415

        return BatchApi(pipeline=batch_deps_for(settings, meter), control=executions)

    return provide


def _scaling_provider(
    settings: ScalingSettings, meter: Meter, executions: StepFunctionsExecutions
) -> Callable[[], ScalingApi]:
    @cache
    def provide() -> ScalingApi:
        from mlcp.aws.dynamodb.scaling import DynamoDecisionLog, DynamoScalingPolicyStore  # noqa: PLC0415 - on first use
        from mlcp.aws.wiring.scaling import scaling_deps_for  # noqa: PLC0415
        from mlcp.scaling.api import ScalingApi  # noqa: PLC0415

        controller = scaling_deps_for(settings, meter)
        return ScalingApi(
            controller=controller,
            index=DynamoScalingPolicyStore(controller.settings.scaling_policies_table),
            history=DynamoDecisionLog(controller.settings.scaling_decisions_table),
            control=executions,
            executions=executions,
        )

    return provide

"""A pipeline's runs, addressed under it so IAM can grant per pipeline and per action (README "Authorization"):
POST/GET /pipelines/{name}/runs, GET /pipelines/{name}/runs/{run_id}, POST .../cancel and .../redrive; and
GET /runs, every pipeline's runs (a reader's or an administrator's grant)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

from mlcp.common.api_models import MAX_PAGE, IdempotencyKey, RunId
from mlcp.rest import context
from mlcp.rest.errors import CONFLICT, ERROR_RESPONSES, NOT_FOUND, UNSUPPORTED_MEDIA_TYPE
from mlcp.training import api
from mlcp.training.api_models import (
    PipelineName,
    RunActionResponse,
    RunPage,
    RunTrials,
    RunView,
    StartRunRequest,
    StartRunResponse,
)
from mlcp.training.payloads import RunStatus

router = Router()  # type: ignore[no-untyped-call]  # mounted at /pipelines
every = Router()  # type: ignore[no-untyped-call]  # mounted at /runs
TAGS = ["runs"]


def _start_with_key(pipeline: str, request: StartRunRequest, key: str, store: BasePersistenceLayer) -> StartRunResponse:
    """Powertools idempotency around the start: the record is keyed by (caller, key) and remembers a hash of the
    request, so a retry gets the first response (as ``started: false``: it started nothing; 200 "already
    started", as the README says) and the same key with another request is refused (409)."""
    api_deps, caller, request_id = context.deps(router), context.caller(router), context.request_id(router)
    config = IdempotencyConfig(
        event_key_jmespath="[caller, key]",
        payload_validation_jmespath="request",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=api_deps.idempotency_ttl_seconds,
    )
    if router.lambda_context is not None:
        config.register_lambda_context(router.lambda_context)

    ran: list[bool] = []

    def start(attempt: dict[str, Any]) -> dict[str, Any]:  # noqa: ARG001 - what the idempotency record hashes
        ran.append(True)
        result = api.start_run(
            pipeline, request, caller=caller, idempotency_key=key, request_id=request_id, deps=api_deps.runs
        )
        return result.model_dump(mode="json")

    once: Any = idempotent_function(data_keyword_argument="attempt", persistence_store=store, config=config)(start)
    attempt = {"caller": caller, "key": key, "request": {"pipeline": pipeline, **request.model_dump(mode="json")}}
    response = StartRunResponse.model_validate(once(attempt=attempt))
    return response if ran else response.model_copy(update={"started": False})  # a replay of the first response


@router.post(
    "/<name>/runs",
    summary="Start a training run of a pipeline",
    description="The pipeline's registered spec, or an inline spec of that name, on a dataset version (default: "
    "the latest). With an Idempotency-Key header a retried request returns the first response and starts nothing "
    "(24 h).",
    responses={
        201: {"description": "Started"},
        200: {"description": "Already started: the run a retried request (same Idempotency-Key) started"},
        **ERROR_RESPONSES,
        **UNSUPPORTED_MEDIA_TYPE,
        **NOT_FOUND,
        **CONFLICT,
    },
    status_code=201,
    tags=TAGS,
)
def start_run(
    name: Annotated[PipelineName, Path()],
    request: Annotated[StartRunRequest, Body()],
    idempotency_key: Annotated[IdempotencyKey | None, Header(alias="idempotency-key")] = None,
) -> Response[StartRunResponse]:
    store = router.context.get(context.IDEMPOTENCY)
    if idempotency_key and isinstance(store, BasePersistenceLayer):
        result = _start_with_key(name, request, idempotency_key, store)
    else:
        result = api.start_run(
            name,
            request,
            caller=context.caller(router),
            idempotency_key=idempotency_key,
            request_id=context.request_id(router),
            deps=context.runs(router),
        )
    return Response(
        status_code=201 if result.started else 200,
        content_type=content_types.APPLICATION_JSON,
        body=result,
        headers={"Location": f"/pipelines/{name}/runs/{result.run_id}"},
    )


@router.get(
    "/<name>/runs",
    summary="List a pipeline's runs",
    description="Newest first. Pass next_token back for the next page.",
    responses={200: {"description": "A page of runs"}, **ERROR_RESPONSES},
    tags=TAGS,
)
def list_pipeline_runs(
    name: Annotated[PipelineName, Path()],
    status: Annotated[RunStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    next_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> RunPage:
    return api.list_runs(pipeline=name, status=status, limit=limit, next_token=next_token, deps=context.runs(router))


@every.get(
    "",
    summary="List every pipeline's runs",
    description="Newest first per pipeline; optionally by status. Pass next_token back for the next page.",
    responses={200: {"description": "A page of runs"}, **ERROR_RESPONSES},
    tags=TAGS,
)
def list_runs(
    status: Annotated[RunStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    next_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> RunPage:
    return api.list_runs(pipeline=None, status=status, limit=limit, next_token=next_token, deps=context.runs(every))


@router.get(
    "/<name>/runs/<run_id>",
    summary="Get a run",
    description="The run record, with who started, cancelled and redrove it. A run of another pipeline is 404.",
    responses={200: {"description": "The run record"}, **ERROR_RESPONSES, **NOT_FOUND},
    tags=TAGS,
)
def get_run(name: Annotated[PipelineName, Path()], run_id: Annotated[RunId, Path()]) -> RunView:
    return api.get_run(name, run_id, context.runs(router))


@router.get(
    "/<name>/runs/<run_id>/trials",
    summary="List the trials of a run's tuning job",
    description="Every training job the run's hyperparameter tuning job launched, oldest first "
    "(ListTrainingJobsForHyperParameterTuningJob): status, times, the tuned hyperparameters and the objective "
    "metric's final value; with the tuning job's objective (Maximize/Minimize) and parameter ranges. A run without "
    "a tuning job yet has an empty list and a reason. A run of another pipeline is 404.",
    responses={200: {"description": "The run's trials"}, **ERROR_RESPONSES, **NOT_FOUND},
    tags=TAGS,
)
def get_run_trials(name: Annotated[PipelineName, Path()], run_id: Annotated[RunId, Path()]) -> RunTrials:
    return api.get_run_trials(name, run_id, context.runs(router))


@router.post(
    "/<name>/runs/<run_id>/cancel",
    summary="Cancel a running run",
    description="StopExecution; Step Functions stops the running SageMaker job with the execution. The run "
    "record keeps the caller (cancelled_by).",
    responses={200: {"description": "Cancelled (ABORTED)"}, **ERROR_RESPONSES, **NOT_FOUND, **CONFLICT},
    tags=TAGS,
)
def cancel_run(name: Annotated[PipelineName, Path()], run_id: Annotated[RunId, Path()]) -> RunActionResponse:
    return api.cancel_run(name, run_id, caller=context.caller(router), deps=context.runs(router))


@router.post(
    "/<name>/runs/<run_id>/redrive",
    summary="Redrive a failed, timed-out or aborted run",
    description="RedriveExecution (AWS: within 14 days of the end): continues from the unsuccessful state. The "
    "run record keeps the caller (redriven_by).",
    responses={200: {"description": "Redriven (RUNNING again)"}, **ERROR_RESPONSES, **NOT_FOUND, **CONFLICT},
    tags=TAGS,
)
def redrive_run(name: Annotated[PipelineName, Path()], run_id: Annotated[RunId, Path()]) -> RunActionResponse:
    return api.redrive_run(name, run_id, caller=context.caller(router), deps=context.runs(router))

"""/runs: start (Idempotency-Key), get, list, cancel, redrive."""

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
    RunView,
    StartRunRequest,
    StartRunResponse,
)
from mlcp.training.payloads import RunStatus

router = Router()  # type: ignore[no-untyped-call]
TAGS = ["runs"]


def _start_with_key(request: StartRunRequest, key: str, store: BasePersistenceLayer) -> StartRunResponse:
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
        result = api.start_run(request, caller=caller, idempotency_key=key, request_id=request_id, deps=api_deps.runs)
        return result.model_dump(mode="json")

    once: Any = idempotent_function(data_keyword_argument="attempt", persistence_store=store, config=config)(start)
    response = StartRunResponse.model_validate(
        once(attempt={"caller": caller, "key": key, "request": request.model_dump(mode="json")})
    )
    return response if ran else response.model_copy(update={"started": False})  # a replay of the first response


@router.post(
    "",
    summary="Start a training run",
    description="A registered pipeline or an inline spec, on a dataset version (default: the latest). With an "
    "Idempotency-Key header a retried request returns the first response and starts nothing (24 h).",
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
    request: Annotated[StartRunRequest, Body()],
    idempotency_key: Annotated[IdempotencyKey | None, Header(alias="idempotency-key")] = None,
) -> Response[StartRunResponse]:
    store = router.context.get(context.IDEMPOTENCY)
    if idempotency_key and isinstance(store, BasePersistenceLayer):
        result = _start_with_key(request, idempotency_key, store)
    else:
        result = api.start_run(
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
        headers={"Location": f"/runs/{result.run_id}"},
    )


@router.get(
    "",
    summary="List runs",
    description="Newest first for one pipeline; every run otherwise. Pass next_token back for the next page.",
    responses={200: {"description": "A page of runs"}, **ERROR_RESPONSES},
    tags=TAGS,
)
def list_runs(
    pipeline: Annotated[PipelineName | None, Query()] = None,
    status: Annotated[RunStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    next_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> RunPage:
    return api.list_runs(
        pipeline=pipeline, status=status, limit=limit, next_token=next_token, deps=context.runs(router)
    )


@router.get(
    "/<run_id>",
    summary="Get a run",
    responses={200: {"description": "The run record"}, **ERROR_RESPONSES, **NOT_FOUND},
    tags=TAGS,
)
def get_run(run_id: Annotated[RunId, Path()]) -> RunView:
    return api.get_run(run_id, context.runs(router))


@router.post(
    "/<run_id>/cancel",
    summary="Cancel a running run",
    description="StopExecution; Step Functions stops the running SageMaker job with the execution.",
    responses={200: {"description": "Cancelled (ABORTED)"}, **ERROR_RESPONSES, **NOT_FOUND, **CONFLICT},
    tags=TAGS,
)
def cancel_run(run_id: Annotated[RunId, Path()]) -> RunActionResponse:
    return api.cancel_run(run_id, caller=context.caller(router), deps=context.runs(router))


@router.post(
    "/<run_id>/redrive",
    summary="Redrive a failed, timed-out or aborted run",
    description="RedriveExecution (AWS: within 14 days of the end): continues from the unsuccessful state.",
    responses={200: {"description": "Redriven (RUNNING again)"}, **ERROR_RESPONSES, **NOT_FOUND, **CONFLICT},
    tags=TAGS,
)
def redrive_run(run_id: Annotated[RunId, Path()]) -> RunActionResponse:
    return api.redrive_run(run_id, context.runs(router))

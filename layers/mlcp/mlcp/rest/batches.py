"""/batches/{profile}: start a job profile's batch pipeline run (Idempotency-Key), get one of its runs. Runs are
addressed under their profile so IAM can grant per profile (README "Authorization")."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path

from mlcp.batch.api_models import BatchRunRequest, BatchStartResponse, BatchView, ProfileName, StartBatchRequest
from mlcp.common.api_models import IdempotencyKey, RunId
from mlcp.rest import context
from mlcp.rest.errors import CONFLICT, ERROR_RESPONSES, NOT_FOUND, UNSUPPORTED_MEDIA_TYPE

router = Router()  # type: ignore[no-untyped-call]
TAGS = ["batches"]


@router.post(
    "/<profile>",
    summary="Start a batch pipeline run of a job profile",
    description="A job profile's run on a manifest in the artifact bucket (or an item count, or the spec's own "
    "items), with its registered spec (batches/<profile>/batch.yaml) or an inline one (registered as it when the "
    "profile has none; never replacing a different one, 409); or a "
    "retry of a finished run's failed shards (`retry_of`, optionally `indices`). With an Idempotency-Key header a "
    "retried request returns the same run (200) and the same key with another request is refused (409).",
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
def start_batch(
    profile: Annotated[ProfileName, Path()],
    body: Annotated[BatchRunRequest, Body()],
    idempotency_key: Annotated[IdempotencyKey | None, Header(alias="idempotency-key")] = None,
) -> Response[BatchStartResponse]:
    from mlcp.batch import api  # noqa: PLC0415 - the batch capability loads with its first request

    request = StartBatchRequest.model_validate({**body.model_dump(exclude_unset=True), "profile": profile})
    result = api.start_batch(
        request,
        caller=context.caller(router),
        idempotency_key=idempotency_key,
        request_id=context.request_id(router),
        api=context.batch(router),
    )
    return Response(
        status_code=201 if result.started else 200,
        content_type=content_types.APPLICATION_JSON,
        body=result,
        headers={"Location": f"/batches/{profile}/{result.run_id}"},
    )


@router.get(
    "/<profile>/<batch_id>",
    summary="Get a batch pipeline run",
    description="The execution's status, the run's plan (plan.json) and, once collected, its stats (stats.json: "
    "outcome, failed shard indices). A run of another profile is 404.",
    responses={200: {"description": "The batch run"}, **ERROR_RESPONSES, **NOT_FOUND},
    tags=TAGS,
)
def get_batch(profile: Annotated[ProfileName, Path()], batch_id: Annotated[RunId, Path()]) -> BatchView:
    from mlcp.batch import api  # noqa: PLC0415 - the batch capability loads with its first request

    return api.get_batch(profile, batch_id, context.batch(router))

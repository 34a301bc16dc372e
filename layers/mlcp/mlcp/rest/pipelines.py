"""/pipelines: register (PUT), list, get."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from mlcp.common.api_models import MAX_PAGE
from mlcp.rest import context
from mlcp.rest.errors import ERROR_RESPONSES, NOT_FOUND, UNSUPPORTED_MEDIA_TYPE
from mlcp.training import api
from mlcp.training.api_models import PipelineName, PipelinePage, PipelineView

router = Router()  # type: ignore[no-untyped-call]
TAGS = ["pipelines"]


@router.put(
    "/<name>",
    summary="Register a pipeline spec",
    description="The body is a pipeline spec (docs/pipeline-spec.schema.json); its name must match the path. "
    "201 when the pipeline is new, 200 when its spec is replaced.",
    responses={
        201: {"description": "Registered (a new pipeline)"},
        200: {"description": "Registered (the spec replaced)"},
        **ERROR_RESPONSES,
        **UNSUPPORTED_MEDIA_TYPE,
    },
    tags=TAGS,
)
def put_pipeline(
    # Not PipelineName: the body is validated first, as the spec it is, so a bad name is reported once, as the
    # spec's `name` field (the messages of `mlcp spec validate`); then the path must equal it.
    name: Annotated[str, Path(min_length=1, max_length=256, description="The spec's name")],
    spec: Annotated[dict[str, Any], Body(description="A pipeline spec", examples=[{"name": "churn"}])],
) -> Response[PipelineView]:
    view, created = api.put_pipeline(name, spec, caller=context.caller(router), deps=context.runs(router))
    return Response(status_code=201 if created else 200, content_type=content_types.APPLICATION_JSON, body=view)


@router.get(
    "", summary="List pipelines", responses={200: {"description": "A page of pipelines"}, **ERROR_RESPONSES}, tags=TAGS
)
def list_pipelines(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    next_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> PipelinePage:
    return api.list_pipelines(limit=limit, next_token=next_token, deps=context.runs(router))


@router.get(
    "/<name>",
    summary="Get a pipeline",
    responses={200: {"description": "The pipeline"}, **ERROR_RESPONSES, **NOT_FOUND},
    tags=TAGS,
)
def get_pipeline(name: Annotated[PipelineName, Path()]) -> PipelineView:
    return api.get_pipeline(name, context.runs(router))

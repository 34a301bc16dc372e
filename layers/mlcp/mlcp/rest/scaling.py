"""/scaling: a node group's policy, controller state and last decisions; a manual change through the controller."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query

from mlcp.common.api_models import IdempotencyKey
from mlcp.rest import context
from mlcp.rest.errors import CONFLICT, ERROR_RESPONSES, FORBIDDEN, NOT_FOUND, UNSUPPORTED_MEDIA_TYPE
from mlcp.scaling.api_models import (
    MAX_DECISIONS,
    ClusterName,
    NodegroupName,
    ScalingActionRequest,
    ScalingActionResponse,
    ScalingView,
)

router = Router()  # type: ignore[no-untyped-call]
TAGS = ["scaling"]


@router.get(
    "/<cluster>/<nodegroup>",
    summary="Get a node group's scaling policy and last decisions",
    description="The registered policy covering the node group, its scaling config now, the controller state "
    "(lease holder, last actions) and the policy's last `limit` decisions, newest first. 403 for a node group "
    "outside the stack parameter ScalingNodegroupArns.",
    responses={200: {"description": "Policy, state and decisions"}, **ERROR_RESPONSES, **FORBIDDEN, **NOT_FOUND},
    tags=TAGS,
)
def get_scaling(
    cluster: Annotated[ClusterName, Path()],
    nodegroup: Annotated[NodegroupName, Path()],
    limit: Annotated[int, Query(ge=1, le=MAX_DECISIONS)] = 10,
) -> ScalingView:
    from mlcp.scaling import api  # noqa: PLC0415 - the scaling capability loads with its first request

    return api.get_scaling(cluster, nodegroup, limit=limit, scaling=context.scaling(router))


@router.post(
    "/<cluster>/<nodegroup>/actions",
    summary="Request a manual change of a node group",
    description="{desired, min, max} (at least one), clamped to the policy's hard min/max and max_step. The "
    "change goes through the scaling controller (nodegroup_scaling with a manual trigger: lease, decisions "
    "table), so it cannot race an alarm-driven update. 202 with the decision id and the execution; 409 while an "
    "update is in flight; 403 for a node group outside the stack parameter ScalingNodegroupArns. An "
    "Idempotency-Key header makes a retried request return the same decision.",
    responses={
        202: {"description": "Accepted: the controller decides and applies it"},
        **ERROR_RESPONSES,
        **UNSUPPORTED_MEDIA_TYPE,
        **FORBIDDEN,
        **NOT_FOUND,
        **CONFLICT,
    },
    status_code=202,
    tags=TAGS,
)
def scaling_action(
    cluster: Annotated[ClusterName, Path()],
    nodegroup: Annotated[NodegroupName, Path()],
    request: Annotated[ScalingActionRequest, Body()],
    idempotency_key: Annotated[IdempotencyKey | None, Header(alias="idempotency-key")] = None,
) -> Response[ScalingActionResponse]:
    from mlcp.scaling import api  # noqa: PLC0415 - the scaling capability loads with its first request

    result = api.scaling_action(
        cluster,
        nodegroup,
        request,
        caller=context.caller(router),
        idempotency_key=idempotency_key,
        request_id=context.request_id(router),
        scaling=context.scaling(router),
        requested_at=context.request_time(router),
    )
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=result,
        headers={"Location": f"/scaling/{cluster}/{nodegroup}"},
    )

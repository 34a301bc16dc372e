"""Request and response models of /scaling (the OpenAPI document is generated from them)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from mlcp.common.api_models import ApiRequest, ApiResponse

# --- /scaling ------------------------------------------------------------------------------------------------------
ClusterName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[0-9A-Za-z][A-Za-z0-9_-]*$")]


NodegroupName = Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[0-9A-Za-z][A-Za-z0-9_-]*$")]


MAX_DECISIONS = 50


class ScalingView(ApiResponse):
    cluster: str
    nodegroup: str
    policy_key: str
    policy: dict[str, Any]
    nodegroup_config: Annotated[
        dict[str, Any] | None,
        Field(
            description="DescribeNodegroup now: status, scalingConfig's minSize/maxSize/desiredSize and "
            "health_issues (health.issues: code, message, resourceIds; a DEGRADED node group can still be scaled)."
        ),
    ] = None
    state: Annotated[dict[str, Any], Field(description="Controller state: lease holder, last actions.")]
    decisions: Annotated[list[dict[str, Any]], Field(description="The policy's last decisions, newest first.")]


class ScalingActionRequest(ApiRequest):
    """A manual change of the node group; each given field is clamped to the policy (hard min/max, max_step)."""

    desired: Annotated[int | None, Field(ge=0, le=1000)] = None
    min: Annotated[int | None, Field(ge=0, le=1000)] = None
    max: Annotated[int | None, Field(ge=1, le=1000)] = None
    reason: Annotated[str | None, Field(max_length=256)] = None


class ScalingActionResponse(ApiResponse):
    decision_id: str
    policy_key: str
    execution_arn: str
    started: bool

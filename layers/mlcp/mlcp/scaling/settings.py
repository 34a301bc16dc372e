"""Settings of the node-group scaling controller's functions (template.yaml)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from mlcp.common.settings import FunctionSettings

if TYPE_CHECKING:
    from mlcp.scaling.scope import NodegroupScope


class ScalingSettings(FunctionSettings):
    """register_scaling_policy, decide_scaling, record_scaling, and the API's /scaling."""

    scaling_policies_table: Annotated[str, Field(alias="SCALING_POLICIES_TABLE", min_length=3)]
    scaling_state_table: Annotated[str, Field(alias="SCALING_STATE_TABLE", min_length=3)]
    scaling_decisions_table: Annotated[str, Field(alias="SCALING_DECISIONS_TABLE", min_length=3)]
    scaling_first_wait_seconds: Annotated[int, Field(alias="SCALING_FIRST_WAIT_SECONDS", ge=1, le=3600)] = 180
    scaling_poll_seconds: Annotated[int, Field(alias="SCALING_POLL_SECONDS", ge=1, le=3600)] = 30
    scaling_max_polls: Annotated[int, Field(alias="SCALING_MAX_POLLS", ge=1, le=1000)] = 40
    # The REST API's manual scaling actions start nodegroup_scaling (ApiFunction only).
    scaling_state_machine_arn: Annotated[str | None, Field(alias="SCALING_STATE_MACHINE_ARN", min_length=20)] = None
    # The template parameter ScalingNodegroupArns (comma-separated node group ARN patterns): the node groups the
    # controller's role may update (mlcp.scaling.scope). None (unset: tests of other rules): not checked.
    scaling_nodegroup_arns: Annotated[str | None, Field(alias="SCALING_NODEGROUP_ARNS")] = None

    def nodegroup_scope(self) -> NodegroupScope | None:
        if self.scaling_nodegroup_arns is None:
            return None
        from mlcp.scaling.scope import NodegroupScope  # noqa: PLC0415 - the API loads settings only, eagerly

        return NodegroupScope.parse(
            self.scaling_nodegroup_arns, account=self.stack_account_id, region=self.stack_region
        )

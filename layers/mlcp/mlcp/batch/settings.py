"""Settings of the batch pipeline's functions (template.yaml)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from mlcp.common.preflight import StackReach
from mlcp.common.settings import FunctionSettings


class BatchSettings(FunctionSettings):
    """start_batch, plan_batch, collect_batch_stats, and the API's /batches."""

    profiles_table: Annotated[str, Field(alias="PROFILES_TABLE", min_length=3)]
    # only start_batch (and the API) start executions; the state machine refers to plan_batch / collect_batch_stats
    batch_state_machine_arn: Annotated[str | None, Field(alias="BATCH_STATE_MACHINE_ARN", min_length=20)] = None

    def reach(self) -> StackReach:
        """The buckets the batch workers may read items from and write outputs to (artifact + DataBucketNames)."""
        return StackReach(artifact_bucket=self.artifact_bucket, data_buckets=self.data_buckets())

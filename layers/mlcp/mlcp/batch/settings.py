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
    # The Batch resources specs may use (mlcp.batch.scope): "<stack>-" and the operator's extra ARNs (comma lists).
    batch_resource_prefix: Annotated[str | None, Field(alias="BATCH_RESOURCE_PREFIX", min_length=2)] = None
    batch_extra_job_definitions: Annotated[str, Field(alias="BATCH_EXTRA_JOB_DEFINITIONS")] = ""
    batch_extra_job_queues: Annotated[str, Field(alias="BATCH_EXTRA_JOB_QUEUES")] = ""
    batch_extra_compute_environments: Annotated[str, Field(alias="BATCH_EXTRA_COMPUTE_ENVIRONMENTS")] = ""

    def reach(self) -> StackReach:
        """The buckets the batch workers may read items from and write outputs to (artifact + DataBucketNames), and
        the registries a spec's job.image may name."""
        return StackReach(
            artifact_bucket=self.artifact_bucket, data_buckets=self.data_buckets(), images=self.image_scope()
        )

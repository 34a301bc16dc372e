"""What travels between the states of batch_pipeline (and its execution input): ids, counts and S3 URIs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from mlcp.batch.spec import MAX_ARRAY_SIZE, PROFILE_NAME
from mlcp.common.payloads import Payload, Trigger
from mlcp.common.validation import S3_URI


class BatchRunInput(Payload):
    """The execution input of batch_pipeline: identities only, so duplicate triggers are byte-identical.

    A shard retry names the run whose failed shards to run again (``retry_of``) and, optionally, which shard
    indices (default: the ones that failed); the retry keeps the original shard size and item numbering.
    """

    run_id: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")]
    profile: Annotated[str, Field(pattern=PROFILE_NAME, max_length=40)]
    manifest_uri: Annotated[str | None, Field(pattern=S3_URI, max_length=1024)] = None
    manifest_version_id: Annotated[
        str | None, Field(max_length=1024, description="The manifest's S3 version to read (a trigger's).")
    ] = None
    manifest_etag: str | None = None
    item_count: Annotated[int | None, Field(ge=1)] = None
    trigger: Trigger
    retry_of: Annotated[str | None, Field(min_length=1, max_length=80)] = None
    indices: Annotated[list[Annotated[int, Field(ge=0)]] | None, Field(min_length=1, max_length=MAX_ARRAY_SIZE)] = None


class PlanInput(Payload):
    input: BatchRunInput
    execution_arn: str


class Shards(Payload):
    """The shard contract: child ``i`` processes items ``[j k, min((j + 1) k, N))`` with ``j = map[i]`` (or ``i``)."""

    item_count: int
    items_per_child: int
    children: int
    manifest_uri: str | None
    manifest_version_id: str | None = None  # the S3 version of a triggering manifest (MLCP_MANIFEST_VERSION_ID)
    output_uri: str
    index_map_uri: str | None = None  # a shard retry: JSON list, child index -> original shard index
    indices: list[int] | None = None  # the same list (None: identity); kept in the payload for the stats


class PlannedRun(Payload):
    """What plan_batch returns into ``$.planned``: the Batch request and the optional resize."""

    run_id: str
    profile: str
    array: bool
    submit: dict[str, Any]  # SubmitJob parameters, PascalCase (ArrayProperties only when array)
    resize: dict[str, Any] | None  # {"ComputeEnvironment", "MaxvCpus"} or None
    shards: Shards
    plan: dict[str, Any]  # mlcp.batch.planner.BatchPlan as JSON
    run_prefix: str  # s3://<bucket>/batches/<profile>/runs/<run_id>/


class CollectInput(Payload):
    input: BatchRunInput
    planned: PlannedRun
    job: dict[str, Any] | None = None  # the .sync output (DescribeJobs of the parent, PascalCase)
    job_error: dict[str, Any] | None = None  # {"Error", "Cause"} when the job (or its submission) failed
    restore_error: dict[str, Any] | None = None


class BatchStats(Payload):
    """What collect_batch_stats returns: the outcome, the failed shards and what the planner learnt."""

    run_id: str
    profile: str
    status: Literal["SUCCEEDED", "PARTIAL", "FAILED"]
    job_id: str | None
    children: int
    succeeded: int
    failed: int
    failed_indices: list[int]  # original shard indices (first 100; all in stats.json)
    median_child_seconds: float | None
    target_child_seconds: int | None
    per_item_seconds_before: float
    per_item_seconds_after: float
    stats_uri: str
    retry: dict[str, Any] | None  # the execution input of a shard retry (None: nothing to retry)
    subject: str
    message: str
    cost: dict[str, Any] | None = Field(
        default=None,
        description="USD: the children's vCPU-seconds x the queue's price_per_vcpu_hour (stages.batch).",
    )


class BatchStartResult(Payload):
    run_id: str
    profile: str
    execution_arn: str
    started: bool
    status: str = "started"  # started | duplicate | refused (not a run's manifest key) | ignored (not its event)
    reason: str = ""


class BatchScheduleInput(Payload):
    """The Input of a batch schedule's target: Scheduler fills the ARN and the time."""

    source: Literal["mlcp.batch-schedule"]
    profile: Annotated[str, Field(pattern=PROFILE_NAME, max_length=40)]
    schedule_arn: Annotated[str, Field(min_length=1)]
    scheduled_time: datetime
    manifest_uri: Annotated[str | None, Field(pattern=S3_URI, max_length=1024)] = None

"""Requests and responses of the REST API (API Gateway + functions/api). The OpenAPI document is generated from
these models and the routes (docs/openapi.json); the CLI's API client reads responses with them too."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from mlcp.models.run import RunStatus
from mlcp.models.spec import PIPELINE_NAME

PipelineName = Annotated[str, Field(min_length=1, max_length=40, pattern=PIPELINE_NAME, examples=["churn"])]
# Dataset versions are the <version> of datasets/<pipeline>/<version>/manifest.json (an S3 key segment).
DatasetVersion = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._=-]+$", examples=["v1"])]
# Run ids are Step Functions execution names.
RunId = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")]
# What clients send as Idempotency-Key (IETF draft: a unique string, typically a UUID).
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")]
MAX_PAGE = 100


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class StartRunRequest(_Request):
    """A registered pipeline (``pipeline``) or an inline spec (``spec``), on a dataset version."""

    pipeline: Annotated[PipelineName | None, Field(description="A registered pipeline; optional with `spec`.")] = None
    dataset_version: Annotated[
        DatasetVersion | None,
        Field(description="datasets/<pipeline>/<version>/manifest.json; default: the latest uploaded version."),
    ] = None
    spec: Annotated[
        dict[str, Any] | None,
        Field(description="An inline pipeline spec (docs/pipeline-spec.schema.json) instead of the registered one."),
    ] = None


class StartRunResponse(_Response):
    run_id: str
    pipeline: str
    execution_arn: str
    started: Annotated[bool, Field(description="False when the run already existed (a retried request).")]
    dataset_version: str


class StageView(_Response):
    status: str
    started_at: str | None = None
    ended_at: str | None = None
    job_name: str | None = None
    detail: str | None = None


class Failure(_Response):
    stage: str | None = None
    error: str | None = None
    reason: str | None = None


class RunView(_Response):
    run_id: str
    pipeline: str
    status: RunStatus
    trigger: dict[str, str] | None = None
    dataset_version: str | None = None
    spec_version: str | None = None
    execution_arn: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    redrive_count: int = 0
    stages: dict[str, StageView] = {}
    failure: Failure | None = None
    best: dict[str, Any] | None = None
    gate: dict[str, Any] | None = None
    model_package_arn: str | None = None


class RunSummary(_Response):
    run_id: str
    pipeline: str
    status: RunStatus
    dataset_version: str | None = None
    trigger_type: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class RunPage(_Response):
    items: list[RunSummary]
    next_token: Annotated[str | None, Field(description="Pass as next_token for the next page; null at the end.")]


class RunActionResponse(_Response):
    """The result of a cancel or redrive: the run's status as the API left it."""

    run_id: str
    execution_arn: str
    status: RunStatus
    redrive_count: int = 0


class PipelineView(_Response):
    name: str
    spec: dict[str, Any] | None = None
    spec_version: str | None = None
    spec_source: str | None = None
    spec_updated_at: str | None = None
    latest_dataset: dict[str, str] | None = None
    last_rejection: dict[str, Any] | None = None


class PipelineSummary(_Response):
    name: str
    spec_version: str | None = None
    spec_updated_at: str | None = None
    latest_dataset_version: str | None = None


class PipelinePage(_Response):
    items: list[PipelineSummary]
    next_token: str | None


class FieldProblem(_Response):
    field: str
    message: str
    location: Annotated[str, Field(description="body, query, path or header")] = "body"


class ErrorResponse(_Response):
    """Every 4xx/5xx body: a machine-readable code, a sentence, and field-level details for 400."""

    code: Annotated[str, Field(examples=["InputInvalid", "NotFound", "Conflict", "Throttled"])]
    message: str
    errors: list[FieldProblem] = []


# --- /batches ------------------------------------------------------------------------------------------------------
ProfileName = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9](-?[a-z0-9])*$")]
S3Uri = Annotated[str, Field(max_length=1024, pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+$")]


class StartBatchRequest(_Request):
    """A job profile's run on a manifest (or an item count), with its registered spec or an inline one; or a retry
    of a run's failed shards (``retry_of``, optionally ``indices``)."""

    profile: Annotated[ProfileName, Field(examples=["image-scoring"])]
    manifest_uri: Annotated[
        S3Uri | None,
        Field(description="A manifest in the artifact bucket (JSON list of keys, {items: [...]} or {count: n})."),
    ] = None
    item_count: Annotated[int | None, Field(ge=1, le=100_000_000, description="Items, without a manifest.")] = None
    spec: Annotated[
        dict[str, Any] | None,
        Field(description="An inline batch spec (docs/batch-spec.schema.json); registered as the profile's spec."),
    ] = None
    retry_of: Annotated[
        str | None,
        Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_-]+$", description="Run whose shards to retry."),
    ] = None
    indices: Annotated[
        list[Annotated[int, Field(ge=0)]] | None,
        Field(min_length=1, max_length=10_000, description="Shards to retry (default: the ones that failed)."),
    ] = None


class BatchStartResponse(_Response):
    run_id: str
    profile: str
    execution_arn: str
    started: Annotated[bool, Field(description="False when the run already existed (a retried request).")]


class BatchView(_Response):
    run_id: str
    profile: str | None = None
    status: Annotated[str, Field(description="The execution's status (RUNNING, SUCCEEDED, FAILED, ...).")]
    execution_arn: str
    started_at: str | None = None
    stopped_at: str | None = None
    input: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None
    shards: dict[str, Any] | None = None
    stats: Annotated[
        dict[str, Any] | None, Field(description="stats.json once collected: outcome, failed shard indices.")
    ] = None
    error: str | None = None
    cause: str | None = None


# --- /scaling ------------------------------------------------------------------------------------------------------
ClusterName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[0-9A-Za-z][A-Za-z0-9_-]*$")]
NodegroupName = Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[0-9A-Za-z][A-Za-z0-9_-]*$")]
MAX_DECISIONS = 50


class ScalingView(_Response):
    cluster: str
    nodegroup: str
    policy_key: str
    policy: dict[str, Any]
    nodegroup_config: Annotated[
        dict[str, Any] | None, Field(description="DescribeNodegroup's scalingConfig and status now.")
    ] = None
    state: Annotated[dict[str, Any], Field(description="Controller state: lease holder, last actions.")]
    decisions: Annotated[list[dict[str, Any]], Field(description="The policy's last decisions, newest first.")]


class ScalingActionRequest(_Request):
    """A manual change of the node group; each given field is clamped to the policy (hard min/max, max_step)."""

    desired: Annotated[int | None, Field(ge=0, le=1000)] = None
    min: Annotated[int | None, Field(ge=0, le=1000)] = None
    max: Annotated[int | None, Field(ge=1, le=1000)] = None
    reason: Annotated[str | None, Field(max_length=256)] = None


class ScalingActionResponse(_Response):
    decision_id: str
    policy_key: str
    execution_arn: str
    started: bool

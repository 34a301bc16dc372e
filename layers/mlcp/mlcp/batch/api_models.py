"""Request and response models of /batches (the OpenAPI document is generated from them)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from mlcp.common.api_models import ApiRequest, ApiResponse

# --- /batches ------------------------------------------------------------------------------------------------------
ProfileName = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9](-?[a-z0-9])*$")]

S3Uri = Annotated[str, Field(max_length=1024, pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+$")]


class BatchRunRequest(ApiRequest):
    """The body of POST /batches/{profile}: a run on a manifest (or an item count), with the profile's registered
    spec or an inline one; or a retry of a run's failed shards (``retry_of``, optionally ``indices``)."""

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


class StartBatchRequest(BatchRunRequest):
    """A job profile's run: the profile of the path with the body of POST /batches/{profile}."""

    profile: Annotated[ProfileName, Field(examples=["image-scoring"])]


class BatchStartResponse(ApiResponse):
    run_id: str
    profile: str
    execution_arn: str
    started: Annotated[bool, Field(description="False when the run already existed (a retried request).")]


class BatchView(ApiResponse):
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

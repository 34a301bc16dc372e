"""Settings of the Lambda functions, read once from the environment by each handler (never by the core)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlcp.errors import InputInvalid
from mlcp.models.validation import field_errors


class Settings(BaseModel):
    """Environment variables set by template.yaml (Globals.Function.Environment)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    environment: Annotated[str, Field(alias="MLCP_ENVIRONMENT")] = "dev"
    runs_table: Annotated[str, Field(alias="RUNS_TABLE", min_length=3)]
    pipelines_table: Annotated[str, Field(alias="PIPELINES_TABLE", min_length=3)]
    artifact_bucket: Annotated[str, Field(alias="ARTIFACT_BUCKET", min_length=3)]
    sagemaker_role_arn: Annotated[str, Field(alias="SAGEMAKER_ROLE_ARN", min_length=20)]
    notification_topic_arn: Annotated[str, Field(alias="NOTIFICATION_TOPIC_ARN", min_length=20)]
    training_state_machine_arn: Annotated[str, Field(alias="TRAINING_STATE_MACHINE_ARN", min_length=20)]
    neo_poll_seconds: Annotated[int, Field(alias="NEO_POLL_SECONDS", ge=1, le=3600)] = 30
    neo_max_polls: Annotated[int, Field(alias="NEO_MAX_POLLS", ge=1, le=1000)] = 120
    # Node-group scaling controller (set on its functions only).
    scaling_policies_table: Annotated[str | None, Field(alias="SCALING_POLICIES_TABLE")] = None
    scaling_state_table: Annotated[str | None, Field(alias="SCALING_STATE_TABLE")] = None
    scaling_decisions_table: Annotated[str | None, Field(alias="SCALING_DECISIONS_TABLE")] = None
    scaling_first_wait_seconds: Annotated[int, Field(alias="SCALING_FIRST_WAIT_SECONDS", ge=1, le=3600)] = 180
    scaling_poll_seconds: Annotated[int, Field(alias="SCALING_POLL_SECONDS", ge=1, le=3600)] = 30
    scaling_max_polls: Annotated[int, Field(alias="SCALING_MAX_POLLS", ge=1, le=1000)] = 40
    # The REST API only (ApiFunction): Powertools idempotency records of POST /runs (Idempotency-Key).
    idempotency_table: Annotated[str | None, Field(alias="IDEMPOTENCY_TABLE", min_length=3)] = None
    idempotency_ttl_seconds: Annotated[int, Field(alias="IDEMPOTENCY_TTL_SECONDS", ge=60, le=30 * 86400)] = 86400
    # The REST API's manual scaling actions start nodegroup_scaling (ApiFunction only).
    scaling_state_machine_arn: Annotated[str | None, Field(alias="SCALING_STATE_MACHINE_ARN", min_length=20)] = None


def load_settings(environ: Mapping[str, str]) -> Settings:
    try:
        return Settings.model_validate(dict(environ))
    except ValidationError as exc:
        raise InputInvalid("function environment", field_errors(exc)) from exc


class BatchSettings(Settings):
    """The batch pipeline's functions: the profiles table and the batch state machine (template.yaml)."""

    profiles_table: Annotated[str, Field(alias="PROFILES_TABLE", min_length=3)]
    # only start_batch starts executions (the state machine itself refers to plan_batch / collect_batch_stats)
    batch_state_machine_arn: Annotated[str | None, Field(alias="BATCH_STATE_MACHINE_ARN", min_length=20)] = None


def load_batch_settings(environ: Mapping[str, str]) -> BatchSettings:
    try:
        return BatchSettings.model_validate(dict(environ))
    except ValidationError as exc:
        raise InputInvalid("function environment", field_errors(exc)) from exc

"""Requests and responses of /runs and /pipelines (API Gateway + functions/api). The OpenAPI document is generated from
these models and the routes (docs/openapi.json); the CLI's API client reads responses with them too."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from mlcp.common.api_models import ApiRequest, ApiResponse
from mlcp.training.payloads import RunStatus
from mlcp.training.sagemaker_limits import PIPELINE_NAME

PipelineName = Annotated[str, Field(min_length=1, max_length=40, pattern=PIPELINE_NAME, examples=["churn"])]
# Dataset versions are the <version> of datasets/<pipeline>/<version>/manifest.json (an S3 key segment).
DatasetVersion = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._=-]+$", examples=["v1"])]


class StartRunRequest(ApiRequest):
    """The body of POST /pipelines/{name}/runs: a dataset version and, instead of the registered spec, an inline
    one (whose name must be the path's pipeline)."""

    dataset_version: Annotated[
        DatasetVersion | None,
        Field(description="datasets/<pipeline>/<version>/manifest.json; default: the latest uploaded version."),
    ] = None
    spec: Annotated[
        dict[str, Any] | None,
        Field(description="An inline pipeline spec (docs/pipeline-spec.schema.json) instead of the registered one."),
    ] = None


class StartRunResponse(ApiResponse):
    run_id: str
    pipeline: str
    execution_arn: str
    started: Annotated[bool, Field(description="False when the run already existed (a retried request).")]
    dataset_version: str


class StageView(ApiResponse):
    status: str
    started_at: str | None = None
    ended_at: str | None = None
    job_name: str | None = None
    detail: str | None = None


class Failure(ApiResponse):
    stage: str | None = None
    error: str | None = None
    reason: str | None = None


class WarmStartView(ApiResponse):
    """What the run did about ``tuning.warm_start`` (mlcp.training.warm_start.WarmStartPlan.record)."""

    type: str
    parents: Annotated[list[str], Field(description="Parent tuning jobs, as sent in WarmStartConfig.")] = []
    parent_runs: Annotated[list[str], Field(description="The runs those tuning jobs belong to.")] = []
    cold_reason: Annotated[
        str | None, Field(description="Why the run started cold although its spec asked for warm start.")
    ] = None


class RunView(ApiResponse):
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
    warm_start: WarmStartView | None = None
    model_package_arn: str | None = None
    cost: Annotated[
        dict[str, Any] | None,
        Field(description="What the run's jobs cost: currency, total, per stage, and the price table used."),
    ] = None
    started_by: Annotated[
        str | None, Field(description="The IAM identity (userArn) that started the run through the API.")
    ] = None
    cancelled_by: Annotated[str | None, Field(description="The IAM identity that cancelled the run.")] = None
    cancelled_at: str | None = None
    redriven_by: Annotated[str | None, Field(description="The IAM identity of the last redrive.")] = None
    redriven_at: str | None = None


class RunSummary(ApiResponse):
    run_id: str
    pipeline: str
    status: RunStatus
    dataset_version: str | None = None
    trigger_type: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class RunPage(ApiResponse):
    items: list[RunSummary]
    next_token: Annotated[str | None, Field(description="Pass as next_token for the next page; null at the end.")]


class RunActionResponse(ApiResponse):
    """The result of a cancel or redrive: the run's status as the API left it."""

    run_id: str
    execution_arn: str
    status: RunStatus
    redrive_count: int = 0


class PipelineView(ApiResponse):
    name: str
    spec: dict[str, Any] | None = None
    spec_version: str | None = None
    spec_source: str | None = None
    spec_updated_at: str | None = None
    latest_dataset: dict[str, str] | None = None
    last_rejection: dict[str, Any] | None = None


class PipelineSummary(ApiResponse):
    name: str
    spec_version: str | None = None
    spec_updated_at: str | None = None
    latest_dataset_version: str | None = None


class PipelinePage(ApiResponse):
    items: list[PipelineSummary]
    next_token: str | None


class TrialObjective(ApiResponse):
    metric: Annotated[str, Field(description="The tuning job's objective metric (MetricName).")]
    value: Annotated[float | None, Field(description="The trial's final value of it; null if it reported none.")]


class TrialView(ApiResponse):
    """One training job of the run's tuning job: SageMaker's HyperParameterTrainingJobSummary, compact."""

    training_job_name: str
    status: Annotated[str, Field(description="TrainingJobStatus: InProgress, Completed, Failed, Stopping, Stopped.")]
    created_at: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    hyperparameters: Annotated[
        dict[str, str], Field(description="TunedHyperParameters: the values the tuner chose (strings, as SageMaker).")
    ] = {}
    objective: TrialObjective | None = None
    failure_reason: str | None = None


class ParameterRangeView(ApiResponse):
    """A tuned hyperparameter's range, as the tuning job was created with it (HyperParameterTuningJobConfig)."""

    name: str
    type: Annotated[str, Field(description="Integer, Continuous or Categorical.")]
    min_value: str | None = None
    max_value: str | None = None
    scaling: Annotated[
        str | None, Field(description="ScalingType: Auto, Linear, Logarithmic or ReverseLogarithmic.")
    ] = None
    values: list[str] | None = None


class TuningObjectiveView(ApiResponse):
    metric: str
    type: Annotated[str, Field(description="Maximize or Minimize.")]


class RunTrials(ApiResponse):
    """The trials of a run's tuning job, oldest first (ListTrainingJobsForHyperParameterTuningJob, every page)."""

    run_id: str
    pipeline: str
    tuning_job_name: str | None = None
    tuning_job_status: str | None = None
    objective: TuningObjectiveView | None = None
    parameter_ranges: list[ParameterRangeView] = []
    trials: list[TrialView] = []
    reason: Annotated[
        str | None, Field(description="Why there are no trials (e.g. the run has no tuning job yet); null otherwise.")
    ] = None

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


class StageCost(ApiResponse):
    """One stage's jobs: their billable instance-seconds x the price table's USD per instance-hour."""

    usd: Annotated[float, Field(description="USD of the priced jobs (an unpriced instance type adds nothing).")]
    jobs: int
    billable_seconds: Annotated[float, Field(description="Instance-seconds billed (x InstanceCount).")] = 0.0
    training_seconds: Annotated[float | None, Field(description="Training jobs: TrainingTimeInSeconds, summed.")] = None
    spot_savings_usd: Annotated[
        float | None, Field(description="Managed spot: (TrainingTimeInSeconds - BillableTimeInSeconds) x price.")
    ] = None
    instance_type: str | None = None
    instance_count: int | None = None
    neo: Annotated[bool | None, Field(description="A Neo compilation job: AWS lists no charge for it.")] = None
    unpriced: Annotated[list[str] | None, Field(description="Instance types the price table has no price for.")] = None
    trials_not_counted: Annotated[int | None, Field(description="Trials beyond the 750 that are described.")] = None
    error: Annotated[str | None, Field(description="Why the stage's jobs could not be read.")] = None


class RunCost(ApiResponse):
    """What the run's SageMaker jobs cost (docs/architecture.md, "Cost per run"). Not counted: storage, S3, data
    transfer, Step Functions, Lambda, DynamoDB, CloudWatch, SNS."""

    currency: str = "USD"
    total: Annotated[float, Field(description="USD, the sum of the stages' usd.")]
    stages: Annotated[dict[str, StageCost], Field(description="augment, tune, compress: the stages that ran a job.")]
    price_table: Annotated[dict[str, str], Field(description="source (URL), as_of (date), region (the stack's).")]
    unpriced: Annotated[
        list[str] | None, Field(description="'<instance type> in <region>' with no price: the total leaves them out.")
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
    cost: Annotated[RunCost | None, Field(description="Set when the run ends (success, failure, abort).")] = None
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
    cost_usd: Annotated[float | None, Field(description="The run's cost.total (USD), once it has ended.")] = None


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

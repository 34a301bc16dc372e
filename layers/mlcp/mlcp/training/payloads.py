"""Payloads that travel between the states of training_pipeline, and the run record.

State payloads stay small (Step Functions: 256 KiB per state input/output,
https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html): ids, names and S3 URIs. The spec travels by
reference (:class:`RunRef`: the run's record holds the validated spec of the run, written once by validate_spec);
each stage loads it when it needs it. A request to a service integration is in the state only between the Lambda that
builds it and the Task that sends it (the Task's result replaces it), so no document is in a state twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field

from mlcp.common.payloads import Payload, Trigger, TriggerType


class DatasetRef(Payload):
    name: str
    version: Annotated[str, Field(min_length=1, max_length=128)]
    manifest_uri: str
    manifest_version_id: Annotated[
        str | None, Field(description="The S3 version the run reads (the trigger's); None: the current one.")
    ] = None
    manifest_etag: str | None = None


class RunInput(Payload):
    """The execution input of training_pipeline: identities only, so duplicates are byte-identical."""

    run_id: Annotated[str, Field(min_length=1, max_length=80)]
    pipeline: Annotated[str, Field(min_length=1, max_length=128)]
    dataset: DatasetRef | None = None
    trigger: Trigger = Trigger(type=TriggerType.MANUAL, source="StartExecution")
    spec: Annotated[dict[str, Any] | None, Field(description="Inline spec (API); default: the registered one.")] = None


class JobNames(Payload):
    tuning: str
    processing: str
    compression: str
    compilation: str


class RunRef(Payload):
    """What validate_spec hands every later stage through the state: the run, by reference (no spec)."""

    run_id: str
    execution_arn: str
    pipeline: str
    spec_version: str
    dataset_version: str
    dataset_channels: dict[str, str] = Field(description="The dataset version's channels: name -> S3 URI.")
    channels: dict[str, str] = Field(description="Training channels after augmentation: name -> S3 URI.")
    role_arn: str
    output_prefix: str = Field(description="s3://.../<run_id>/ where this run's jobs write.")
    names: JobNames
    tags: dict[str, str]
    kms_key_id: str | None = Field(
        default=None,
        description="The stack's customer managed KMS key (template KmsKeyArn) for the jobs' S3 outputs; None: "
        "the bucket's default encryption.",
    )


class ValidateInput(Payload):
    input: RunInput
    execution_arn: str


class ValidateResult(Payload):
    run: RunRef
    augment_request: dict[str, Any] | None = None


class TuningSummary(Payload):
    """What the state machine keeps of DescribeHyperParameterTuningJob (ResultSelector)."""

    name: str
    status: str


class BestModel(Payload):
    tuning_job_name: str
    training_job_name: str
    hyperparameters: dict[str, str]
    objective_metric: str
    objective_value: float
    final_metrics: dict[str, float]
    model_artifact: str
    training_seconds: float | None = None


class CompressionPlan(Payload):
    kind: Literal["training", "neo"]
    job_name: str
    request: dict[str, Any]
    poll_seconds: int = 30
    max_polls: int = 60


class CompressedRef(Payload):
    kind: Literal["training", "neo"]
    job_name: str


class GateResult(Payload):
    passed: bool
    objective_metric: str
    metric_before: float
    metric_after: float | None
    metric_drop: float | None
    size_before: int
    size_after: int
    size_reduction: float
    compressed_artifact: str
    reasons: list[str] = []
    registration_request: dict[str, Any] | None = None


class FailureInput(Payload):
    execution_name: str
    execution_input: dict[str, Any] = {}
    error: dict[str, Any] = {}


class SuccessInput(Payload):
    run: RunRef
    best: BestModel
    gate: GateResult
    registered: dict[str, Any]


class RunStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"

    @property
    def terminal(self) -> bool:
        return self not in (RunStatus.PENDING, RunStatus.RUNNING)


class StageName(StrEnum):
    VALIDATE = "validate"
    AUGMENT = "augment"
    TUNE = "tune"
    COMPRESS = "compress"
    GATE = "gate"
    REGISTER = "register"


class StageStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


class StageRecord(Payload):
    status: StageStatus
    started_at: datetime | None = None
    ended_at: datetime | None = None
    job_name: str | None = None
    detail: str | None = None

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


class StageInput(Payload):
    run: RunRef


class SelectBestInput(StageInput):
    tuning: TuningSummary


class CompressionInput(StageInput):
    best: BestModel


class GateInput(CompressionInput):
    compressed: CompressedRef

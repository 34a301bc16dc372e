"""SageMaker's limits and name patterns that the pipeline spec enforces, and the base of the spec's models.

Sources: the SageMaker API reference (CreateHyperParameterTuningJob, CreateTrainingJob, CreateProcessingJob,
Tag, Channel: the members' patterns and lengths) and the SageMaker service quotas page (training jobs per tuning
job, parallel training jobs, runtimes).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from mlcp.common.validation import IMAGE_URI, S3_URI

# --- limits (SageMaker API reference / service quotas) -------------------------------------------------------
MAX_TUNABLE_HYPERPARAMETERS = 30
MAX_HYPERPARAMETERS = 100
MAX_METRIC_DEFINITIONS = 20
MAX_CATEGORICAL_VALUES = 30
MAX_TRAINING_JOBS = 750
MAX_TRAINING_JOBS_RANDOM = 10_000
MAX_PARALLEL_TRAINING_JOBS = 100
MAX_TRAINING_RUNTIME_S = 28 * 24 * 3600  # 2,419,200 s
MAX_PROCESSING_RUNTIME_S = 9 * 24 * 3600  # 777,600 s (ProcessingStoppingCondition.MaxRuntimeInSeconds)
MAX_TAGS = 50

INSTANCE_TYPE = r"^ml\.[a-z0-9]+\.[a-z0-9]+$"
ROLE_ARN = r"^arn:aws[a-z\-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@\-/]{1,512}$"
# SageMaker job-like names: letters, digits and hyphens, starting and ending alphanumeric.
SAGEMAKER_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
# Pipeline names end up in S3 keys, execution names and job names: keep them short and plain.
PIPELINE_NAME = r"^[a-z0-9](-?[a-z0-9])*$"
HYPERPARAMETER_NAME = r"^[A-Za-z0-9_.:/+=@\-]+$"
CHANNEL_NAME = r"^[A-Za-z0-9.\-_]{1,64}$"
# SageMaker tag keys/values and free-text descriptions (API reference patterns).
TAG_TEXT = r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$"
DESCRIPTION_TEXT = r"^[\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}]*$"
MAX_TRAINING_CHANNELS = 20

S3Uri = Annotated[str, Field(pattern=S3_URI, max_length=1024, examples=["s3://my-bucket/data/train/"])]
ImageUri = Annotated[str, Field(pattern=IMAGE_URI, max_length=255)]
InstanceType = Annotated[str, Field(pattern=INSTANCE_TYPE, examples=["ml.m5.xlarge"])]
RoleArn = Annotated[str, Field(pattern=ROLE_ARN, max_length=2048)]


class SpecModel(BaseModel):
    """Every model of the pipeline spec: unknown fields are errors, values are immutable."""

    # defer_build: validators are built on first use (cold start: a handler pays only for the models it uses).
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False, defer_build=True)


class InputMode(StrEnum):
    FILE = "File"
    PIPE = "Pipe"
    FAST_FILE = "FastFile"

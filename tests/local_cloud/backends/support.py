"""Helpers of the job backend tests: a manual clock, bounded polling, and the requests they send (the tuning and
compression requests built with the product's own code from the churn example, so the tests also check that what the
product reads back is there)."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import yaml
from mypy_boto3_s3 import S3Client
from mypy_boto3_sagemaker import SageMakerClient

from mlcp.training import compression, tuning
from mlcp.training.context import RunContext
from mlcp.training.payloads import BestModel, RunInput
from mlcp.training.preparation import prepare_run
from mlcp.training.spec import parse_spec
from mlcp_cli.local.backends.clock import SimClock

REGION = "us-east-1"
BUCKET = "mlcp-artifacts-test"
ROLE = "arn:aws:iam::123456789012:role/mlcp-sagemaker"
CHURN = Path(__file__).resolve().parents[3] / "examples" / "pipelines" / "churn" / "pipeline.yaml"
LONG = 10.0**6  # simulated seconds: more than any job here takes

T = TypeVar("T")


class ManualClock(SimClock):
    """A clock that only moves when told to."""

    def __init__(self) -> None:
        super().__init__(speed=1.0)
        self.t = 0.0
        self.origin = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

    def seconds(self) -> float:
        return self.t

    def now(self) -> datetime:
        return self.origin + timedelta(seconds=self.t)

    def advance(self, seconds: float) -> None:
        self.t += seconds


def wait_for(check: Callable[[], T | None], *, timeout: float = 10.0) -> T:
    """Poll ``check`` until it returns something truthy (bounded: fails after ``timeout`` wall seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.002)


def training_definition(output: str = f"s3://{BUCKET}/runs/t/tuning/") -> dict[str, Any]:
    return {
        "StaticHyperParameters": {"num_round": "200"},
        "AlgorithmSpecification": {
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
            "TrainingInputMode": "File",
            "MetricDefinitions": [
                {"Name": "validation:auc", "Regex": "auc:([0-9.]+)"},
                {"Name": "train:loss", "Regex": "loss:([0-9.]+)"},
            ],
        },
        "RoleArn": ROLE,
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/data/train/"}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": output},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


MIXED_RANGES: dict[str, Any] = {
    "ContinuousParameterRanges": [
        {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5", "ScalingType": "Logarithmic"},
        {"Name": "subsample", "MinValue": "0.5", "MaxValue": "1.0", "ScalingType": "Auto"},
    ],
    "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "3", "MaxValue": "10", "ScalingType": "Auto"}],
    "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
}


def tuning_job(
    name: str,
    *,
    strategy: str = "Bayesian",
    ranges: dict[str, Any] | None = None,
    max_jobs: int | None = 8,
    parallel: int = 2,
    seed: int | None = None,
    objective: str = "Maximize",
    metric: str = "validation:auc",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    limits: dict[str, Any] = {"MaxParallelTrainingJobs": parallel}
    if max_jobs is not None:
        limits["MaxNumberOfTrainingJobs"] = max_jobs
    config: dict[str, Any] = {
        "Strategy": strategy,
        "HyperParameterTuningJobObjective": {"Type": objective, "MetricName": metric},
        "ResourceLimits": limits,
        "ParameterRanges": copy.deepcopy(ranges if ranges is not None else MIXED_RANGES),
        "TrainingJobEarlyStoppingType": "Off",
        **(extra or {}),
    }
    if seed is not None:
        config["RandomSeed"] = seed
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": training_definition(),
    }


def trials_of(sm: SageMakerClient, name: str) -> list[dict[str, Any]]:
    """Every trial of a tuning job, through the paginated ListTrainingJobsForHyperParameterTuningJob."""
    out: list[dict[str, Any]] = []
    page: dict[str, Any] = dict(
        sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=name, MaxResults=5, SortBy="CreationTime"
        )
    )
    while True:
        out.extend(dict(s) for s in page["TrainingJobSummaries"])
        if not page.get("NextToken"):
            return out
        page = dict(
            sm.list_training_jobs_for_hyper_parameter_tuning_job(
                HyperParameterTuningJobName=name, MaxResults=5, SortBy="CreationTime", NextToken=page["NextToken"]
            )
        )


def tuning_status(sm: SageMakerClient, name: str) -> dict[str, Any]:
    return dict(sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name))


def finished_tuning(sm: SageMakerClient, clock: ManualClock, name: str) -> dict[str, Any]:
    clock.advance(LONG)
    return tuning_status(sm, name)


def object_size(s3: S3Client, uri: str) -> int:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return s3.head_object(Bucket=bucket, Key=key)["ContentLength"]


def churn_run(compression_spec: dict[str, Any] | None = None, **tuning_changes: Any) -> RunContext:
    raw = yaml.safe_load(CHURN.read_text())
    if compression_spec and "method" in compression_spec:
        raw["compression"] = compression_spec
        if compression_spec["method"] == "neo":
            raw["gate"] = {"min_size_reduction": 0.5}
            raw["registry"]["inference_image_uri"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/neo-serve:1"
    raw["tuning"].update(tuning_changes)
    spec = parse_spec(yaml.safe_dump(raw).encode(), source="test")
    return prepare_run(
        RunInput(run_id="churn-v1-test", pipeline="churn"),
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:pipeline:churn-v1-test",
        spec=spec,
        spec_version="local",
        manifest=None,
        default_role_arn=ROLE,
        artifact_bucket=BUCKET,
    )


def tune_and_select(sm: SageMakerClient, clock: ManualClock, run: RunContext) -> BestModel:
    sm.create_hyper_parameter_tuning_job(**tuning.tuning_request(run))
    description = finished_tuning(sm, clock, run.names.tuning)
    training = sm.describe_training_job(TrainingJobName=tuning.best_training_job_name(description))
    return tuning.best_model(run, description, dict(training))


def compress(sm: SageMakerClient, clock: ManualClock, run: RunContext, best: BestModel) -> dict[str, Any]:
    plan = compression.compression_plan(run, best, poll_seconds=30, max_polls=60)
    if plan.kind == "neo":
        sm.create_compilation_job(**plan.request)
        clock.advance(LONG)
        return dict(sm.describe_compilation_job(CompilationJobName=plan.job_name))
    sm.create_training_job(**plan.request)
    clock.advance(LONG)
    return dict(sm.describe_training_job(TrainingJobName=plan.job_name))


def plain_training(output: str = f"s3://{BUCKET}/plain/") -> dict[str, Any]:
    definition = training_definition(output)
    del definition["StaticHyperParameters"]
    return definition

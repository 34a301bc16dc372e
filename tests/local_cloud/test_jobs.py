"""The local job backend (cli/mlcp_cli/local/jobs.py): SageMaker and Batch jobs on moto with a realistic lifecycle.

Most tests drive a manual clock (instant and exact); a few run on a fast SimClock and poll like the state machine.
The pipeline tests build their requests with the product's own code (mlcp.tuning / compression / gate) from the
churn example, so they also check that what the product reads back is there.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError
from moto import mock_aws
from mypy_boto3_s3 import S3Client
from mypy_boto3_sagemaker import SageMakerClient

from mlcp.training import compression, gate, tuning
from mlcp.training.payloads import BestModel, CompressedRef, RunContext, RunInput
from mlcp.training.preparation import prepare_run, processing_request
from mlcp.training.spec import parse_spec
from mlcp_cli.local.clock import SimClock
from mlcp_cli.local.faults import Degradation, Faults, JobFault
from mlcp_cli.local.jobs import MOTO_ADDED_OPERATIONS, BatchWork, JobBackend, JobDurations, active_backend

REGION = "us-east-1"
BUCKET = "mlcp-artifacts-test"
ROLE = "arn:aws:iam::123456789012:role/mlcp-sagemaker"
CHURN = Path(__file__).resolve().parents[2] / "examples" / "pipelines" / "churn" / "pipeline.yaml"
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


# --- fixtures --------------------------------------------------------------------------------------------------------


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        yield


@pytest.fixture
def sm(aws: None) -> SageMakerClient:
    return boto3.client("sagemaker", region_name=REGION)


@pytest.fixture
def s3(aws: None) -> S3Client:
    return boto3.client("s3", region_name=REGION)


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def backend(clock: ManualClock, faults: Faults) -> Iterator[JobBackend]:
    with JobBackend(clock, faults) as installed:
        yield installed


@pytest.fixture
def fast(faults: Faults) -> Iterator[JobBackend]:
    with JobBackend(SimClock(speed=50_000), faults) as installed:
        yield installed


# --- requests ----------------------------------------------------------------------------------------------------


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


# --- the product's own requests (churn example) -----------------------------------------------------------------


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


# --- lifecycle -----------------------------------------------------------------------------------------------------


def test_training_job_runs_on_the_clock(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    sm.create_training_job(
        TrainingJobName="plain",
        HyperParameters={"max_depth": "6"},
        **{k: v for k, v in training_definition().items() if k != "StaticHyperParameters"},
        EnableManagedSpotTraining=True,
    )
    first = sm.describe_training_job(TrainingJobName="plain")
    assert (first["TrainingJobStatus"], first["SecondaryStatus"]) == ("InProgress", "Starting")
    assert "FinalMetricDataList" not in first
    assert "TrainingEndTime" not in first
    assert first["CreationTime"] == clock.now()
    assert first["AlgorithmSpecification"]["MetricDefinitions"][0]["Name"] == "validation:auc"  # not moto's

    clock.advance(200)
    middle = sm.describe_training_job(TrainingJobName="plain")
    assert middle["TrainingJobStatus"] == "InProgress"
    assert middle["SecondaryStatus"] in ("Downloading", "Training")
    assert "TrainingStartTime" in middle

    clock.advance(LONG)
    done = sm.describe_training_job(TrainingJobName="plain")
    assert (done["TrainingJobStatus"], done["SecondaryStatus"]) == ("Completed", "Completed")
    statuses = [t["Status"] for t in done["SecondaryStatusTransitions"]]
    assert statuses == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    transitions = done["SecondaryStatusTransitions"]
    assert all(a["EndTime"] == b["StartTime"] for a, b in itertools.pairwise(transitions))
    seconds = (done["TrainingEndTime"] - done["TrainingStartTime"]).total_seconds()
    assert done["TrainingTimeInSeconds"] == int(seconds)
    assert 0 < done["BillableTimeInSeconds"] < done["TrainingTimeInSeconds"]  # managed spot
    assert {m["MetricName"] for m in done["FinalMetricDataList"]} == {"validation:auc", "train:loss"}
    assert done["LastModifiedTime"] == done["TrainingEndTime"]


def test_fast_clock_jobs_finish_in_wall_milliseconds(sm: SageMakerClient, fast: JobBackend) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_job("fast-hpo", max_jobs=6, parallel=3))
    started = time.monotonic()
    description = wait_for(
        lambda: (
            d
            if (d := sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="fast-hpo"))[
                "HyperParameterTuningJobStatus"
            ]
            != "InProgress"
            else None
        )
    )
    assert description["HyperParameterTuningJobStatus"] == "Completed"
    assert time.monotonic() - started < 3
    simulated = (description["HyperParameterTuningEndTime"] - description["CreationTime"]).total_seconds()
    assert simulated > 2 * 0.7 * JobDurations().training  # two waves of three trials


def test_processing_job_writes_its_outputs(
    sm: SageMakerClient, s3: S3Client, clock: ManualClock, backend: JobBackend
) -> None:
    request = processing_request(churn_run())
    assert request is not None
    sm.create_processing_job(**request)
    name = request["ProcessingJobName"]
    assert sm.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"] == "InProgress"
    prefix = request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    bucket, key = prefix.removeprefix("s3://").split("/", 1)
    assert s3.list_objects_v2(Bucket=bucket, Prefix=key)["KeyCount"] == 0
    clock.advance(LONG)
    done = sm.describe_processing_job(ProcessingJobName=name)
    assert done["ProcessingJobStatus"] == "Completed"
    assert done["CreationTime"] < done["ProcessingStartTime"] < done["ProcessingEndTime"]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key)
    assert listed["KeyCount"] == 1
    assert listed["Contents"][0]["Size"] > 1000


def test_injected_failure_fails_the_job_with_its_reason(
    sm: SageMakerClient, clock: ManualClock, faults: Faults, backend: JobBackend
) -> None:
    faults.jobs.append(JobFault(job="doomed-*", reason="AlgorithmError: out of memory"))
    sm.create_training_job(TrainingJobName="doomed-train", HyperParameters={}, **_plain_training())
    request = processing_request(churn_run())
    assert request is not None
    sm.create_processing_job(**{**request, "ProcessingJobName": "doomed-augment"})
    assert sm.describe_training_job(TrainingJobName="doomed-train")["TrainingJobStatus"] == "InProgress"
    clock.advance(LONG)
    training = sm.describe_training_job(TrainingJobName="doomed-train")
    assert (training["TrainingJobStatus"], training["SecondaryStatus"]) == ("Failed", "Failed")
    assert training["FailureReason"] == "AlgorithmError: out of memory"
    assert "FinalMetricDataList" not in training
    processing = sm.describe_processing_job(ProcessingJobName="doomed-augment")
    assert processing["ProcessingJobStatus"] == "Failed"
    assert processing["FailureReason"] == "AlgorithmError: out of memory"
    result = backend.result("doomed-train")
    assert result is not None
    assert (result.status, result.artifact_bytes, dict(result.metrics)) == ("Failed", None, {})


def test_missing_output_bucket_fails_the_upload(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    definition = _plain_training(output="s3://no-such-bucket-here/out/")
    sm.create_training_job(TrainingJobName="nowhere", HyperParameters={}, **definition)
    clock.advance(LONG)
    done = sm.describe_training_job(TrainingJobName="nowhere")
    assert done["TrainingJobStatus"] == "Failed"
    assert "NoSuchBucket" in done["FailureReason"]


def test_training_job_names_are_unique(sm: SageMakerClient, backend: JobBackend) -> None:
    sm.create_training_job(TrainingJobName="once", HyperParameters={}, **_plain_training())
    with pytest.raises(ClientError, match="must be unique"):
        sm.create_training_job(TrainingJobName="once", HyperParameters={}, **_plain_training())


def test_max_runtime_stops_a_training_job(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    definition = _plain_training()
    definition["StoppingCondition"] = {"MaxRuntimeInSeconds": 60}
    sm.create_training_job(TrainingJobName="too-slow", HyperParameters={}, **definition)
    clock.advance(LONG)
    done = sm.describe_training_job(TrainingJobName="too-slow")
    assert (done["TrainingJobStatus"], done["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
    assert done["TrainingTimeInSeconds"] == 60


def _plain_training(output: str = f"s3://{BUCKET}/plain/") -> dict[str, Any]:
    definition = training_definition(output)
    del definition["StaticHyperParameters"]
    return definition


# --- stopping -------------------------------------------------------------------------------------------------------


def test_stop_training_job(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    sm.create_training_job(TrainingJobName="halt", HyperParameters={}, **_plain_training())
    clock.advance(100)
    sm.stop_training_job(TrainingJobName="halt")
    stopping = sm.describe_training_job(TrainingJobName="halt")
    assert (stopping["TrainingJobStatus"], stopping["SecondaryStatus"]) == ("Stopping", "Stopping")
    clock.advance(LONG)
    stopped = sm.describe_training_job(TrainingJobName="halt")
    assert (stopped["TrainingJobStatus"], stopped["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert "FinalMetricDataList" not in stopped
    with pytest.raises(ClientError, match="in status Stopped"):
        sm.stop_training_job(TrainingJobName="halt")
    with pytest.raises(ClientError, match="ResourceNotFound"):
        sm.stop_training_job(TrainingJobName="never-created")


def test_stop_processing_and_compilation_jobs(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    request = processing_request(churn_run())
    assert request is not None
    sm.create_processing_job(**request)
    sm.stop_processing_job(ProcessingJobName=request["ProcessingJobName"])
    described = sm.describe_processing_job(ProcessingJobName=request["ProcessingJobName"])
    assert described["ProcessingJobStatus"] == "Stopping"

    sm.create_training_job(TrainingJobName="base", HyperParameters={}, **_plain_training())
    clock.advance(LONG)
    base = sm.describe_training_job(TrainingJobName="base")["ModelArtifacts"]["S3ModelArtifacts"]
    sm.create_compilation_job(
        CompilationJobName="neo-halt",
        RoleArn=ROLE,
        InputConfig={"S3Uri": base, "DataInputConfig": '{"data":[1,4]}', "Framework": "XGBOOST"},
        OutputConfig={"S3OutputLocation": f"s3://{BUCKET}/neo/", "TargetDevice": "ml_c5"},
        StoppingCondition={"MaxRuntimeInSeconds": 900},
    )
    assert sm.describe_compilation_job(CompilationJobName="neo-halt")["CompilationJobStatus"] == "STARTING"
    sm.stop_compilation_job(CompilationJobName="neo-halt")
    assert sm.describe_compilation_job(CompilationJobName="neo-halt")["CompilationJobStatus"] == "STOPPING"
    clock.advance(LONG)
    assert sm.describe_compilation_job(CompilationJobName="neo-halt")["CompilationJobStatus"] == "STOPPED"
    assert sm.describe_processing_job(ProcessingJobName=request["ProcessingJobName"])["ProcessingJobStatus"] == (
        "Stopped"
    )


def test_stop_tuning_job_stops_its_trials(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_job("halt-hpo", max_jobs=10, parallel=3))
    clock.advance(200)
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="halt-hpo")
    stopping = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="halt-hpo")
    assert stopping["HyperParameterTuningJobStatus"] == "Stopping"
    clock.advance(LONG)
    stopped = tuning_status(sm, "halt-hpo")
    assert stopped["HyperParameterTuningJobStatus"] == "Stopped"
    assert stopped["TrainingJobStatusCounters"]["Stopped"] == 3
    assert sum(stopped["TrainingJobStatusCounters"].values()) == 3  # no trial launched after the stop
    assert "BestTrainingJob" not in stopped
    assert {t["TrainingJobStatus"] for t in trials_of(sm, "halt-hpo")} == {"Stopped"}


# --- tuning -------------------------------------------------------------------------------------------------------


def test_grid_enumerates_every_combination_exactly_once(
    sm: SageMakerClient, clock: ManualClock, backend: JobBackend
) -> None:
    ranges = {
        "CategoricalParameterRanges": [
            {"Name": "booster", "Values": ["gbtree", "dart", "gblinear"]},
            {"Name": "max_depth", "Values": ["4", "6"]},
        ]
    }
    sm.create_hyper_parameter_tuning_job(**tuning_job("grid-hpo", strategy="Grid", ranges=ranges, max_jobs=None))
    description = finished_tuning(sm, clock, "grid-hpo")
    trials = trials_of(sm, "grid-hpo")
    combos = [(t["TunedHyperParameters"]["booster"], t["TunedHyperParameters"]["max_depth"]) for t in trials]
    assert sorted(combos) == sorted(itertools.product(["gbtree", "dart", "gblinear"], ["4", "6"]))
    assert description["TrainingJobStatusCounters"]["Completed"] == 6


def test_grid_rejects_numeric_ranges(sm: SageMakerClient, backend: JobBackend) -> None:
    with pytest.raises(ClientError, match="categorical"):
        sm.create_hyper_parameter_tuning_job(**tuning_job("grid-bad", strategy="Grid"))


def test_random_search_is_reproducible_for_a_seed(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    for name, seed in (("rand-a", 7), ("rand-b", 7), ("rand-c", 8)):
        sm.create_hyper_parameter_tuning_job(**tuning_job(name, strategy="Random", seed=seed, max_jobs=6))
    clock.advance(LONG)

    def drawn(name: str) -> list[dict[str, str]]:
        return [dict(t["TunedHyperParameters"]) for t in trials_of(sm, name)]

    assert drawn("rand-a") == drawn("rand-b")
    assert drawn("rand-a") != drawn("rand-c")
    assert len({tuple(sorted(d.items())) for d in drawn("rand-a")}) == 6


@pytest.mark.parametrize(("objective", "metric"), [("Maximize", "validation:auc"), ("Minimize", "validation:rmse")])
def test_best_training_job_is_the_true_best(
    sm: SageMakerClient, clock: ManualClock, backend: JobBackend, objective: str, metric: str
) -> None:
    request = tuning_job("best-hpo", objective=objective, metric=metric, max_jobs=10, parallel=3)
    sm.create_hyper_parameter_tuning_job(**request)
    description = finished_tuning(sm, clock, "best-hpo")
    values = {
        t["TrainingJobName"]: t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        for t in trials_of(sm, "best-hpo")
    }
    assert len(values) == 10
    assert len(set(values.values())) > 5
    pick = max if objective == "Maximize" else min
    best = description["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pick(values.values())
    assert values[best["TrainingJobName"]] == pick(values.values())
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == metric
    training = sm.describe_training_job(TrainingJobName=best["TrainingJobName"])
    assert tuning.final_metrics(training)[metric] == pick(values.values())
    assert training["TuningJobArn"] == description["HyperParameterTuningJobArn"]
    assert training["HyperParameters"]["_tuning_objective_metric"] == metric
    assert {k: training["HyperParameters"][k] for k in best["TunedHyperParameters"]} == best["TunedHyperParameters"]
    assert training["HyperParameters"]["num_round"] == "200"  # static hyperparameters are passed on


def test_trials_run_in_waves_of_max_parallel(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_job("waves-hpo", max_jobs=7, parallel=3))
    clock.advance(JobDurations().tuning_startup + 1)
    running = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="waves-hpo")
    assert running["HyperParameterTuningJobStatus"] == "InProgress"
    assert running["TrainingJobStatusCounters"]["InProgress"] == 3
    assert running["ObjectiveStatusCounters"]["Pending"] == 3
    clock.advance(LONG)
    trials = trials_of(sm, "waves-hpo")
    events = sorted(
        [(t["CreationTime"], 1) for t in trials] + [(t["TrainingEndTime"], -1) for t in trials],
        key=lambda e: (e[0], e[1]),
    )
    assert max(itertools.accumulate(delta for _, delta in events)) == 3
    assert all(
        t["TrainingJobName"].startswith("waves-hpo-") and len(t["TrainingJobName"].split("-")[-1]) == 8 for t in trials
    )


def test_bayesian_search_improves_on_its_warm_up(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_job("bayes-hpo", max_jobs=16, parallel=2, seed=3))
    clock.advance(LONG)
    trials = trials_of(sm, "bayes-hpo")
    scores = [t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for t in trials]
    assert max(scores[3:]) >= max(scores[:3])


def test_counters_add_up_with_failed_trials(
    sm: SageMakerClient, clock: ManualClock, faults: Faults, backend: JobBackend
) -> None:
    faults.jobs.append(JobFault(job="count-hpo-00[24]-*", reason="AlgorithmError: bad trial"))
    sm.create_hyper_parameter_tuning_job(**tuning_job("count-hpo", max_jobs=9, parallel=3))
    clock.advance(700)
    midway = tuning_status(sm, "count-hpo")
    launched = len(trials_of(sm, "count-hpo"))
    assert sum(midway["TrainingJobStatusCounters"].values()) == launched
    assert sum(midway["ObjectiveStatusCounters"].values()) == launched
    description = finished_tuning(sm, clock, "count-hpo")
    assert description["HyperParameterTuningJobStatus"] == "Completed"
    assert description["TrainingJobStatusCounters"] == {
        "Completed": 7,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 2,
        "Stopped": 0,
    }
    assert description["ObjectiveStatusCounters"] == {"Succeeded": 7, "Pending": 0, "Failed": 2}
    failed = [t for t in trials_of(sm, "count-hpo") if t["TrainingJobStatus"] == "Failed"]
    assert {t["FailureReason"] for t in failed} == {"AlgorithmError: bad trial"}
    assert description["BestTrainingJob"]["TrainingJobName"] not in {t["TrainingJobName"] for t in failed}
    assert description["HyperParameterTuningEndTime"] >= max(t["TrainingEndTime"] for t in trials_of(sm, "count-hpo"))


def test_all_trials_failing_fails_the_tuning_job(
    sm: SageMakerClient, clock: ManualClock, faults: Faults, backend: JobBackend
) -> None:
    faults.jobs.append(JobFault(job="fail-hpo-*", reason="AlgorithmError: crash"))
    run_request = tuning_job("fail-hpo", max_jobs=12, parallel=3)
    sm.create_hyper_parameter_tuning_job(**run_request)
    description = finished_tuning(sm, clock, "fail-hpo")
    assert description["HyperParameterTuningJobStatus"] == "Failed"
    assert "No training job succeeded" in description["FailureReason"]
    assert "BestTrainingJob" not in description
    counters = description["TrainingJobStatusCounters"]
    assert counters["NonRetryableError"] >= 5
    assert counters["Completed"] == 0
    assert counters["InProgress"] == 0
    assert sum(counters.values()) < 12  # it gave up early
    with pytest.raises(Exception, match="no best training job"):
        tuning.best_training_job_name(description)


def test_injected_tuning_job_failure(
    sm: SageMakerClient, clock: ManualClock, faults: Faults, backend: JobBackend
) -> None:
    faults.jobs.append(JobFault(job="broken-hpo", reason="ClientError: role cannot be assumed"))
    sm.create_hyper_parameter_tuning_job(**tuning_job("broken-hpo"))
    assert (
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="broken-hpo")[
            "HyperParameterTuningJobStatus"
        ]
        == "InProgress"
    )
    description = finished_tuning(sm, clock, "broken-hpo")
    assert description["HyperParameterTuningJobStatus"] == "Failed"
    assert description["FailureReason"] == "ClientError: role cannot be assumed"


def test_hyperband_stops_weak_trials_early(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    request = tuning_job(
        "band-hpo",
        strategy="Hyperband",
        max_jobs=14,
        parallel=2,
        seed=1,
        extra={"StrategyConfig": {"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 9}}},
    )
    sm.create_hyper_parameter_tuning_job(**request)
    description = finished_tuning(sm, clock, "band-hpo")
    counters = description["TrainingJobStatusCounters"]
    assert counters["Stopped"] >= 1
    assert counters["Completed"] >= 2
    assert description["ObjectiveStatusCounters"]["Succeeded"] == 14
    trials = trials_of(sm, "band-hpo")
    completed = [
        t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        for t in trials
        if t["TrainingJobStatus"] == "Completed"
    ]
    assert description["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == max(completed)


# --- artifacts and compression -------------------------------------------------------------------------------------


def test_artifacts_exist_in_s3_with_the_reported_sizes(
    sm: SageMakerClient, s3: S3Client, clock: ManualClock, backend: JobBackend
) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_job("art-hpo", max_jobs=6, parallel=3))
    clock.advance(LONG)
    sizes = {}
    for trial in trials_of(sm, "art-hpo"):
        training = sm.describe_training_job(TrainingJobName=trial["TrainingJobName"])
        uri = training["ModelArtifacts"]["S3ModelArtifacts"]
        assert uri == f"s3://{BUCKET}/runs/t/tuning/{trial['TrainingJobName']}/output/model.tar.gz"
        result = backend.result(trial["TrainingJobName"])
        assert result is not None
        assert result.artifact_uri == uri
        sizes[trial["TrainingJobName"]] = object_size(s3, uri)
        assert result.artifact_bytes == sizes[trial["TrainingJobName"]]
    assert all(16 * 1024 < size < 300 * 1024 for size in sizes.values())
    assert len(set(sizes.values())) > 1  # depends on the hyperparameters


@pytest.mark.parametrize(
    ("method", "factor"),
    [
        ({"method": "quantization", "dtype": "int8", "calibration_channel": "validation"}, 0.27),
        ({"method": "quantization", "dtype": "fp16"}, 0.52),
        ({"method": "pruning", "target_sparsity": 0.6}, 1 - 0.6 * 0.9),
    ],
)
def test_compression_is_consistent_with_its_method(
    sm: SageMakerClient,
    s3: S3Client,
    clock: ManualClock,
    backend: JobBackend,
    method: dict[str, Any],
    factor: float,
) -> None:
    run = churn_run({**method, "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/compress:1"})
    best = tune_and_select(sm, clock, run)
    description = compress(sm, clock, run, best)
    artifact, metrics = compression.compressed_result(_ref(run.names.compression), description)
    size_before, size_after = object_size(s3, best.model_artifact), object_size(s3, artifact)
    assert size_after / size_before == pytest.approx(factor, rel=0.03)
    drop = best.objective_value - metrics[best.objective_metric]
    assert 0 < drop < 0.05
    result = gate.evaluate(
        run,
        best,
        metric_after=metrics[best.objective_metric],
        size_before=size_before,
        size_after=size_after,
        compressed_artifact=artifact,
    )
    assert result.size_reduction == pytest.approx(1 - factor, abs=0.03)
    assert any("size reduced" in reason for reason in result.reasons) == (result.size_reduction < 0.5)


def _ref(job_name: str) -> CompressedRef:
    return CompressedRef(kind="training", job_name=job_name)


def test_pruning_drop_grows_with_sparsity(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    drops = []
    for index, sparsity in enumerate((0.3, 0.6, 0.9)):
        run = churn_run(
            {
                "method": "pruning",
                "target_sparsity": sparsity,
                "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/compress:1",
            }
        )
        if index == 0:
            best = tune_and_select(sm, clock, run)
        plan = compression.compression_plan(run, best, poll_seconds=30, max_polls=60)
        sm.create_training_job(**{**plan.request, "TrainingJobName": f"prune-{index}"})
        clock.advance(LONG)
        metrics = tuning.final_metrics(sm.describe_training_job(TrainingJobName=f"prune-{index}"))
        drops.append(best.objective_value - metrics[best.objective_metric])
    assert drops == sorted(drops)
    assert drops[0] > 0


def test_degradation_fault_fails_the_gate(
    sm: SageMakerClient, s3: S3Client, clock: ManualClock, faults: Faults, backend: JobBackend
) -> None:
    run = churn_run()
    faults.degradations.append(Degradation(job=run.names.compression, metric_drop=0.1))
    best = tune_and_select(sm, clock, run)
    description = compress(sm, clock, run, best)
    artifact, metrics = compression.compressed_result(_ref(run.names.compression), description)
    result = gate.evaluate(
        run,
        best,
        metric_after=metrics[best.objective_metric],
        size_before=object_size(s3, best.model_artifact),
        size_after=object_size(s3, artifact),
        compressed_artifact=artifact,
    )
    assert not result.passed
    assert result.metric_drop == pytest.approx(0.1 + 0.004, abs=1e-6)  # calibrated int8 + the fault
    assert any("dropped" in reason for reason in result.reasons)


def test_compression_without_its_base_model_fails(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    run = churn_run()
    best = BestModel(
        tuning_job_name="x",
        training_job_name="x",
        hyperparameters={},
        objective_metric="validation:auc",
        objective_value=0.9,
        final_metrics={},
        model_artifact=f"s3://{BUCKET}/missing/model.tar.gz",
    )
    description = compress(sm, clock, run, best)
    assert description["TrainingJobStatus"] == "Failed"
    assert "Data download failed" in description["FailureReason"]


def test_neo_compilation_makes_a_smaller_artifact(
    sm: SageMakerClient, s3: S3Client, clock: ManualClock, backend: JobBackend
) -> None:
    run = churn_run(
        {"method": "neo", "framework": "XGBOOST", "input_shape": {"data": [1, 20]}, "target_device": "ml_c5"}
    )
    best = tune_and_select(sm, clock, run)
    plan = compression.compression_plan(run, best, poll_seconds=30, max_polls=60)
    sm.create_compilation_job(**plan.request)
    starting = sm.describe_compilation_job(CompilationJobName=plan.job_name)
    assert starting["CompilationJobStatus"] == "STARTING"
    assert "CompilationEndTime" not in starting
    clock.advance(100)
    assert sm.describe_compilation_job(CompilationJobName=plan.job_name)["CompilationJobStatus"] == "INPROGRESS"
    clock.advance(LONG)
    done = sm.describe_compilation_job(CompilationJobName=plan.job_name)
    assert done["CompilationJobStatus"] == "COMPLETED"
    assert done["FailureReason"] == ""
    artifact, _ = compression.compressed_result(CompressedRef(kind="neo", job_name=plan.job_name), done)
    assert artifact == f"{run.output_prefix}compilation/model-ml_c5.tar.gz"
    assert object_size(s3, artifact) / object_size(s3, best.model_artifact) == pytest.approx(0.45, rel=0.03)
    assert done["CompilationStartTime"] < done["CompilationEndTime"]


def test_the_product_reads_back_a_consistent_best_model(
    sm: SageMakerClient, clock: ManualClock, backend: JobBackend
) -> None:
    run = churn_run()
    best = tune_and_select(sm, clock, run)
    assert set(best.hyperparameters) == {"eta", "subsample", "max_depth", "booster"}
    assert best.objective_value == best.final_metrics["validation:auc"]
    assert best.training_seconds is not None
    assert best.training_seconds > 0
    description = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=run.names.tuning)
    assert description["TrainingJobStatusCounters"]["Completed"] == 12


# --- concurrency ---------------------------------------------------------------------------------------------------


def test_concurrent_polling_sees_one_consistent_tuning_job(sm: SageMakerClient, fast: JobBackend) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_job("busy-hpo", max_jobs=9, parallel=3))
    errors: list[BaseException] = []
    seen: list[str] = []

    def poll() -> None:
        client = boto3.client("sagemaker", region_name=REGION)
        try:
            for _ in range(400):
                status = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="busy-hpo")
                seen.append(status["HyperParameterTuningJobStatus"])
                if status["HyperParameterTuningJobStatus"] != "InProgress":
                    return
                time.sleep(0.001)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=poll) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert not errors
    final = wait_for(
        lambda: (
            d
            if (d := sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="busy-hpo"))[
                "HyperParameterTuningJobStatus"
            ]
            == "Completed"
            else None
        )
    )
    trials = trials_of(sm, "busy-hpo")
    assert len(trials) == 9 == final["TrainingJobStatusCounters"]["Completed"]
    assert len({t["TrainingJobName"] for t in trials}) == 9


# --- plain moto when no backend is installed -----------------------------------------------------------------------


def test_without_a_backend_moto_behaves_as_before(sm: SageMakerClient, faults: Faults) -> None:
    JobBackend(ManualClock(), faults).install().uninstall()  # the class patches stay, routed to nobody
    assert active_backend() is None
    assert MOTO_ADDED_OPERATIONS == [
        "stop_training_job",
        "stop_hyper_parameter_tuning_job",
        "stop_compilation_job",
        "list_training_jobs_for_hyper_parameter_tuning_job",
    ]
    sm.create_training_job(TrainingJobName="plain-moto", HyperParameters={}, **_plain_training())
    training = sm.describe_training_job(TrainingJobName="plain-moto")
    assert training["TrainingJobStatus"] == "Completed"
    assert training["AlgorithmSpecification"]["MetricDefinitions"][0]["Name"] == "test:dcg"  # moto's placeholder
    assert training["FinalMetricDataList"][0]["MetricName"] == "train:progress"
    sm.create_hyper_parameter_tuning_job(**tuning_job("plain-hpo"))
    description = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="plain-hpo")
    assert description["HyperParameterTuningJobStatus"] == "Completed"
    assert description["BestTrainingJob"]["TrainingJobName"] == "FakeTrainingJobName"
    assert sm.list_training_jobs()["TrainingJobSummaries"][0]["TrainingJobName"] == "plain-moto"
    calls: list[Callable[[], object]] = [
        lambda: sm.stop_training_job(TrainingJobName="plain-moto"),
        lambda: sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="plain-hpo"),
        lambda: sm.stop_compilation_job(CompilationJobName="x"),
        lambda: sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="plain-hpo"),
    ]
    for call in calls:
        with pytest.raises(NotImplementedError):
            call()


def test_only_one_backend_at_a_time(faults: Faults, backend: JobBackend) -> None:
    assert active_backend() is backend
    with pytest.raises(RuntimeError, match="already installed"):
        JobBackend(ManualClock(), faults).install()


# --- AWS Batch arrays ----------------------------------------------------------------------------------------------


@pytest.fixture
def batch(aws: None) -> Any:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="batch-service", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client: Any = boto3.client("batch", region_name=REGION)
    env = client.create_compute_environment(
        computeEnvironmentName="local", type="UNMANAGED", state="ENABLED", serviceRole=role
    )["computeEnvironmentArn"]
    client.create_job_queue(
        jobQueueName="queue",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env}],
    )
    client.register_job_definition(
        jobDefinitionName="worker",
        type="container",
        containerProperties={"image": "busybox", "command": ["true"], "vcpus": 1, "memory": 128},
    )
    return client


def test_batch_array_children_run_on_the_clock(
    batch: Any, clock: ManualClock, faults: Faults, backend: JobBackend
) -> None:
    faults.jobs.append(JobFault(job="shards:3", reason="Essential container in task exited"))
    backend.batch_child_duration = lambda _name, index: 100.0 * (index + 1)
    job_id = batch.submit_job(jobName="shards", jobQueue="queue", jobDefinition="worker", arrayProperties={"size": 4})[
        "jobId"
    ]

    def parent() -> dict[str, Any]:
        jobs: list[dict[str, Any]] = batch.describe_jobs(jobs=[job_id])["jobs"]
        return jobs[0]

    first = parent()
    assert first["status"] in ("SUBMITTED", "PENDING", "RUNNABLE")
    assert first["arrayProperties"]["statusSummary"]["SUBMITTED"] == 4
    clock.advance(JobDurations().batch_startup + 150)
    running = parent()
    assert running["status"] == "RUNNING"
    assert running["arrayProperties"]["statusSummary"]["SUCCEEDED"] == 1
    assert running["arrayProperties"]["statusSummary"]["RUNNING"] == 3
    children = batch.describe_jobs(jobs=[f"{job_id}:{i}" for i in range(4)])["jobs"]
    by_index = {c["arrayProperties"]["index"]: c for c in children}
    assert by_index[0]["status"] == "SUCCEEDED"
    assert by_index[1]["status"] == "RUNNING"
    assert by_index[0]["stoppedAt"] - by_index[0]["startedAt"] == 100_000  # epoch milliseconds
    clock.advance(LONG)
    done = parent()
    assert done["status"] == "FAILED"
    assert done["arrayProperties"]["statusSummary"]["SUCCEEDED"] == 3
    assert done["arrayProperties"]["statusSummary"]["FAILED"] == 1
    assert done["stoppedAt"] > done["startedAt"]
    failed = batch.describe_jobs(jobs=[f"{job_id}:3"])["jobs"][0]
    assert failed["status"] == "FAILED"
    assert failed["statusReason"] == "Essential container in task exited"


def test_batch_array_terminate(batch: Any, clock: ManualClock, backend: JobBackend) -> None:
    job_id = batch.submit_job(jobName="stopme", jobQueue="queue", jobDefinition="worker", arrayProperties={"size": 3})[
        "jobId"
    ]
    clock.advance(JobDurations().batch_startup + 10)
    batch.terminate_job(jobId=job_id, reason="operator")
    clock.advance(1)
    parent = batch.describe_jobs(jobs=[job_id])["jobs"][0]
    assert parent["status"] == "FAILED"
    assert parent["arrayProperties"]["statusSummary"]["FAILED"] == 3
    listed = batch.list_jobs(arrayJobId=job_id)["jobSummaryList"]
    assert {j["status"] for j in listed} == {"FAILED"}


def test_batch_array_children_wait_for_a_free_slot(batch: Any, clock: ManualClock, backend: JobBackend) -> None:
    backend.batch_parallelism = 2
    job_id = batch.submit_job(jobName="slots", jobQueue="queue", jobDefinition="worker", arrayProperties={"size": 4})[
        "jobId"
    ]
    clock.advance(JobDurations().batch_startup + 10)
    summary = batch.describe_jobs(jobs=[job_id])["jobs"][0]["arrayProperties"]["statusSummary"]
    assert (summary["RUNNING"], summary["RUNNABLE"]) == (2, 2)
    clock.advance(JobDurations().batch_child + JobDurations().batch_startup)
    summary = batch.describe_jobs(jobs=[job_id])["jobs"][0]["arrayProperties"]["statusSummary"]
    assert (summary["SUCCEEDED"], summary["RUNNING"]) == (2, 2)


def test_batch_children_with_the_shard_contract_take_items_times_cost(
    batch: Any, clock: ManualClock, backend: JobBackend
) -> None:
    # GIVEN 10 items in shards of 4 (the last shard has 2) and a worker that takes 30 s + 2 s per item
    backend.batch_work["worker"] = BatchWork(per_item_seconds=2.0, startup_seconds=30.0, noise=0.0)
    env = [{"name": "MLCP_ITEMS_PER_CHILD", "value": "4"}, {"name": "MLCP_ITEM_COUNT", "value": "10"}]
    job_id = batch.submit_job(
        jobName="sharded",
        jobQueue="queue",
        jobDefinition="worker",
        arrayProperties={"size": 3},
        containerOverrides={"environment": env},
    )["jobId"]
    clock.advance(3600)
    children = batch.describe_jobs(jobs=[f"{job_id}:{i}" for i in range(3)])["jobs"]
    seconds = [(c["stoppedAt"] - c["startedAt"]) / 1000 for c in children]
    assert seconds == [38.0, 38.0, 34.0]
    # a single job with the shard contract runs on the clock too (moto would start a Docker container)
    single = batch.submit_job(
        jobName="one", jobQueue="queue", jobDefinition="worker", containerOverrides={"environment": env}
    )["jobId"]
    assert batch.describe_jobs(jobs=[single])["jobs"][0]["status"] in ("SUBMITTED", "PENDING", "RUNNABLE")
    clock.advance(3600)
    (described,) = batch.describe_jobs(jobs=[single])["jobs"]
    assert described["status"] == "SUCCEEDED"
    assert "arrayProperties" not in described or "statusSummary" not in described["arrayProperties"]
    assert (described["stoppedAt"] - described["startedAt"]) / 1000 == 38.0

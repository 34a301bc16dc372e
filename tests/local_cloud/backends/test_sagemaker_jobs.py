"""The local job backend's processing, training and compilation jobs on the clock: lifecycle, failures, stopping:
cli/mlcp_cli/local/backends/sagemaker_jobs.py (with timelines.py and sagemaker_records.py).

Most tests drive a manual clock (instant and exact); a few run on a fast SimClock and poll like the state machine
(tests/local_cloud/backends/support.py has the requests and helpers).
"""

from __future__ import annotations

import itertools
import math

import pytest
from botocore.exceptions import ClientError
from mypy_boto3_s3 import S3Client
from mypy_boto3_sagemaker import SageMakerClient

from mlcp.training.preparation import processing_request
from mlcp_cli.local.backends.jobs import JobBackend
from mlcp_cli.local.faults import Faults, JobFault
from tests.local_cloud.backends.support import (
    BUCKET,
    LONG,
    ROLE,
    ManualClock,
    churn_run,
    plain_training,
    training_definition,
)


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
    assert done["TrainingTimeInSeconds"] == max(1, math.ceil(seconds - 1e-6))  # whole seconds, rounded up
    assert 0 < done["BillableTimeInSeconds"] < done["TrainingTimeInSeconds"]  # managed spot
    assert {m["MetricName"] for m in done["FinalMetricDataList"]} == {"validation:auc", "train:loss"}
    assert done["LastModifiedTime"] == done["TrainingEndTime"]


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
    sm.create_training_job(TrainingJobName="doomed-train", HyperParameters={}, **plain_training())
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
    definition = plain_training(output="s3://no-such-bucket-here/out/")
    sm.create_training_job(TrainingJobName="nowhere", HyperParameters={}, **definition)
    clock.advance(LONG)
    done = sm.describe_training_job(TrainingJobName="nowhere")
    assert done["TrainingJobStatus"] == "Failed"
    assert "NoSuchBucket" in done["FailureReason"]


def test_training_job_names_are_unique(sm: SageMakerClient, backend: JobBackend) -> None:
    sm.create_training_job(TrainingJobName="once", HyperParameters={}, **plain_training())
    with pytest.raises(ClientError, match="must be unique"):
        sm.create_training_job(TrainingJobName="once", HyperParameters={}, **plain_training())


def test_max_runtime_stops_a_training_job(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    definition = plain_training()
    definition["StoppingCondition"] = {"MaxRuntimeInSeconds": 60}
    sm.create_training_job(TrainingJobName="too-slow", HyperParameters={}, **definition)
    clock.advance(LONG)
    done = sm.describe_training_job(TrainingJobName="too-slow")
    assert (done["TrainingJobStatus"], done["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
    assert done["TrainingTimeInSeconds"] == 60


def test_stop_training_job(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    sm.create_training_job(TrainingJobName="halt", HyperParameters={}, **plain_training())
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

    sm.create_training_job(TrainingJobName="base", HyperParameters={}, **plain_training())
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

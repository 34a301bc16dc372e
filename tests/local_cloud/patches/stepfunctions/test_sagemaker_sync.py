"""Guards of sagemaker_sync, the fixes of cli/mlcp_cli/local/patches/stepfunctions/sagemaker_sync.py: each test shows
the gap on plain moto, then the AWS behaviour with the fix (test_install.py says how the guards are organised).
"""

from __future__ import annotations

import json
import re
import time

from mlcp_cli.local.backends.jobs import JobBackend, JobDurations
from mlcp_cli.local.faults import JobFault
from tests.local_cloud.conftest import failures
from tests.local_cloud.patches.support import (
    ACCOUNT,
    ISO_MS,
    OUTPUT_BUCKET,
    REGION,
    TIMEOUT,
    Sandbox,
    task,
    training_job,
)


# --- sagemaker_sync ----------------------------------------------------------------------------------------------
def test_sagemaker_sync_returns_the_describe_output(box: Sandbox) -> None:
    resource = "arn:aws:states:::sagemaker:createTrainingJob.sync"

    plain = box.execute(task(resource, training_job("plain-job")))
    assert plain["status"] == "FAILED"
    assert plain["error"] == "States.Runtime"
    assert "Unsupported sync callback procedure" in plain["cause"]

    box.activate()
    fixed = box.execute(task(resource, training_job("sync-job")))
    assert fixed["status"] == "SUCCEEDED", fixed
    output = json.loads(fixed["output"])
    # The DescribeTrainingJob output, not CreateTrainingJob's {"TrainingJobArn": ...}
    assert output["TrainingJobName"] == "sync-job"
    assert output["TrainingJobStatus"] == "Completed"
    assert output["TrainingJobArn"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/sync-job"
    assert output["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://{OUTPUT_BUCKET}/models/sync-job/output/model.tar.gz"
    assert re.fullmatch(ISO_MS, output["CreationTime"]), output["CreationTime"]
    assert "ResponseMetadata" not in output


def test_sagemaker_sync_failed_job_fails_the_task(box: Sandbox) -> None:
    box.client("s3").create_bucket(Bucket=OUTPUT_BUCKET)
    box.faults.jobs.append(JobFault(job="fail-*", reason="AlgorithmError: injected failure"))
    box.activate()
    with JobBackend(box.clock, box.faults):
        failed = box.execute(task("arn:aws:states:::sagemaker:createTrainingJob.sync", training_job("fail-1")))
    assert failed["status"] == "FAILED", failed
    assert failed["error"] == "States.TaskFailed"
    cause = json.loads(failed["cause"])  # the DescribeTrainingJob output of the failed job
    assert cause["TrainingJobName"] == "fail-1"
    assert cause["TrainingJobStatus"] == "Failed"
    assert cause["FailureReason"] == "AlgorithmError: injected failure"
    assert failures(box, failed["executionArn"]) == ["States.TaskFailed"]


def test_sagemaker_sync_stopping_the_execution_stops_the_job(box: Sandbox) -> None:
    box.client("s3").create_bucket(Bucket=OUTPUT_BUCKET)
    sagemaker = box.client("sagemaker")
    box.activate()
    with JobBackend(box.clock, box.faults, JobDurations(training=10.0**9)):  # runs far longer than the test
        execution = box.start(
            box.state_machine(task("arn:aws:states:::sagemaker:createTrainingJob.sync", training_job("long-1")))
        )
        deadline = time.monotonic() + TIMEOUT
        while not sagemaker.list_training_jobs()["TrainingJobSummaries"]:
            assert time.monotonic() < deadline, "the training job was never created"
            time.sleep(0.02)
        assert sagemaker.describe_training_job(TrainingJobName="long-1")["TrainingJobStatus"] == "InProgress"
        box.client("stepfunctions").stop_execution(executionArn=execution)
        assert box.wait(execution)["status"] == "ABORTED"
        status = ""
        while status != "Stopped":
            assert time.monotonic() < deadline, f"the job is still {status}"
            status = sagemaker.describe_training_job(TrainingJobName="long-1")["TrainingJobStatus"]
            assert status in {"InProgress", "Stopping", "Stopped"}
            time.sleep(0.01)

"""The local Batch backend running the reference worker for real (cli/mlcp_cli/local/backends/batch_workers.py): a
job definition whose command is ``python worker.py`` runs each array child as a process of the configured script,
with AWS Batch's container environment, reaching the local S3 over HTTP; its exit code decides the child's status
and its output lands in CloudWatch Logs (/aws/batch/job). A tiny script stands in for worker.py here."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from mlcp_cli.local.backends.jobs import JobBackend
from tests.local_cloud.backends.support import BUCKET, LONG, REGION, ManualClock
from tests.local_cloud.conftest import batch_queue

SCRIPT = """
import json, os, sys, time
import boto3
env = {k: v for k, v in os.environ.items() if k.startswith(("AWS_BATCH_", "MLCP_", "MODEL_", "AWS_ENDPOINT"))}
print(json.dumps(env, sort_keys=True))
print("from stderr", file=sys.stderr)
index = os.environ["AWS_BATCH_JOB_ARRAY_INDEX"]
boto3.client("s3").put_object(Bucket=os.environ["OUT_BUCKET"], Key=f"out/{index}.json", Body=json.dumps(env))
time.sleep(0.4)
sys.exit(3 if index == os.environ.get("FAIL_INDEX") else 0)
"""


@pytest.fixture
def batch(aws: None) -> Any:
    client: Any = boto3.client("batch", region_name=REGION)
    batch_queue(boto3.client("iam", region_name=REGION), client, "batch-service")
    client.register_job_definition(
        jobDefinitionName="worker-local",
        type="container",
        containerProperties={
            "image": "public.ecr.aws/sam/build-python3.13:latest",
            "command": ["python", "worker.py"],
            "vcpus": 1,
            "memory": 512,
            "environment": [{"name": "OUT_BUCKET", "value": BUCKET}, {"name": "FAIL_INDEX", "value": "none"}],
        },
    )
    return client


@pytest.fixture
def endpoint(aws: None) -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    server.stop()


@pytest.fixture
def real(backend: JobBackend, endpoint: str, tmp_path: Path) -> JobBackend:
    script = tmp_path / "worker.py"
    script.write_text(SCRIPT)
    backend.batch_worker_script = script
    backend.batch_endpoint = lambda: endpoint
    backend.batch_worker_parallelism = 2
    return backend


def _children(batch: Any, job_id: str, size: int) -> dict[int, dict[str, Any]]:
    jobs = batch.describe_jobs(jobs=[f"{job_id}:{i}" for i in range(size)])["jobs"]
    return {j["arrayProperties"]["index"]: j for j in jobs}


def test_the_reference_worker_command_runs_each_child_as_a_process(
    batch: Any, real: JobBackend, clock: ManualClock
) -> None:
    job_id = batch.submit_job(
        jobName="score",
        jobQueue="queue",
        jobDefinition="worker-local",
        arrayProperties={"size": 3},
        containerOverrides={
            "environment": [{"name": "MLCP_ITEM_COUNT", "value": "7"}, {"name": "FAIL_INDEX", "value": "1"}]
        },
    )["jobId"]
    assert real.wait_batch(timeout=60)
    clock.advance(LONG)  # a real child's status follows its process, not the clock
    parent = batch.describe_jobs(jobs=[job_id])["jobs"][0]
    assert parent["status"] == "FAILED"
    assert parent["arrayProperties"]["statusSummary"]["SUCCEEDED"] == 2
    assert parent["arrayProperties"]["statusSummary"]["FAILED"] == 1
    children = _children(batch, job_id, 3)
    assert [children[i]["status"] for i in range(3)] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
    assert children[1]["statusReason"] == "Essential container in task exited"
    assert children[1]["container"]["exitCode"] == 3
    assert children[0]["container"]["exitCode"] == 0
    # the container environment: AWS Batch's variables, the definition's overlaid by the overrides, the endpoint
    s3: Any = boto3.client("s3", region_name=REGION)
    seen = json.loads(s3.get_object(Bucket=BUCKET, Key="out/2.json")["Body"].read())
    assert seen["AWS_BATCH_JOB_ID"] == f"{job_id}:2"
    assert seen["AWS_BATCH_JOB_ARRAY_INDEX"] == "2"
    assert seen["AWS_BATCH_JOB_ATTEMPT"] == "1"
    assert seen["AWS_BATCH_JQ_NAME"] == "queue"
    assert seen["MLCP_ITEM_COUNT"] == "7"
    assert seen["AWS_ENDPOINT_URL"] == real.batch_endpoint() if real.batch_endpoint else False
    # stdout and stderr in CloudWatch Logs, where AWS Batch puts them
    stream = children[1]["container"]["logStreamName"]
    assert stream == f"worker-local/default/{job_id}:1"
    logs: Any = boto3.client("logs", region_name=REGION)
    messages = [
        e["message"] for e in logs.get_log_events(logGroupName="/aws/batch/job", logStreamName=stream)["events"]
    ]
    assert json.loads(messages[0])["AWS_BATCH_JOB_ARRAY_INDEX"] == "1"
    assert "from stderr" in messages
    # real seconds: each child ran >= its 0.4 s sleep, and never more than two at once
    spans = sorted((c["startedAt"], c["stoppedAt"]) for c in children.values())
    assert all(stop - start >= 400 for start, stop in spans)
    assert spans[2][0] >= min(spans[0][1], spans[1][1])


def test_terminate_kills_the_running_children_and_cancels_the_queued(
    batch: Any, real: JobBackend, clock: ManualClock
) -> None:
    real.batch_worker_parallelism = 1
    job_id = batch.submit_job(
        jobName="stop", jobQueue="queue", jobDefinition="worker-local", arrayProperties={"size": 3}
    )["jobId"]
    time.sleep(0.2)
    batch.terminate_job(jobId=job_id, reason="operator")
    assert real.wait_batch(timeout=30)
    clock.advance(1)
    children = _children(batch, job_id, 3)
    assert {c["status"] for c in children.values()} == {"FAILED"}
    assert {c["statusReason"] for c in children.values()} == {"operator"}
    s3: Any = boto3.client("s3", region_name=REGION)
    written = s3.list_objects_v2(Bucket=BUCKET, Prefix="out/").get("KeyCount", 0)
    assert written <= 1  # the queued children never started


def test_other_commands_keep_the_cost_model(batch: Any, real: JobBackend, clock: ManualClock) -> None:
    job_id = batch.submit_job(jobName="sim", jobQueue="queue", jobDefinition="worker", arrayProperties={"size": 2})[
        "jobId"
    ]
    assert batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"] in ("SUBMITTED", "PENDING", "RUNNABLE")
    clock.advance(LONG)
    assert batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"] == "SUCCEEDED"
    s3: Any = boto3.client("s3", region_name=REGION)
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="out/").get("KeyCount", 0) == 0  # no process ran

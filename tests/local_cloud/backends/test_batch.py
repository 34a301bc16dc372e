"""The local job backend's AWS Batch array jobs on the clock: cli/mlcp_cli/local/backends/batch.py.

Most tests drive a manual clock (instant and exact); a few run on a fast SimClock and poll like the state machine
(tests/local_cloud/backends/support.py has the requests and helpers).
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from mlcp_cli.local.backends.batch import BatchWork
from mlcp_cli.local.backends.jobs import JobBackend, JobDurations
from mlcp_cli.local.faults import Faults, JobFault
from tests.local_cloud.backends.support import (
    LONG,
    REGION,
    ManualClock,
)
from tests.local_cloud.conftest import batch_queue


@pytest.fixture
def batch(aws: None) -> Any:
    client: Any = boto3.client("batch", region_name=REGION)
    batch_queue(boto3.client("iam", region_name=REGION), client, "batch-service")
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

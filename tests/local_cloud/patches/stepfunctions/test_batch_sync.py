"""Guards of batch_sync, the fixes of cli/mlcp_cli/local/patches/stepfunctions/batch_sync.py: each test shows the gap on
plain moto, then the AWS behaviour with the fix (test_install.py says how the guards are organised).
"""

from __future__ import annotations

import json
import time
from typing import Any

from mlcp_cli.local.backends.jobs import JobBackend, JobDurations
from tests.local_cloud.conftest import batch_queue
from tests.local_cloud.patches.support import (
    TIMEOUT,
    Sandbox,
    task,
)


# --- batch_sync --------------------------------------------------------------------------------------------------
def _batch_queue(box: Sandbox) -> None:
    batch_queue(box.client("iam"), box.client("batch"), "batch")


SUBMIT_ARRAY = task(
    "arn:aws:states:::batch:submitJob.sync",
    {"JobName": "shards", "JobQueue": "queue", "JobDefinition": "worker", "ArrayProperties": {"Size": 3}},
)


def test_batch_sync_plain_moto_polls_at_a_fixed_half_second() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service_callback,
    )

    assert state_task_service_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK == 0.5


def test_batch_sync_returns_pascal_case_and_terminates_the_job_when_stopped(box: Sandbox) -> None:
    _batch_queue(box)
    box.activate()
    batch = box.client("batch")
    with JobBackend(box.clock, box.faults, JobDurations(batch_child=60.0)):
        done = box.execute(SUBMIT_ARRAY)
        assert done["status"] == "SUCCEEDED", done
        output = json.loads(done["output"])
        assert output["Status"] == "SUCCEEDED"
        assert output["ArrayProperties"]["StatusSummary"]["SUCCEEDED"] == 3
        assert "jobId" not in output

    long_array = task(
        "arn:aws:states:::batch:submitJob.sync",
        {"JobName": "long", "JobQueue": "queue", "JobDefinition": "worker", "ArrayProperties": {"Size": 2}},
    )
    with JobBackend(box.clock, box.faults, JobDurations(batch_child=10.0**9)):  # runs far longer than the test
        execution = box.start(box.state_machine(long_array))
        deadline = time.monotonic() + TIMEOUT
        parents: list[dict[str, Any]] = []
        while not parents:
            assert time.monotonic() < deadline, "the array job was never submitted"
            listed = batch.list_jobs(jobQueue="queue", filters=[{"name": "JOB_NAME", "values": ["long"]}])
            parents = [j for j in listed["jobSummaryList"] if ":" not in j["jobId"]]
            time.sleep(0.02)
        job_id = parents[0]["jobId"]
        box.client("stepfunctions").stop_execution(executionArn=execution)
        assert box.wait(execution)["status"] == "ABORTED"
        status = ""
        while status != "FAILED":
            assert time.monotonic() < deadline, f"the array is still {status}"
            status = batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"]
            time.sleep(0.01)
        child = batch.describe_jobs(jobs=[f"{job_id}:0"])["jobs"][0]
        assert child["statusReason"] == "Execution was stopped"

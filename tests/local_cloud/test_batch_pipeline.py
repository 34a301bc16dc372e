"""The batch pipeline end to end in the local cloud: manifest upload -> start_batch -> plan -> Batch array -> collect.

The local job backend runs each child for ``startup + items x per-item time x (1 ± 5 %)`` simulated seconds
(BatchWork: 0.5 s per item, 30 s start-up), as many at once as the compute environment's maxvCpus allow, so the
planner's self-tuning is visible offline. Assertions read the execution history, S3 (stats.json), the profiles
table, DescribeComputeEnvironments and SNS notifications.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from mlcp.batch.spec import FARGATE_VCPU_HOUR_USD
from mlcp_cli.local.backends.batch import BatchWork
from mlcp_cli.local.cloud import LocalCloud
from mlcp_cli.local.faults import JobFault
from tests.local_cloud.conftest import states_entered

TRUE_PER_ITEM = 0.5
STARTUP = 30.0
_labels = itertools.count(1)

HAPPY_STATES = [
    "Prepare Run State",
    "Plan Batch",
    "Resize Requested?",
    "Array Job?",
    "Submit Array Job",
    "Restore Needed?",
    "Collect Batch Stats",
    "All Shards Succeeded?",
    "Notify Success",
    "Batch Succeeded",
]


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(speed=20000.0) as local:
        local.jobs.batch_work_default = BatchWork(per_item_seconds=TRUE_PER_ITEM, startup_seconds=STARTUP)
        yield local


@pytest.fixture(autouse=True)
def _clean(cloud: LocalCloud) -> Iterator[None]:
    yield
    cloud.settle(timeout=300)
    cloud.faults.clear()
    cloud.notifications()


def _spec(cloud: LocalCloud, profile: str, **overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": profile,
        "items": {"count": 1},
        "job": {"definition": f"{cloud.stack_name}-batch-worker", "vcpus": 16, "memory_mib": 32768},
        "queues": [{"name": cloud.output("BatchSpotQueueArn"), "max_vcpus": 64, "spot": True}],
        "estimate": {"per_item_seconds": TRUE_PER_ITEM, "startup_seconds": STARTUP},
    }
    spec.update(overrides)
    cloud.upload(f"batches/{profile}/batch.yaml", yaml.safe_dump(spec))
    return spec


def _run(cloud: LocalCloud, profile: str, items: int) -> dict[str, Any]:
    """Upload a manifest of ``items`` keys; return the settled execution with its stats."""
    before = {e["executionArn"] for e in cloud.executions()}
    label = f"run-{next(_labels):03d}"
    cloud.upload(f"batches/{profile}/{label}/manifest.json", json.dumps({"items": [f"k{i}" for i in range(items)]}))
    executions = [e for e in cloud.settle(timeout=300) if e["executionArn"] not in before]
    assert len(executions) == 1, executions
    return executions[0]


def _stats(cloud: LocalCloud, profile: str, run_id: str) -> dict[str, Any]:
    body = cloud.client("s3").get_object(Bucket=cloud.bucket, Key=f"batches/{profile}/runs/{run_id}/stats.json")
    stats: dict[str, Any] = json.loads(body["Body"].read())
    return stats


def _profile(cloud: LocalCloud, profile: str) -> dict[str, Any]:
    table = cloud.output("ProfilesTableName")
    item = cloud.client("dynamodb").get_item(TableName=table, Key={"profile": {"S": profile}})["Item"]
    return {k: next(iter(v.values())) for k, v in item.items()}


def _max_vcpus(cloud: LocalCloud) -> int:
    arn = cloud.output("BatchSpotComputeEnvironmentArn")
    environments = cloud.client("batch").describe_compute_environments(computeEnvironments=[arn])
    return int(environments["computeEnvironments"][0]["computeResources"]["maxvCpus"])


def test_a_manifest_upload_runs_an_array_job_and_learns(cloud: LocalCloud) -> None:
    _spec(cloud, "scoring")
    execution = _run(cloud, "scoring", 2000)

    assert execution["status"] == "SUCCEEDED", cloud.describe(execution["executionArn"])
    assert states_entered(cloud, execution["executionArn"]) == HAPPY_STATES
    stats = _stats(cloud, "scoring", execution["name"])
    assert stats["status"] == "SUCCEEDED"
    assert stats["children"] == stats["succeeded"] > 1
    assert stats["failed_indices"] == []
    assert sum(c["items"] for c in stats["child_runs"]) == 2000
    # every child's shard is what the worker would read from AWS_BATCH_JOB_ARRAY_INDEX
    plan = stats["plan"]
    assert stats["shards"]["items_per_child"] == plan["items_per_child"]
    assert _profile(cloud, "scoring")["runs"] == "1"
    (notification,) = cloud.notifications()
    assert "SUCCEEDED" in json.dumps(notification)
    # The run's cost: every child's startedAt..stoppedAt x 16 vCPUs x the queue's price_per_vcpu_hour (the default).
    vcpu_seconds = sum((c["stopped_at_ms"] - c["started_at_ms"]) / 1000 * 16 for c in stats["child_runs"])
    batch = stats["cost"]["stages"]["batch"]
    assert batch["queue"] == plan["queue"]
    assert batch["vcpu_seconds"] == pytest.approx(vcpu_seconds, abs=1e-2)
    assert batch["price_per_vcpu_hour"] == FARGATE_VCPU_HOUR_USD
    assert stats["cost"]["total"] == pytest.approx(vcpu_seconds * FARGATE_VCPU_HOUR_USD / 3600, abs=1e-5)
    assert stats["cost"]["total"] > 0


def test_self_tuning_from_a_prior_ten_times_wrong_reaches_the_target_by_the_third_run(cloud: LocalCloud) -> None:
    _spec(cloud, "tuning", estimate={"per_item_seconds": 10 * TRUE_PER_ITEM, "startup_seconds": STARTUP})
    medians = []
    for _ in range(3):
        execution = _run(cloud, "tuning", 12_000)
        assert execution["status"] == "SUCCEEDED", cloud.describe(execution["executionArn"])
        medians.append(_stats(cloud, "tuning", execution["name"])["median_child_seconds"])
    print("median child seconds per run (target 240):", medians)
    assert abs(medians[0] - 240) > 0.5 * 240  # the prior really was wrong
    assert abs(medians[2] - 240) <= 0.2 * 240
    assert float(_profile(cloud, "tuning")["per_item_seconds"]) == pytest.approx(TRUE_PER_ITEM, rel=0.1)


def test_failed_shards_are_reported_and_retried_alone(cloud: LocalCloud) -> None:
    _spec(cloud, "flaky")
    cloud.faults.jobs.append(JobFault(job="flaky-*:2", reason="Essential container in task exited", times=1))
    execution = _run(cloud, "flaky", 2000)

    assert execution["status"] == "FAILED"
    assert "Notify Shard Failures" in states_entered(cloud, execution["executionArn"])
    stats = _stats(cloud, "flaky", execution["name"])
    assert stats["status"] == "PARTIAL"
    assert stats["failed_indices"] == [2]
    assert stats["retry"] == {"profile": "flaky", "retry_of": execution["name"]}
    (notification,) = cloud.notifications()
    assert "failed shards (1): 2" in json.dumps(notification)

    # retry just that shard: the same items, one (non-array) child
    before = {e["executionArn"] for e in cloud.executions()}
    cloud.client("lambda").invoke(
        FunctionName=cloud.stack.resource("StartBatchFunction"), Payload=json.dumps(stats["retry"]).encode()
    )
    (retry,) = [e for e in cloud.settle(timeout=300) if e["executionArn"] not in before]
    assert retry["status"] == "SUCCEEDED", cloud.describe(retry["executionArn"])
    assert "Submit Single Job" in states_entered(cloud, retry["executionArn"])
    retried = _stats(cloud, "flaky", retry["name"])
    assert [c["index"] for c in retried["child_runs"]] == [2]
    assert retried["child_runs"][0]["items"] == stats["shards"]["items_per_child"]


def test_a_resized_compute_environment_is_restored_after_a_failure(cloud: LocalCloud) -> None:
    original = _max_vcpus(cloud)
    queue = {
        "name": cloud.output("BatchSpotQueueArn"),
        "compute_environment": cloud.output("BatchSpotComputeEnvironmentArn"),
        "max_vcpus": original,
    }
    _spec(cloud, "elastic", queues=[queue], resize={"min_vcpus": 16, "max_vcpus": 4 * original})
    cloud.faults.jobs.append(JobFault(job="elastic-*", reason="OutOfMemoryError: Container killed"))
    execution = _run(cloud, "elastic", 20_000)

    assert execution["status"] == "FAILED"
    entered = states_entered(cloud, execution["executionArn"])
    assert entered.index("Resize Compute Environment") < entered.index("Restore Compute Environment")
    resized = [
        json.loads(e["taskScheduledEventDetails"]["parameters"])
        for e in cloud.history(execution["executionArn"])
        if e["type"] == "TaskScheduled" and "updateComputeEnvironment" in e["taskScheduledEventDetails"]["resource"]
    ]
    assert [r["ComputeResources"]["MaxvCpus"] for r in resized] == [4 * original, original]
    assert _max_vcpus(cloud) == original
    assert _stats(cloud, "elastic", execution["name"])["status"] == "FAILED"


def test_every_state_stays_far_below_the_step_functions_limit_with_a_large_environment(cloud: LocalCloud) -> None:
    """References, not payloads (issue 12): the batch spec's container environment — what SubmitJob's container
    overrides carry, at most 8,192 characters on AWS — is in each state at most once, and no state comes near
    256 KiB (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html)."""
    from tests.local_cloud.test_state_size import STATE_LIMIT, payloads  # noqa: PLC0415 - shared measurement

    # ~6.6 KB of environment: with the MLCP_* variables close to, and within, the 8,192 the preflight allows.
    environment = {f"SETTING_{i:02d}": f"v{i:02d}-" + "x" * 150 for i in range(40)}
    job = {
        "definition": f"{cloud.stack_name}-batch-worker",
        "vcpus": 16,
        "memory_mib": 32768,  # a Fargate pair (16 vCPU: 32-120 GiB)
        "environment": environment,
    }
    _spec(cloud, "bigenv", job=job)

    execution = _run(cloud, "bigenv", 200)

    description = cloud.describe(execution["executionArn"])
    assert execution["status"] == "SUCCEEDED", (description.get("error"), description.get("cause"))
    found = payloads(cloud.history(execution["executionArn"]))
    size, where = max((len(p.encode()), w) for w, p in found)
    print(f"largest state of the batch run: {size} bytes ({where})")
    assert size < STATE_LIMIT // 8, where
    for where, payload in found:
        assert payload.count("SETTING_39") <= 1, f"{where} carries the environment twice"

"""The batch pipeline's handlers against moto: start_batch, plan_batch, collect_batch_stats with the sample events."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from mlcp.aws.batch import BatchAdapter
from mlcp.errors import ArtifactMissing, BatchSpecInvalid, EventInvalid, InputInvalid
from tests.functional.conftest import ACCOUNT, BUCKET, REGION, Cloud, _create_table
from tests.support import ROOT, FakeLambdaContext, load_event, load_handler

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")

BATCH_MACHINE = "mlcp-batch-pipeline"
BATCH_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{BATCH_MACHINE}"
SPEC_KEY = "batches/image-scoring/batch.yaml"
MANIFEST_KEY = "batches/image-scoring/2026-11-27/manifest.json"


@pytest.fixture
def batch_cloud(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> Cloud:
    _create_table(cloud.dynamodb, "ProfilesTable", "mlcp-profiles")
    cloud.sfn.create_state_machine(
        name=BATCH_MACHINE,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/mlcp-states",
    )
    monkeypatch.setenv("PROFILES_TABLE", "mlcp-profiles")
    monkeypatch.setenv("BATCH_STATE_MACHINE_ARN", BATCH_MACHINE_ARN)
    cloud.put(SPEC_KEY, (ROOT / "examples" / "batch" / "batch.yaml").read_bytes())
    cloud.put(MANIFEST_KEY, json.dumps({"items": [f"img/{i}.jpg" for i in range(20_000)]}))
    return cloud


def _invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = load_handler(function).lambda_handler(event, FakeLambdaContext())
    return result


def test_a_manifest_upload_starts_one_execution_under_a_deterministic_name(batch_cloud: Cloud) -> None:
    event = load_event("s3/batch_manifest_uploaded")
    first = _invoke("start_batch", event)
    again = _invoke("start_batch", copy.deepcopy(event))

    assert first["started"] is True
    assert again["run_id"] == first["run_id"]
    assert first["run_id"].startswith("image-scoring-2026-11-27-")
    executions = batch_cloud.sfn.list_executions(stateMachineArn=BATCH_MACHINE_ARN)["executions"]
    assert [e["name"] for e in executions] == [first["run_id"]]
    started = json.loads(batch_cloud.sfn.describe_execution(executionArn=first["execution_arn"])["input"])
    assert started["manifest_uri"] == f"s3://{BUCKET}/{MANIFEST_KEY}"


def test_a_batch_schedule_and_a_retry_request_start_runs(batch_cloud: Cloud) -> None:
    scheduled = _invoke("start_batch", load_event("scheduler/batch_scheduled_run"))
    assert scheduled["run_id"].startswith("image-scoring-20261127T020000Z-")
    retry = _invoke("start_batch", {"profile": "image-scoring", "retry_of": scheduled["run_id"], "indices": [3]})
    assert retry["run_id"].startswith("image-scoring-retry-")
    with pytest.raises(EventInvalid) as bad:
        _invoke("start_batch", {"profile": "image-scoring", "retry_of": "x", "indices": [-1]})
    assert bad.value.errors[0].field == "indices[0]"


def test_an_unrelated_key_is_ignored(batch_cloud: Cloud) -> None:
    """A key the BatchManifestUploaded rule never forwards (a direct invocation): counted, nothing started."""
    event = copy.deepcopy(load_event("s3/batch_manifest_uploaded"))
    event["detail"]["object"]["key"] = "batches/manifest.json"
    result = _invoke("start_batch", event)
    assert (result["status"], result["started"]) == ("ignored", False)


def test_plan_batch_counts_the_manifest_and_writes_the_plan(batch_cloud: Cloud) -> None:
    planned = _invoke("plan_batch", load_event("batch_pipeline/plan_batch"))

    assert planned["shards"]["item_count"] == 20_000
    assert planned["array"] is True
    submit = planned["submit"]
    assert submit["ArrayProperties"]["Size"] == planned["shards"]["children"] > 1
    env = {e["Name"]: e["Value"] for e in submit["ContainerOverrides"]["Environment"]}
    assert env["MLCP_ITEMS_PER_CHILD"] == str(planned["shards"]["items_per_child"])
    assert env["MODEL_URI"].startswith("s3://")
    assert submit["RetryStrategy"]["Attempts"] == 3
    assert submit["Timeout"] == {"AttemptDurationSeconds": 1800}
    key = planned["run_prefix"].removeprefix(f"s3://{BUCKET}/") + "plan.json"
    assert json.loads(batch_cloud.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())["run_id"] == planned["run_id"]


def test_plan_batch_rejects_a_bad_spec_and_a_missing_one(batch_cloud: Cloud) -> None:
    batch_cloud.put(SPEC_KEY, "name: image-scoring\nqueues: []\n")
    with pytest.raises(BatchSpecInvalid) as exc:
        _invoke("plan_batch", load_event("batch_pipeline/plan_batch"))
    assert {e.field for e in exc.value.errors} >= {"items", "job", "queues"}
    batch_cloud.s3.delete_object(Bucket=BUCKET, Key=SPEC_KEY)
    with pytest.raises(ArtifactMissing, match="has no spec"):
        _invoke("plan_batch", load_event("batch_pipeline/plan_batch"))


def test_collect_batch_stats_without_a_job_reports_every_shard_failed(batch_cloud: Cloud) -> None:
    event = copy.deepcopy(load_event("batch_pipeline/collect_batch_stats"))
    event["job"] = None
    event["job_error"] = {"Error": "Batch.ClientException", "Cause": "Job queue does not exist"}
    stats = _invoke("collect_batch_stats", event)

    assert stats["status"] == "FAILED"
    assert stats["failed"] == event["planned"]["shards"]["children"]
    assert stats["retry"] is None
    assert "Batch.ClientException" in stats["message"]


def test_collect_batch_stats_reads_the_job_id_from_a_failure_cause(batch_cloud: Cloud) -> None:
    event = copy.deepcopy(load_event("batch_pipeline/collect_batch_stats"))
    event["job"] = None
    event["job_error"] = {"Error": "States.TaskFailed", "Cause": json.dumps({"JobId": "abc", "Status": "FAILED"})}
    stats = _invoke("collect_batch_stats", event)
    assert stats["job_id"] == "abc"
    assert stats["status"] == "FAILED"  # moto knows no such job: every child unknown, none succeeded


def test_plan_batch_rejects_a_manifest_that_is_not_json(batch_cloud: Cloud) -> None:
    batch_cloud.put(MANIFEST_KEY, "not json")
    with pytest.raises(InputInvalid, match="is not valid JSON"):
        _invoke("plan_batch", load_event("batch_pipeline/plan_batch"))


def test_the_batch_adapter_describes_in_pages_of_100() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.calls: list[int] = []

        def describe_jobs(self, jobs: list[str]) -> dict[str, Any]:
            self.calls.append(len(jobs))
            return {"jobs": [{"jobId": j} for j in jobs if not j.endswith(":7")]}

    recorder = Recorder()
    ids = [f"job:{i}" for i in range(250)]
    described = BatchAdapter(recorder).describe_jobs(ids)
    assert recorder.calls == [100, 100, 50]
    assert [d["jobId"] for d in described] == [i for i in ids if i != "job:7"]

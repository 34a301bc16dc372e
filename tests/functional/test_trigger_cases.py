"""The trigger cases of tests/data/cases/events/ (and their kind), with the real handlers against moto.

Each case file is an S3 EventBridge event as AWS delivers it; its expected behaviour is in the case table
(keys decoded with a fallback to the delivered form, refused keys notified once and recorded, a batch run's own
outputs never start a run, other event types start nothing, every read at the event's version).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from mlcp.aws.dynamodb.table import from_dynamo
from mlcp.aws.s3 import S3ObjectStore
from tests.functional.conftest import ACCOUNT, BUCKET, REGION, STATE_MACHINE_ARN, Cloud
from tests.functional.test_batch_handlers import BATCH_MACHINE_ARN, batch_cloud  # noqa: F401 - the fixture
from tests.functional.test_scaling import POLICY_KEY, POLICY_TEXT, Scaling, scaling  # noqa: F401 - the fixture
from tests.support import FakeLambdaContext, load_event, load_handler

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")

CASES = Path(__file__).resolve().parent.parent / "data" / "cases" / "events"
MANIFEST = json.dumps({"description": "a dataset version"})


def case(name: str, **object_fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((CASES / f"{name}.json").read_text())
    event["detail"]["object"].update(object_fields)
    return event


def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = load_handler(function).lambda_handler(copy.deepcopy(event), FakeLambdaContext())
    return result


def executions(cloud: Cloud, machine: str = STATE_MACHINE_ARN) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = cloud.sfn.list_executions(stateMachineArn=machine)["executions"]
    return found


def execution_input(cloud: Cloud, arn: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(cloud.sfn.describe_execution(executionArn=arn)["input"])
    return data


def pipeline_item(cloud: Cloud, name: str = "churn") -> dict[str, Any]:
    item = cloud.dynamodb.get_item(TableName=cloud.pipelines_table, Key={"name": {"S": name}})["Item"]
    return from_dynamo(item)


# --- manifest-key-form-encoded.json and its kind -------------------------------------------------------------------
@pytest.mark.usefixtures("churn")
def test_form_encoded_key_names_the_decoded_object(cloud: Cloud) -> None:
    key = "datasets/churn/hv space 2026/manifest.json"
    version = cloud.put(key, MANIFEST)

    result = invoke("start_run", case("manifest-key-form-encoded", **{"version-id": version}))

    assert (result["status"], result["started"]) == ("started", True)
    dataset = execution_input(cloud, result["execution_arn"])["dataset"]
    assert dataset["version"] == "hv space 2026"
    assert dataset["manifest_uri"] == f"s3://{BUCKET}/{key}"
    assert dataset["manifest_version_id"] == version
    assert S3ObjectStore().read(dataset["manifest_uri"], dataset["manifest_version_id"]) == MANIFEST.encode()
    record = cloud.run(result["run_id"])
    assert record is not None
    assert record["dataset_object"]["key"] == key


@pytest.mark.usefixtures("churn")
def test_a_key_that_exists_only_as_delivered_still_works(cloud: Cloud) -> None:
    key = "datasets/churn/hv+space+2026/manifest.json"  # the object's key really has plus signs
    version = cloud.put(key, MANIFEST)

    result = invoke("start_run", case("manifest-key-form-encoded", **{"version-id": version}))

    assert result["started"] is True
    dataset = execution_input(cloud, result["execution_arn"])["dataset"]
    assert (dataset["version"], dataset["manifest_uri"]) == ("hv+space+2026", f"s3://{BUCKET}/{key}")


@pytest.mark.usefixtures("churn")
@pytest.mark.parametrize(
    ("stored", "delivered"),
    [
        ("datasets/churn/v:1/manifest.json", "datasets/churn/v%3A1/manifest.json"),
        ("datasets/churn/a+b/manifest.json", "datasets/churn/a%2Bb/manifest.json"),  # a literal plus
        ("datasets/churn/café 1/manifest.json", "datasets/churn/caf%C3%A9+1/manifest.json"),  # UTF-8, space
        ("datasets/churn/100%/manifest.json", "datasets/churn/100%25/manifest.json"),
    ],
)
def test_other_encodings_are_decoded(cloud: Cloud, stored: str, delivered: str) -> None:
    version = cloud.put(stored, MANIFEST)

    result = invoke("start_run", case("manifest-key-form-encoded", key=delivered, **{"version-id": version}))

    assert result["started"] is True
    dataset = execution_input(cloud, result["execution_arn"])["dataset"]
    assert dataset["manifest_uri"] == f"s3://{BUCKET}/{stored}"
    assert dataset["version"] == stored.split("/")[2]


# --- unversioned buckets: "version-id": "null" -----------------------------------------------------------------
@pytest.mark.usefixtures("churn")
def test_null_version_is_unversioned_and_a_reupload_is_a_new_run(cloud: Cloud) -> None:
    key = "datasets/churn/nightly/manifest.json"
    cloud.put(key, MANIFEST)
    first = case("manifest-key-form-encoded", key=key, sequencer="0062E99A88DC407500", **{"version-id": "null"})
    again = case("manifest-key-form-encoded", key=key, sequencer="0062E99A88DC407600", **{"version-id": "null"})

    one = invoke("start_run", first)
    duplicate = invoke("start_run", first)
    two = invoke("start_run", again)

    assert (one["started"], duplicate["started"], two["started"]) == (True, False, True)
    assert one["run_id"] == duplicate["run_id"] != two["run_id"]
    dataset = execution_input(cloud, one["execution_arn"])["dataset"]
    assert "manifest_version_id" not in dataset  # read the current object, not a version named "null"
    record = cloud.run(one["run_id"])
    assert record is not None
    assert record["dataset_object"]["version_id"] is None
    assert record["trigger"]["source"] == f"s3://{BUCKET}/{key}"


# --- manifest-two-versions-{a,b}.json (functional part; the race itself runs in the local cloud) ---------------
@pytest.mark.usefixtures("churn")
def test_each_run_reads_the_manifest_version_of_its_event(cloud: Cloud) -> None:
    key = "datasets/churn/hv-2v/manifest.json"
    version_a = cloud.put(key, json.dumps({"description": "A"}))
    version_b = cloud.put(key, json.dumps({"description": "B"}))

    run_b = invoke("start_run", case("manifest-two-versions-b", **{"version-id": version_b}))
    run_a = invoke("start_run", case("manifest-two-versions-a", **{"version-id": version_a}))

    assert run_a["started"] is True
    assert run_b["started"] is True
    for run, version, body in ((run_a, version_a, "A"), (run_b, version_b, "B")):
        dataset = execution_input(cloud, run["execution_arn"])["dataset"]
        assert dataset["manifest_version_id"] == version
        assert json.loads(S3ObjectStore().read(dataset["manifest_uri"], version))["description"] == body
        record = cloud.run(run["run_id"])
        assert record is not None
        assert record["dataset_object"]["version_id"] == version
    # the late event of the older version does not make it "the latest" (same key: the sequencer decides)
    assert pipeline_item(cloud)["latest_dataset"]["manifest_version_id"] == version_b


@pytest.mark.usefixtures("churn")
def test_latest_dataset_is_decided_by_event_time_not_by_sequencers_of_other_keys(cloud: Cloud) -> None:
    early, late = "datasets/churn/2026-11-20/manifest.json", "datasets/churn/2026-11-27/manifest.json"
    early_event = case("manifest-two-versions-a", key=early, sequencer="FF", **{"version-id": cloud.put(early, "{}")})
    late_event = case("manifest-two-versions-a", key=late, sequencer="00", **{"version-id": cloud.put(late, "{}")})
    early_event["time"], late_event["time"] = "2026-11-20T08:00:00Z", "2026-11-27T08:00:00Z"

    invoke("start_run", late_event)
    invoke("start_run", early_event)  # delivered last, with the greater sequencer: still the earlier upload

    assert pipeline_item(cloud)["latest_dataset"]["version"] == "2026-11-27"


# --- manifest-nested-prefix.json and its kind -----------------------------------------------------------------------
def test_a_nested_manifest_is_refused_notified_once_and_recorded(cloud: Cloud) -> None:
    key = "datasets/churn/2026/11/27/manifest.json"
    cloud.put(key, MANIFEST)
    event = case("manifest-nested-prefix")

    first = invoke("start_run", event)
    again = invoke("start_run", event)  # EventBridge delivers at least once

    assert (first["status"], first["started"]) == ("refused", False)
    assert again["status"] == "refused"
    assert executions(cloud) == []
    notices = cloud.notifications()
    assert len(notices) == 1
    assert key in notices[0]["Message"]
    assert "datasets/<pipeline>/<version>/manifest.json" in notices[0]["Message"]
    refusal = pipeline_item(cloud)["last_refusal"]
    assert refusal["source"] == f"s3://{BUCKET}/{key}?versionId=3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
    assert "one path segment" in refusal["reason"]


@pytest.mark.parametrize(
    ("pipeline", "says"),
    [
        ("fraud", "pipeline 'fraud' is not registered: upload pipelines/fraud/pipeline.yaml first"),
        ("Churn", "'Churn' is not a pipeline name (lower-case letters, digits and single hyphens, 1-40 characters)"),
        ("churn_v2", "'churn_v2' is not a pipeline name"),
        ("p" * 41, f"{'p' * 41!r} is not a pipeline name"),
    ],
)
@pytest.mark.usefixtures("churn")
def test_a_manifest_of_an_unknown_or_invalid_pipeline_is_refused_before_start_execution(
    cloud: Cloud, pipeline: str, says: str
) -> None:
    """Such a key used to start an execution that failed at its first state with PipelineNotFound; now it is a
    recorded, notified refusal (once per upload) and nothing starts, while churn (registered) still would."""
    key = f"datasets/{pipeline}/v1/manifest.json"
    cloud.put(key, MANIFEST)
    event = case("manifest-nested-prefix", key=key)

    first = invoke("start_run", event)
    again = invoke("start_run", event)

    assert (first["status"], first["started"], first["pipeline"]) == ("refused", False, pipeline)
    assert says in first["reason"]
    assert again["status"] == "refused"
    assert executions(cloud) == []
    notices = cloud.notifications()
    assert len(notices) == 1
    assert key in notices[0]["Message"]
    assert says in notices[0]["Message"]
    refusal = pipeline_item(cloud, pipeline)["last_refusal"]
    assert refusal["source"].startswith(f"s3://{BUCKET}/{key}")
    assert says in refusal["reason"]
    assert "latest_dataset" not in pipeline_item(cloud, pipeline)


@pytest.mark.parametrize(
    ("function", "key"),
    [
        ("register_pipeline", "pipelines/team/churn/pipeline.yaml"),
        ("register_scaling_policy", "scaling/ml-inference/team/gpu/policy.yaml"),
    ],
)
def test_other_nested_trigger_keys_are_refused_and_notified(
    scaling: Scaling,  # noqa: F811 - the fixture
    function: str,
    key: str,
) -> None:
    result = invoke(function, case("manifest-nested-prefix", key=key))

    assert result["status"] == "refused"
    notices = scaling.cloud.notifications()
    assert len(notices) == 1
    assert key in notices[0]["Message"]


# --- batch-manifest-under-results.json and its kind ----------------------------------------------------------------
def test_a_manifest_under_a_batch_runs_results_starts_nothing(batch_cloud: Cloud) -> None:  # noqa: F811
    key = "batches/image-scoring/runs/image-scoring-abc/results/manifest.json"
    batch_cloud.put(key, json.dumps({"items": ["a"]}))

    result = invoke("start_batch", case("batch-manifest-under-results"))

    assert (result["status"], result["started"]) == ("ignored", False)
    assert executions(batch_cloud, BATCH_MACHINE_ARN) == []
    assert batch_cloud.notifications() == []


def test_a_nested_batch_label_is_refused_and_notified(batch_cloud: Cloud) -> None:  # noqa: F811
    key = "batches/image-scoring/2026/11/manifest.json"
    event = case("batch-manifest-under-results", key=key)

    result = invoke("start_batch", event)
    invoke("start_batch", event)

    assert result["status"] == "refused"
    assert executions(batch_cloud, BATCH_MACHINE_ARN) == []
    notices = batch_cloud.notifications()
    assert len(notices) == 1
    assert key in notices[0]["Message"]


def test_a_batch_manifest_is_read_at_its_version(batch_cloud: Cloud) -> None:  # noqa: F811
    key = "batches/image-scoring/2026-11-28/manifest.json"
    version = batch_cloud.put(key, json.dumps({"items": ["a", "b", "c"]}))
    batch_cloud.put(key, json.dumps({"items": ["a"]}))  # a newer upload, whose event is still to come

    started = invoke("start_batch", case("batch-manifest-under-results", key=key, **{"version-id": version}))
    payload = execution_input(batch_cloud, started["execution_arn"])
    planned = invoke("plan_batch", {"input": payload, "execution_arn": started["execution_arn"]})

    assert payload["manifest_version_id"] == version
    assert planned["shards"]["item_count"] == 3
    assert planned["shards"]["manifest_version_id"] == version


# --- other event types and other state machines -------------------------------------------------------------------
@pytest.mark.parametrize("detail_type", ["Object Deleted", "Object Restore Completed"])
@pytest.mark.parametrize(
    ("function", "key"),
    [
        ("start_run", "datasets/churn/v1/manifest.json"),
        ("register_pipeline", "pipelines/churn/pipeline.yaml"),
        ("start_batch", "batches/image-scoring/v1/manifest.json"),
        ("register_scaling_policy", "scaling/ml-inference/gpu/policy.yaml"),
    ],
)
def test_other_s3_event_types_start_nothing(
    batch_cloud: Cloud,  # noqa: F811
    scaling: Scaling,  # noqa: F811
    function: str,
    key: str,
    detail_type: str,
) -> None:
    event = case("manifest-nested-prefix", key=key)
    event["detail-type"] = detail_type
    event["detail"]["reason"] = "DeleteObject"

    result = invoke(function, event)

    assert result["status"] == "ignored"
    assert executions(batch_cloud) == []
    assert executions(batch_cloud, BATCH_MACHINE_ARN) == []
    assert batch_cloud.notifications() == []


def test_the_recorder_ignores_other_state_machines(cloud: Cloud) -> None:
    event = copy.deepcopy(load_event("stepfunctions/execution_succeeded"))
    other = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:someone-elses-machine"
    event["detail"]["stateMachineArn"] = other
    event["detail"]["executionArn"] = other.replace(":stateMachine:", ":execution:") + ":x"

    result = invoke("record_execution", event)

    assert (result["status"], result["changed"]) == ("ignored", False)
    assert cloud.run(event["detail"]["name"]) is None


# --- scaling policies: a late re-delivery of an older upload (issue 18) --------------------------------------------
def test_a_late_older_policy_upload_does_not_revert_the_registered_one(scaling: Scaling) -> None:  # noqa: F811
    older = scaling.cloud.put(POLICY_KEY, POLICY_TEXT)
    step = re.search(r"max_step: (\d+)", POLICY_TEXT)
    assert step is not None
    assert step.group(1) != "6"
    newer = scaling.cloud.put(POLICY_KEY, POLICY_TEXT.replace(step.group(0), "max_step: 6", 1))
    sample = load_event("s3/scaling_policy_uploaded")

    def event(version: str, sequencer: str) -> dict[str, Any]:
        upload = copy.deepcopy(sample)
        upload["detail"]["object"].update({"key": POLICY_KEY, "version-id": version, "sequencer": sequencer})
        return upload

    registered = invoke("register_scaling_policy", event(newer, "0062E99A88DC407480"))
    late = invoke("register_scaling_policy", event(older, "0062E99A88DC407470"))

    assert (registered["status"], late["status"]) == ("registered", "stale")
    item = scaling.cloud.dynamodb.get_item(
        TableName="mlcp-scaling-policies", Key={"key": {"S": "policy#ml-inference/gpu"}}
    )["Item"]
    stored = from_dynamo(item)
    assert stored["policy_version"] == newer
    assert json.loads(stored["policy_json"])["max_step"] == 6

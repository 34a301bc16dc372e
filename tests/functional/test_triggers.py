"""Trigger handlers against moto: register_pipeline (spec uploads) and start_run (manifests, schedules)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from mlcp.aws.dynamodb.table import from_dynamo
from mlcp.errors import EventInvalid
from tests.functional.conftest import BUCKET, STATE_MACHINE_ARN, Cloud
from tests.support import ROOT, FakeLambdaContext, example_spec_text, load_event, load_handler

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")

SPEC_KEY = "pipelines/churn/pipeline.yaml"
MANIFEST_KEY = "datasets/churn/2026-11-27/manifest.json"
SAMPLE_ETAG = "b1946ac92492d2347c6235b4d2611184"  # the sample events' ETag
MANIFEST = json.dumps({"description": "churn export of 2026-11-27"})


def s3_event(sample: str, key: str, version_id: str, sequencer: str) -> dict[str, Any]:
    """A sample "Object Created" event pointed at a real object version."""
    event = copy.deepcopy(load_event(sample))
    event["detail"]["object"].update({"key": key, "version-id": version_id, "sequencer": sequencer})
    return event


def register(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = load_handler("register_pipeline").lambda_handler(event, FakeLambdaContext())
    return result


def start(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = load_handler("start_run").lambda_handler(event, FakeLambdaContext())
    return result


def pipeline_item(cloud: Cloud, name: str = "churn") -> dict[str, Any] | None:
    response = cloud.dynamodb.get_item(TableName=cloud.pipelines_table, Key={"name": {"S": name}}, ConsistentRead=True)
    item = response.get("Item")
    return from_dynamo(item) if item is not None else None


def executions(cloud: Cloud) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = cloud.sfn.list_executions(stateMachineArn=STATE_MACHINE_ARN)["executions"]
    return found


def execution_input(cloud: Cloud, arn: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(cloud.sfn.describe_execution(executionArn=arn)["input"])
    return data


def spec_with(old: str, new: str) -> str:
    text = example_spec_text()
    assert old in text, old
    return text.replace(old, new, 1)


# --- register_pipeline ---------------------------------------------------------------------------------------
def test_valid_upload_registers_the_spec(cloud: Cloud) -> None:
    version = cloud.put(SPEC_KEY, example_spec_text())

    result = register(s3_event("s3/pipeline_uploaded", SPEC_KEY, version, "0062E99A88DC407460"))

    assert result["status"] == "registered"
    assert result["pipeline"] == "churn"
    assert result["source"] == f"s3://{BUCKET}/{SPEC_KEY}?versionId={version}"
    item = pipeline_item(cloud)
    assert item is not None
    spec = json.loads(item["spec_json"])
    assert spec["name"] == "churn"
    assert spec["tuning"]["max_jobs"] == 12
    assert spec["registry"]["model_package_group"] == "churn-models"
    assert item["spec_version"] == version
    assert cloud.notifications() == []


@pytest.mark.parametrize(
    ("bad_text", "field"),
    [
        (spec_with("max_parallel_jobs: 3", "max_parallel_jobs: 20"), "tuning.max_parallel_jobs"),
        (spec_with("  max_jobs: 12\n", "  max_jobs: [12\n"), ""),
    ],
    ids=["parallel-exceeds-max-jobs", "yaml-syntax-error"],
)
def test_invalid_upload_is_rejected_and_keeps_the_registered_version(cloud: Cloud, bad_text: str, field: str) -> None:
    good = cloud.put(SPEC_KEY, example_spec_text())
    assert register(s3_event("s3/pipeline_uploaded", SPEC_KEY, good, "0062E99A88DC407460"))["status"] == "registered"
    bad = cloud.put(SPEC_KEY, bad_text)

    result = register(s3_event("s3/pipeline_uploaded", SPEC_KEY, bad, "0062E99A88DC407470"))

    assert result["status"] == "rejected"
    assert [e["field"] for e in result["errors"]] == [field]
    notes = cloud.notifications()
    assert len(notes) == 1
    assert "rejected" in notes[0]["Subject"]
    assert f"s3://{BUCKET}/{SPEC_KEY}?versionId={bad}" in notes[0]["Message"]
    if field:
        assert f"  - {field}: must not exceed max_jobs (12)" in notes[0]["Message"]
    else:
        assert "not valid YAML/JSON at line" in notes[0]["Message"]
    assert notes[0]["MessageAttributes"]["event"]["Value"] == "spec_rejected"
    assert notes[0]["MessageAttributes"]["pipeline"]["Value"] == "churn"
    item = pipeline_item(cloud)
    assert item is not None
    assert item["spec_version"] == good
    assert json.loads(item["spec_json"])["tuning"]["max_parallel_jobs"] == 3
    assert item["last_rejection"]["errors"] == result["errors"]
    head = cloud.s3.head_object(Bucket=BUCKET, Key=SPEC_KEY)
    assert head["VersionId"] == bad  # the rejected upload is not deleted: the user fixes it and uploads again


def test_a_script_mode_spec_uploaded_straight_to_s3_is_refused_until_packaged(cloud: Cloud) -> None:
    """GIVEN tests/data/script_mode/pipeline.yaml uploaded as written (local source_dir, no image_uri)
    THEN rejected field by field, the notification naming `mlcp spec package`."""
    key = "pipelines/script-mode/pipeline.yaml"
    text = (ROOT / "tests" / "data" / "script_mode" / "pipeline.yaml").read_text()
    version = cloud.put(key, text)

    result = register(s3_event("s3/pipeline_uploaded", key, version, "0062E99A88DC407460"))

    assert result["status"] == "rejected"
    fields = [e["field"] for e in result["errors"]]
    assert "tuning.training.source_dir" in fields
    assert "compression.image_uri" in fields
    [note] = cloud.notifications()
    assert "mlcp spec package FILE --region REGION --artifact-bucket BUCKET" in note["Message"]


@pytest.mark.parametrize(
    ("extra", "field", "says"),
    [
        (
            "role_arn: arn:aws:iam::123456789012:role/team-sagemaker-role\n",
            "role_arn",
            "ExtraSageMakerExecutionRoleArns",
        ),
        ("output: {s3_prefix: 's3://other-team-results/churn/'}\n", "output.s3_prefix", "DataBucketNames"),
    ],
    ids=["role-outside-the-stacks-reach", "bucket-outside-the-stacks-reach"],
)
def test_upload_the_preflight_refuses_is_rejected_naming_the_field(
    cloud: Cloud, extra: str, field: str, says: str
) -> None:
    """GIVEN a spec whose role or bucket the stack cannot reach THEN the registration handler rejects it (the
    preflight) and the notification names the field; the message names the template parameter to set."""
    version = cloud.put(SPEC_KEY, spec_with("name: churn\n", "name: churn\n" + extra))

    result = register(s3_event("s3/pipeline_uploaded", SPEC_KEY, version, "0062E99A88DC407460"))

    assert result["status"] == "rejected"
    assert [e["field"] for e in result["errors"]] == [field]
    assert says in result["errors"][0]["message"]
    assert f"  - {field}: " in cloud.notifications()[0]["Message"]


@pytest.mark.parametrize(
    ("image", "allowed"),
    [
        ("999999999999.dkr.ecr.us-east-1.amazonaws.com/churn-train:1.4", False),
        ("public.ecr.aws/someone/churn-train:1.4", False),
        ("763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3.0-cpu-py311-ubuntu20.04-sagemaker", True),
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3", True),
    ],
    ids=["another-account", "public-ecr", "sagemaker-pytorch", "sagemaker-sklearn"],
)
def test_training_images_outside_the_allowed_registries_are_rejected_naming_the_parameter(
    cloud: Cloud, image: str, allowed: bool
) -> None:
    """GIVEN a spec whose training image comes from a registry the operator did not grant THEN the registration is
    rejected on tuning.training.image_uri naming ExtraImageRegistries; SageMaker's own images register."""
    own = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-train:1.4"
    version = cloud.put(SPEC_KEY, spec_with(own, image))

    result = register(s3_event("s3/pipeline_uploaded", SPEC_KEY, version, "0062E99A88DC407460"))

    if allowed:
        assert result["status"] == "registered", result
        return
    assert result["status"] == "rejected"
    assert [e["field"] for e in result["errors"]] == ["tuning.training.image_uri"]
    assert "ExtraImageRegistries" in result["errors"][0]["message"]


def test_spec_whose_name_differs_from_the_key_is_rejected(cloud: Cloud) -> None:
    key = "pipelines/attrition/pipeline.yaml"
    version = cloud.put(key, example_spec_text())

    result = register(s3_event("s3/pipeline_uploaded", key, version, "0062E99A88DC407460"))

    assert result["status"] == "rejected"
    assert result["pipeline"] == "attrition"
    assert [e["field"] for e in result["errors"]] == ["name"]
    notes = cloud.notifications()
    assert len(notes) == 1
    assert "  - name: is 'churn' but the object key names 'attrition'" in notes[0]["Message"]
    item = pipeline_item(cloud, "attrition")
    assert item is not None
    assert "spec_json" not in item
    assert pipeline_item(cloud, "churn") is None


def test_older_upload_delivered_late_does_not_overwrite_the_newer(cloud: Cloud) -> None:
    older = cloud.put(SPEC_KEY, spec_with("max_jobs: 12", "max_jobs: 10"))
    newer = cloud.put(SPEC_KEY, spec_with("max_jobs: 12", "max_jobs: 20"))

    first = register(s3_event("s3/pipeline_uploaded", SPEC_KEY, newer, "0062E99A88DC407480"))
    late = register(s3_event("s3/pipeline_uploaded", SPEC_KEY, older, "0062E99A88DC407470"))

    assert first["status"] == "registered"
    assert late["status"] == "stale"
    item = pipeline_item(cloud)
    assert item is not None
    assert item["spec_version"] == newer
    assert json.loads(item["spec_json"])["tuning"]["max_jobs"] == 20
    assert cloud.notifications() == []


def test_register_event_for_another_key_is_ignored(cloud: Cloud) -> None:
    """A key the PipelineSpecUploaded rule never forwards (a direct invocation): counted, nothing registered."""
    version = cloud.put("pipelines/churn/readme.txt", "hello")

    result = register(s3_event("s3/pipeline_uploaded", "pipelines/churn/readme.txt", version, "0062E99A88DC407460"))

    assert result["status"] == "ignored"
    assert pipeline_item(cloud) is None
    assert cloud.notifications() == []


# --- start_run: dataset manifests ----------------------------------------------------------------------------
@pytest.mark.usefixtures("churn")
def test_manifest_upload_starts_one_run(cloud: Cloud) -> None:
    version = cloud.put(MANIFEST_KEY, MANIFEST)

    result = start(s3_event("s3/manifest_uploaded", MANIFEST_KEY, version, "0062E99A88DC407462"))

    assert result["started"] is True
    assert result["pipeline"] == "churn"
    runs = executions(cloud)
    assert len(runs) == 1
    assert runs[0]["name"] == result["run_id"]
    assert runs[0]["executionArn"] == result["execution_arn"]
    assert execution_input(cloud, result["execution_arn"]) == {
        "run_id": result["run_id"],
        "pipeline": "churn",
        "dataset": {
            "name": "churn",
            "version": "2026-11-27",
            "manifest_uri": f"s3://{BUCKET}/{MANIFEST_KEY}",
            "manifest_version_id": version,
            "manifest_etag": SAMPLE_ETAG,
        },
        "trigger": {"type": "s3", "source": f"s3://{BUCKET}/{MANIFEST_KEY}?versionId={version}"},
    }
    record = cloud.run(result["run_id"])
    assert record is not None
    assert record["status"] in ("PENDING", "RUNNING")
    assert record["pipeline"] == "churn"
    assert record["dataset_version"] == "2026-11-27"
    assert record["trigger"] == {"type": "s3", "source": f"s3://{BUCKET}/{MANIFEST_KEY}?versionId={version}"}
    assert record["execution_arn"] == result["execution_arn"]
    assert record["dataset_object"] == {
        "bucket": BUCKET,
        "key": MANIFEST_KEY,
        "version_id": version,
        "etag": SAMPLE_ETAG,
    }
    assert "start_recorded_at" in record
    item = pipeline_item(cloud)
    assert item is not None
    assert item["latest_dataset"]["version"] == "2026-11-27"


@pytest.mark.usefixtures("churn")
def test_same_manifest_event_delivered_five_times_starts_one_run(cloud: Cloud) -> None:
    version = cloud.put(MANIFEST_KEY, MANIFEST)
    event = s3_event("s3/manifest_uploaded", MANIFEST_KEY, version, "0062E99A88DC407462")

    results = [start(copy.deepcopy(event)) for _ in range(5)]

    assert [r["started"] for r in results] == [True, False, False, False, False]
    assert len({r["run_id"] for r in results}) == 1
    assert len({r["execution_arn"] for r in results}) == 1
    assert len(executions(cloud)) == 1


@pytest.mark.usefixtures("churn")
def test_new_manifest_version_starts_a_second_run(cloud: Cloud) -> None:
    first_version = cloud.put(MANIFEST_KEY, MANIFEST)
    first = start(s3_event("s3/manifest_uploaded", MANIFEST_KEY, first_version, "0062E99A88DC407462"))
    second_version = cloud.put(MANIFEST_KEY, json.dumps({"description": "re-exported"}))

    second = start(s3_event("s3/manifest_uploaded", MANIFEST_KEY, second_version, "0062E99A88DC407490"))

    assert first["started"] is True
    assert second["started"] is True
    assert first["run_id"] != second["run_id"]
    assert sorted(e["name"] for e in executions(cloud)) == sorted([first["run_id"], second["run_id"]])
    record = cloud.run(second["run_id"])
    assert record is not None
    assert record["trigger"]["source"].endswith(f"?versionId={second_version}")


# --- start_run: schedules ------------------------------------------------------------------------------------
@pytest.mark.usefixtures("churn")
def test_schedule_starts_a_run_on_the_latest_dataset_version(cloud: Cloud) -> None:
    old_key = "datasets/churn/2026-11-20/manifest.json"
    start(s3_event("s3/manifest_uploaded", old_key, cloud.put(old_key, MANIFEST), "0062E99A88DC407400"))
    version = cloud.put(MANIFEST_KEY, MANIFEST)
    start(s3_event("s3/manifest_uploaded", MANIFEST_KEY, version, "0062E99A88DC407462"))
    schedule = load_event("scheduler/scheduled_run")

    result = start(schedule)

    assert result["started"] is True
    assert len(executions(cloud)) == 3
    payload = execution_input(cloud, result["execution_arn"])
    assert payload["dataset"] == {
        "name": "churn",
        "version": "2026-11-27",
        "manifest_uri": f"s3://{BUCKET}/{MANIFEST_KEY}",
        "manifest_version_id": version,  # the schedule's run reads the version that made it the latest
        "manifest_etag": SAMPLE_ETAG,
    }
    assert payload["trigger"] == {"type": "schedule", "source": f"{schedule['schedule_arn']}@20261127T060000Z"}
    record = cloud.run(result["run_id"])
    assert record is not None
    assert record["status"] in ("PENDING", "RUNNING")
    assert record["dataset_version"] == "2026-11-27"
    assert record["trigger"]["type"] == "schedule"


@pytest.mark.usefixtures("churn")
def test_same_scheduled_time_twice_starts_one_run(cloud: Cloud) -> None:
    version = cloud.put(MANIFEST_KEY, MANIFEST)
    start(s3_event("s3/manifest_uploaded", MANIFEST_KEY, version, "0062E99A88DC407462"))
    schedule = load_event("scheduler/scheduled_run")

    first = start(copy.deepcopy(schedule))
    second = start(copy.deepcopy(schedule))

    assert first["started"] is True
    assert second["started"] is False
    assert first["run_id"] == second["run_id"]
    assert len([e for e in executions(cloud) if e["name"] == first["run_id"]]) == 1
    assert len(executions(cloud)) == 2  # the manifest's run and the scheduled one


@pytest.mark.usefixtures("churn")
def test_next_scheduled_time_starts_another_run(cloud: Cloud) -> None:
    version = cloud.put(MANIFEST_KEY, MANIFEST)
    start(s3_event("s3/manifest_uploaded", MANIFEST_KEY, version, "0062E99A88DC407462"))
    schedule = load_event("scheduler/scheduled_run")
    tomorrow = {**schedule, "scheduled_time": "2026-11-28T06:00:00Z"}

    first = start(schedule)
    second = start(tomorrow)

    assert first["started"] is True
    assert second["started"] is True
    assert first["run_id"] != second["run_id"]
    assert len(executions(cloud)) == 3


# --- start_run: malformed events -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({**load_event("scheduler/scheduled_run"), "scheduled_time": "tomorrow morning"}, "scheduled_time"),
        ({k: v for k, v in load_event("scheduler/scheduled_run").items() if k != "pipeline"}, "pipeline"),
        ({k: v for k, v in load_event("s3/manifest_uploaded").items() if k != "detail"}, "detail"),
        ({"hello": "world"}, "detail"),
    ],
    ids=["schedule-bad-time", "schedule-no-pipeline", "s3-no-detail", "unknown-shape"],
)
def test_malformed_event_raises_event_invalid(cloud: Cloud, event: dict[str, Any], field: str) -> None:
    with pytest.raises(EventInvalid) as caught:
        start(event)

    assert field in [e.field for e in caught.value.errors]
    assert executions(cloud) == []


def test_manifest_event_for_another_key_is_ignored(cloud: Cloud) -> None:
    """A key the DatasetManifestUploaded rule never forwards (a direct invocation): counted, nothing started."""
    key = "datasets/churn/2026-11-27/train/part-0.csv"
    version = cloud.put(key, "a,b\n1,2\n")

    result = start(s3_event("s3/manifest_uploaded", key, version, "0062E99A88DC407462"))

    assert (result["status"], result["started"]) == ("ignored", False)
    assert executions(cloud) == []
    assert cloud.notifications() == []


@pytest.mark.usefixtures("churn")
def test_a_failed_start_leaves_no_orphan_pending_run_and_the_retry_starts_it(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18: the run record used to be written before StartExecution and stayed PENDING when the start failed."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - only this test needs it

    from mlcp.aws.sfn import StepFunctionsExecutions  # noqa: PLC0415

    version = cloud.put(MANIFEST_KEY, MANIFEST)
    event = s3_event("s3/manifest_uploaded", MANIFEST_KEY, version, "0062E99A88DC407462")
    original = StepFunctionsExecutions.start

    def throttled(*args: Any, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "StartExecution")

    monkeypatch.setattr(StepFunctionsExecutions, "start", throttled)
    with pytest.raises(ClientError):
        start(copy.deepcopy(event))
    assert executions(cloud) == []
    runs = cloud.dynamodb.scan(TableName=cloud.runs_table)["Items"]
    assert runs == [], "a failed StartExecution left a run record behind"

    monkeypatch.setattr(StepFunctionsExecutions, "start", original)  # Lambda's async retry of the same event
    result = start(copy.deepcopy(event))
    assert result["started"] is True
    record = cloud.run(result["run_id"])
    assert record is not None
    assert record["execution_arn"] == result["execution_arn"]

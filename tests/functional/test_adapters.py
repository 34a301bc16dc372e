"""The boto3 adapters (mlcp.aws) directly against moto."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from mlcp.aws.dynamodb.batch import DynamoProfileStore
from mlcp.aws.dynamodb.table import order_key
from mlcp.aws.dynamodb.training import DynamoPipelineStore, DynamoRunStore
from mlcp.aws.s3 import S3ObjectStore
from mlcp.aws.sagemaker import SageMakerAdapter
from mlcp.aws.sfn import StepFunctionsExecutions
from mlcp.aws.sns import SnsNotifier
from mlcp.errors import ArtifactMissing
from mlcp.training.payloads import DatasetRef, RunStatus
from tests.functional.conftest import ACCOUNT, BUCKET, REGION, STATE_MACHINE_ARN, Cloud, _create_table

AT = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 27, 8, 42, tzinfo=UTC)


def runs_store(cloud: Cloud) -> DynamoRunStore:
    return DynamoRunStore(cloud.runs_table, cloud.dynamodb)


def pipelines_store(cloud: Cloud) -> DynamoPipelineStore:
    return DynamoPipelineStore(cloud.pipelines_table, cloud.dynamodb)


def dataset(version: str) -> DatasetRef:
    return DatasetRef(
        name="churn", version=version, manifest_uri=f"s3://{BUCKET}/datasets/churn/{version}/manifest.json"
    )


# --- S3 ------------------------------------------------------------------------------------------------------
def test_s3_read_and_size(cloud: Cloud) -> None:
    first = cloud.put("runs/churn/model.tar.gz", b"x" * 1234)
    cloud.put("runs/churn/model.tar.gz", b"y" * 10)
    store = S3ObjectStore(cloud.s3)

    assert store.read(f"s3://{BUCKET}/runs/churn/model.tar.gz") == b"y" * 10
    assert store.read(f"s3://{BUCKET}/runs/churn/model.tar.gz", first) == b"x" * 1234
    assert store.size(f"s3://{BUCKET}/runs/churn/model.tar.gz") == 10


@pytest.mark.parametrize(
    "uri",
    [f"s3://{BUCKET}/runs/churn/missing.tar.gz", "s3://mlcp-no-such-bucket-123/runs/churn/model.tar.gz"],
    ids=["missing-key", "missing-bucket"],
)
def test_s3_missing_object_is_artifact_missing(cloud: Cloud, uri: str) -> None:
    store = S3ObjectStore(cloud.s3)

    with pytest.raises(ArtifactMissing, match=re.escape(uri)):
        store.read(uri)
    with pytest.raises(ArtifactMissing, match=re.escape(uri)):
        store.size(uri)


def test_s3_rejects_a_uri_that_is_not_s3(cloud: Cloud) -> None:
    with pytest.raises(ValueError, match="not an s3:// URI"):
        S3ObjectStore(cloud.s3).read(f"https://{BUCKET}.s3.amazonaws.com/key")


# --- DynamoDB: runs ------------------------------------------------------------------------------------------
def test_run_create_only_once(cloud: Cloud) -> None:
    store = runs_store(cloud)

    assert store.create("run-1", {"pipeline": "churn", "status": "PENDING", "dataset_version": None}) is True
    assert store.create("run-1", {"pipeline": "other", "status": "RUNNING"}) is False

    item = store.get("run-1")
    assert item == {"run_id": "run-1", "pipeline": "churn", "status": "PENDING", "stages": {}}


def test_run_update_merges_stage_fields_and_returns_nested_stages(cloud: Cloud) -> None:
    store = runs_store(cloud)
    store.create("run-1", {"pipeline": "churn", "status": "RUNNING"})
    store.update(
        "run-1",
        {"spec_version": "v1"},
        {
            "validate": {"status": "SUCCEEDED", "started_at": "t0", "ended_at": "t1"},
            "tune": {"status": "RUNNING", "started_at": "t1", "job_name": "hpo-1"},
        },
    )

    returned = store.update("run-1", {"trials": {"Completed": 3}}, {"tune": {"status": "SUCCEEDED", "ended_at": "t2"}})

    expected_stages = {
        "validate": {"status": "SUCCEEDED", "started_at": "t0", "ended_at": "t1"},
        "tune": {"status": "SUCCEEDED", "started_at": "t1", "ended_at": "t2", "job_name": "hpo-1"},
    }
    assert returned["stages"] == expected_stages
    assert returned["spec_version"] == "v1"
    assert returned["trials"] == {"Completed": 3}
    assert returned["status"] == "RUNNING"
    item = store.get("run-1")
    assert item is not None
    assert item["stages"] == expected_stages
    assert not any(key.startswith("stage_") for key in item)


def test_run_set_status_never_leaves_a_terminal_status(cloud: Cloud) -> None:
    store = runs_store(cloud)
    store.create("run-1", {"pipeline": "churn", "status": "PENDING"})

    assert store.set_status("run-1", RunStatus.RUNNING, AT, {"execution_arn": "arn:1"}) is True
    assert store.set_status("run-1", RunStatus.SUCCEEDED, LATER) is True
    assert store.set_status("run-1", RunStatus.RUNNING, LATER) is False
    assert store.set_status("run-1", RunStatus.FAILED, LATER, {"failure": {"reason": "late"}}) is False
    assert store.set_status("run-1", RunStatus.SUCCEEDED, LATER) is False

    item = store.get("run-1")
    assert item is not None
    assert item["status"] == "SUCCEEDED"
    assert item["started_at"] == "2026-11-27T08:00:00Z"
    assert item["ended_at"] == "2026-11-27T08:42:00Z"
    assert item["execution_arn"] == "arn:1"
    assert "failure" not in item


@pytest.mark.parametrize("terminal", [RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.ABORTED])
def test_run_every_terminal_status_is_final(cloud: Cloud, terminal: RunStatus) -> None:
    store = runs_store(cloud)
    assert store.set_status("run-1", terminal, AT) is True

    assert store.set_status("run-1", RunStatus.SUCCEEDED, LATER) is False

    item = store.get("run-1")
    assert item is not None
    assert item["status"] == terminal.value


def test_run_mark_started_once(cloud: Cloud) -> None:
    store = runs_store(cloud)
    store.create("run-1", {"pipeline": "churn", "status": "PENDING"})

    assert store.mark_started("run-1", "arn:1") is True
    assert store.mark_started("run-1", "arn:2") is False

    item = store.get("run-1")
    assert item is not None
    assert item["execution_arn"] == "arn:1"


def test_run_floats_round_trip(cloud: Cloud) -> None:
    store = runs_store(cloud)
    best = {"objective_value": 0.9123, "tiny": 1e-07, "negative": -0.5, "whole": 412.0, "count": 7}

    store.update("run-1", {"best": best, "size_reduction": 0.75}, {"gate": {"score": 0.1}})

    item = store.get("run-1")
    assert item is not None
    assert item["best"] == best
    assert isinstance(item["best"]["objective_value"], float)
    assert item["size_reduction"] == 0.75
    assert item["stages"]["gate"]["score"] == 0.1
    assert store.get("run-2") is None


# --- DynamoDB: pipelines -------------------------------------------------------------------------------------
def test_order_key_right_pads_and_uppercases() -> None:
    assert order_key("0062e99a88dc4074") == "0062E99A88DC4074" + "0" * 16
    assert order_key("0062E99A88DC407460") == "0062E99A88DC407460" + "0" * 14
    assert order_key("") == ""


def test_put_spec_keeps_the_newest_by_sequencer(cloud: Cloud) -> None:
    store = pipelines_store(cloud)

    assert store.put_spec("churn", {"max_jobs": 20}, "v2", "s3://b/p?versionId=v2", "0062E99A88DC407480") is True
    assert store.put_spec("churn", {"max_jobs": 10}, "v1", "s3://b/p?versionId=v1", "0062E99A88DC407470") is False
    assert store.get_spec("churn") == ({"max_jobs": 20}, "v2")

    assert store.put_spec("churn", {"max_jobs": 30}, "v3", "s3://b/p?versionId=v3", "0062E99A88DC4074A0") is True
    assert store.get_spec("churn") == ({"max_jobs": 30}, "v3")


def test_put_spec_compares_sequencers_of_different_lengths_right_padded(cloud: Cloud) -> None:
    store = pipelines_store(cloud)
    assert store.put_spec("churn", {"v": 1}, "v1", "src", "0062E99A88DC407460") is True

    # "0062E99A88DC4074" + zeros sorts before "0062E99A88DC407460": an older event.
    assert store.put_spec("churn", {"v": 0}, "v0", "src", "0062E99A88DC4074") is False
    # Equal once padded ("...4600" vs "...46"): the same upload delivered again is stored again, harmlessly.
    assert store.put_spec("churn", {"v": 1}, "v1", "src", "0062E99A88DC40746000") is True
    # Lower-case hex compares like upper-case.
    assert store.put_spec("churn", {"v": 2}, "v2", "src", "0062e99a88dc4074f0") is True

    assert store.get_spec("churn") == ({"v": 2}, "v2")
    item = cloud.dynamodb.get_item(TableName=cloud.pipelines_table, Key={"name": {"S": "churn"}})["Item"]
    assert item["spec_order"]["S"] == order_key("0062e99a88dc4074f0")


def test_rejection_does_not_touch_the_registered_spec(cloud: Cloud) -> None:
    store = pipelines_store(cloud)
    store.put_spec("churn", {"max_jobs": 12}, "v1", "src", "0062E99A88DC407460")

    store.record_rejection("churn", "s3://b/p?versionId=v2", [{"field": "name", "message": "bad"}], AT)

    assert store.get_spec("churn") == ({"max_jobs": 12}, "v1")
    item = cloud.dynamodb.get_item(TableName=cloud.pipelines_table, Key={"name": {"S": "churn"}})["Item"]
    rejection = item["last_rejection"]["M"]
    assert rejection["source"]["S"] == "s3://b/p?versionId=v2"
    assert rejection["at"]["S"] == "2026-11-27T08:00:00Z"


def test_get_spec_of_an_unknown_pipeline(cloud: Cloud) -> None:
    store = pipelines_store(cloud)
    store.set_latest_dataset("churn", dataset("2026-11-27"), "0062E99A88DC407460")

    assert store.get_spec("churn") is None
    assert store.get_spec("other") is None


def test_latest_dataset_keeps_the_newest_by_sequencer(cloud: Cloud) -> None:
    store = pipelines_store(cloud)
    assert store.latest_dataset("churn") is None

    store.set_latest_dataset("churn", dataset("2026-11-27"), "0062E99A88DC407462")
    store.set_latest_dataset("churn", dataset("2026-11-20"), "0062E99A88DC407400")

    assert store.latest_dataset("churn") == dataset("2026-11-27")
    store.set_latest_dataset("churn", dataset("2026-11-28"), "0062E99A88DC4074F0")
    assert store.latest_dataset("churn") == dataset("2026-11-28")
    assert store.latest_dataset("other") is None


def test_spec_and_dataset_orders_are_independent(cloud: Cloud) -> None:
    store = pipelines_store(cloud)
    store.set_latest_dataset("churn", dataset("2026-11-27"), "0062E99A88DC4074F0")

    assert store.put_spec("churn", {"v": 1}, "v1", "src", "0062E99A88DC407400") is True
    assert store.latest_dataset("churn") == dataset("2026-11-27")


# --- Step Functions ------------------------------------------------------------------------------------------
def test_start_execution_once_per_name(cloud: Cloud) -> None:
    executions = StepFunctionsExecutions(cloud.sfn)
    expected_arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:mlcp-training-pipeline:run-1"

    started = executions.start(STATE_MACHINE_ARN, "run-1", {"run_id": "run-1", "pipeline": "churn"})
    same_input = executions.start(STATE_MACHINE_ARN, "run-1", {"pipeline": "churn", "run_id": "run-1"})
    other_input = executions.start(STATE_MACHINE_ARN, "run-1", {"run_id": "run-1", "pipeline": "other"})

    assert started == (expected_arn, True)
    assert same_input == (expected_arn, True)  # StartExecution is idempotent for a running same-input execution
    assert other_input == (expected_arn, False)
    listed = cloud.sfn.list_executions(stateMachineArn=STATE_MACHINE_ARN)["executions"]
    assert [e["executionArn"] for e in listed] == [expected_arn]
    described = cloud.sfn.describe_execution(executionArn=expected_arn)
    assert json.loads(described["input"]) == {"pipeline": "churn", "run_id": "run-1"}


def test_start_execution_of_a_closed_name_is_not_accepted(cloud: Cloud) -> None:
    executions = StepFunctionsExecutions(cloud.sfn)
    arn, _ = executions.start(STATE_MACHINE_ARN, "run-1", {"run_id": "run-1"})
    cloud.sfn.stop_execution(executionArn=arn)

    assert executions.start(STATE_MACHINE_ARN, "run-1", {"run_id": "run-1"}) == (arn, False)
    assert len(cloud.sfn.list_executions(stateMachineArn=STATE_MACHINE_ARN)["executions"]) == 1


def test_start_execution_on_a_missing_state_machine_raises(cloud: Cloud) -> None:
    executions = StepFunctionsExecutions(cloud.sfn)
    missing = STATE_MACHINE_ARN.replace("mlcp-training-pipeline", "nope")

    with pytest.raises(ClientError):
        executions.start(missing, "run-1", {})


# --- SNS -----------------------------------------------------------------------------------------------------
def test_sns_publish_with_attributes(cloud: Cloud) -> None:
    sns = boto3.client("sns", region_name=REGION)
    notifier = SnsNotifier(cloud.topic_arn, sns)

    notifier.publish(
        "mlcp: run churn-1 FAILED at gate", "Reason: too big", {"event": "run_failed", "pipeline": "churn"}
    )

    notes = cloud.notifications()
    assert len(notes) == 1
    assert notes[0]["TopicArn"] == cloud.topic_arn
    assert notes[0]["Subject"] == "mlcp: run churn-1 FAILED at gate"
    assert notes[0]["Message"] == "Reason: too big"
    assert notes[0]["MessageAttributes"] == {
        "event": {"Type": "String", "Value": "run_failed"},
        "pipeline": {"Type": "String", "Value": "churn"},
    }


# --- SageMaker -----------------------------------------------------------------------------------------------
def test_ensure_model_package_group_is_idempotent(cloud: Cloud) -> None:
    adapter = SageMakerAdapter(cloud.sagemaker)

    adapter.ensure_model_package_group("churn-models", "first", {"mlcp:pipeline": "churn"})
    adapter.ensure_model_package_group("churn-models", "second", {"mlcp:pipeline": "churn"})

    groups = cloud.sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in groups] == ["churn-models"]
    group = cloud.sagemaker.describe_model_package_group(ModelPackageGroupName="churn-models")
    assert group["ModelPackageGroupDescription"] == "first"  # the second call left the group alone
    tags = cloud.sagemaker.list_tags(ResourceArn=group["ModelPackageGroupArn"])["Tags"]
    assert tags == [{"Key": "mlcp:pipeline", "Value": "churn"}]


@pytest.mark.usefixtures("cloud")
def test_ensure_model_package_group_created_concurrently() -> None:
    """Another run creates the group between our describe and create: SageMaker says it already exists."""
    client = boto3.client("sagemaker", region_name=REGION)
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/churn-models"
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "describe_model_package_group",
            "ValidationException",
            f"ModelPackageGroup {arn} does not exist.",
            expected_params={"ModelPackageGroupName": "churn-models"},
        )
        stubber.add_client_error(
            "create_model_package_group",
            "ValidationException",
            f"Model Package Group already exists: {arn}",
            expected_params={
                "ModelPackageGroupName": "churn-models",
                "ModelPackageGroupDescription": "Models of churn",
                "Tags": [{"Key": "mlcp:pipeline", "Value": "churn"}],
            },
        )

        SageMakerAdapter(client).ensure_model_package_group(
            "churn-models", "Models of churn", {"mlcp:pipeline": "churn"}
        )

        stubber.assert_no_pending_responses()


@pytest.mark.usefixtures("cloud")
def test_ensure_model_package_group_passes_other_errors_on() -> None:
    client = boto3.client("sagemaker", region_name=REGION)
    with Stubber(client) as stubber:
        stubber.add_client_error("describe_model_package_group", "AccessDeniedException", "not authorized")

        with pytest.raises(ClientError, match="AccessDeniedException"):
            SageMakerAdapter(client).ensure_model_package_group("churn-models", "d", {})


def test_profile_store_puts_only_over_the_runs_it_read(cloud: Cloud) -> None:
    _create_table(cloud.dynamodb, "ProfilesTable", "mlcp-profiles")
    store = DynamoProfileStore("mlcp-profiles")
    first = {"profile": "scoring", "per_item_seconds": 0.5, "startup_seconds": 30.0, "runs": 1}

    assert store.put("scoring", first, expected_runs=None) is True  # a new profile
    assert store.put("scoring", {**first, "per_item_seconds": 9.0}, expected_runs=None) is False  # created meanwhile
    assert store.put("scoring", {**first, "runs": 2, "per_item_seconds": 9.0}, expected_runs=0) is False  # stale
    assert store.get("scoring") == first
    assert store.put("scoring", {**first, "runs": 2, "per_item_seconds": 0.6}, expected_runs=1) is True
    assert store.get("scoring") == {**first, "runs": 2, "per_item_seconds": 0.6}


@pytest.mark.usefixtures("cloud")
def test_list_tuning_trials_reads_every_page_oldest_first() -> None:
    """Two pages of ListTrainingJobsForHyperParameterTuningJob (100 per page) become one list, in order."""
    client = boto3.client("sagemaker", region_name=REGION)
    at = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)

    def summary(i: int) -> dict[str, object]:
        return {
            "TrainingJobName": f"t-{i:03d}",
            "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/t-{i:03d}",
            "CreationTime": at,
            "TrainingJobStatus": "Completed",
            "TunedHyperParameters": {"eta": str(i / 100)},
        }

    params = {
        "HyperParameterTuningJobName": "churn-tune",
        "SortBy": "CreationTime",
        "SortOrder": "Ascending",
        "MaxResults": 100,
    }
    with Stubber(client) as stubber:
        stubber.add_response(
            "list_training_jobs_for_hyper_parameter_tuning_job",
            {"TrainingJobSummaries": [summary(i) for i in range(100)], "NextToken": "p2"},
            expected_params=params,
        )
        stubber.add_response(
            "list_training_jobs_for_hyper_parameter_tuning_job",
            {"TrainingJobSummaries": [summary(100), summary(101)]},
            expected_params={**params, "NextToken": "p2"},
        )
        trials = SageMakerAdapter(client).list_tuning_trials("churn-tune")
        stubber.assert_no_pending_responses()
    assert [t["TrainingJobName"] for t in trials] == [f"t-{i:03d}" for i in range(102)]

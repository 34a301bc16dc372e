"""build_tuning with ``tuning.warm_start`` against the moto runs table: the parents it resolves (last_successful
through the by_pipeline index, explicit run ids), the WarmStartConfig it sends, and the cold start it records."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from mlcp.aws.dynamodb.training import DynamoRunStore
from mlcp.training import run_record
from mlcp.training.payloads import RunStatus, StageName, StageStatus
from mlcp.training.spec import parse_spec
from mlcp.training.stages import SPEC_ATTRIBUTE
from tests.functional.conftest import Cloud
from tests.functional.test_stages import T0, assert_valid_request, invoke, record, seed_run
from tests.support import example_spec, load_event

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")


def warm_spec(warm: dict[str, Any], **tuning: Any) -> dict[str, Any]:
    spec = example_spec()
    spec["tuning"] = {**spec["tuning"], **tuning, "warm_start": warm}
    return spec


def seed_parent(
    cloud: Cloud,
    run_id: str,
    *,
    minutes_ago: int,
    status: RunStatus = RunStatus.SUCCEEDED,
    pipeline: str = "churn",
    spec: dict[str, Any] | None = None,
    dataset_version: str = "2026-11-20",
) -> str:
    """An earlier run's record as the recorder leaves it: its tune stage SUCCEEDED, its best trial's tuning job."""
    store = DynamoRunStore(cloud.runs_table, cloud.dynamodb)
    at = T0 - timedelta(minutes=minutes_ago)
    job = f"{run_id[:24]}-hpo"
    item = {
        "run_id": run_id,
        "pipeline": pipeline,
        "status": status.value,
        "dataset_version": dataset_version,
        "created_at": at.isoformat(),
        "updated_at": at.isoformat(),
        SPEC_ATTRIBUTE: parse_spec(spec or example_spec(), source="test").model_dump_json(exclude_none=True),
        "best": {"tuning_job_name": job},
    }
    assert store.create(run_id, item)
    tune = StageStatus.SUCCEEDED if status is RunStatus.SUCCEEDED else StageStatus.FAILED
    store.update(run_id, {}, {StageName.TUNE: run_record.stage(tune, at, started=at, job_name=job)})
    return job


def test_last_successful_takes_the_newest_succeeded_runs_up_to_max_parents(cloud: Cloud) -> None:
    spec = warm_spec({"type": "TransferLearning", "from": "last_successful", "max_parents": 2})
    seed_run(cloud, spec=spec)
    oldest = seed_parent(cloud, "churn-old", minutes_ago=300, spec=spec)
    newer = seed_parent(cloud, "churn-newer", minutes_ago=200, spec=spec)
    newest = seed_parent(cloud, "churn-newest", minutes_ago=100, spec=spec)
    seed_parent(cloud, "churn-failed", minutes_ago=50, status=RunStatus.FAILED, spec=spec)
    seed_parent(cloud, "other-newest", minutes_ago=10, pipeline="other", spec=spec)

    request = invoke("build_tuning", load_event("training_pipeline/build_tuning"))

    assert request["WarmStartConfig"] == {
        "ParentHyperParameterTuningJobs": [
            {"HyperParameterTuningJobName": newest},
            {"HyperParameterTuningJobName": newer},
        ],
        "WarmStartType": "TransferLearning",
    }
    assert oldest not in str(request["WarmStartConfig"])
    assert_valid_request("CreateHyperParameterTuningJob", request)
    item = record(cloud)
    assert item["warm_start"] == {
        "type": "TransferLearning",
        "parents": [newest, newer],
        "parent_runs": ["churn-newest", "churn-newer"],
        "cold_reason": None,
    }
    assert item["stages"]["tune"]["detail"] == "warm start (TransferLearning) from run(s) churn-newest, churn-newer"


def test_explicit_run_ids_are_the_parents_in_the_order_given(cloud: Cloud) -> None:
    spec = warm_spec({"type": "TransferLearning", "from": ["churn-a", "churn-b"], "max_parents": 5})
    seed_run(cloud, spec=spec)
    a = seed_parent(cloud, "churn-a", minutes_ago=300, spec=spec)
    b = seed_parent(cloud, "churn-b", minutes_ago=100, spec=spec)
    seed_parent(cloud, "churn-c", minutes_ago=10, spec=spec)  # newer, but not listed

    request = invoke("build_tuning", load_event("training_pipeline/build_tuning"))

    parents = [p["HyperParameterTuningJobName"] for p in request["WarmStartConfig"]["ParentHyperParameterTuningJobs"]]
    assert parents == [a, b]
    assert record(cloud)["warm_start"]["parent_runs"] == ["churn-a", "churn-b"]


def test_no_usable_parent_starts_cold_and_says_why(cloud: Cloud) -> None:
    spec = warm_spec({"type": "TransferLearning", "from": ["churn-missing", "churn-failed", "other-run"]})
    seed_run(cloud, spec=spec)
    seed_parent(cloud, "churn-failed", minutes_ago=50, status=RunStatus.FAILED, spec=spec)
    seed_parent(cloud, "other-run", minutes_ago=50, pipeline="other", spec=spec)

    request = invoke("build_tuning", load_event("training_pipeline/build_tuning"))

    assert "WarmStartConfig" not in request
    assert_valid_request("CreateHyperParameterTuningJob", request)
    item = record(cloud)
    reason = item["warm_start"]["cold_reason"]
    assert item["warm_start"]["parents"] == []
    assert "run churn-missing does not exist" in reason
    assert "run churn-failed has no completed tuning job (status FAILED)" in reason
    assert "run other-run belongs to pipeline 'other'" in reason
    assert item["stages"]["tune"]["detail"] == f"started cold: {reason}"
    assert item["stages"]["tune"]["status"] == "RUNNING"


def test_a_pipeline_without_earlier_runs_starts_cold(cloud: Cloud) -> None:
    seed_run(cloud, spec=warm_spec({"type": "TransferLearning"}))

    request = invoke("build_tuning", load_event("training_pipeline/build_tuning"))

    assert "WarmStartConfig" not in request
    assert record(cloud)["warm_start"]["cold_reason"] == "pipeline churn has no earlier SUCCEEDED run"


def test_identical_data_needs_the_same_dataset_version_and_image(cloud: Cloud) -> None:
    spec = warm_spec({"type": "IdenticalDataAndAlgorithm", "max_parents": 3})
    seed_run(cloud, spec=spec)
    other_image = warm_spec({"type": "IdenticalDataAndAlgorithm"})
    other_image["tuning"]["training"] = {
        **other_image["tuning"]["training"],
        "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-train:2.0",
    }
    same = seed_parent(cloud, "churn-same", minutes_ago=300, spec=spec, dataset_version="2026-11-27")
    seed_parent(cloud, "churn-image", minutes_ago=200, spec=other_image, dataset_version="2026-11-27")
    seed_parent(cloud, "churn-data", minutes_ago=100, spec=spec, dataset_version="2026-11-20")

    request = invoke("build_tuning", load_event("training_pipeline/build_tuning"))

    assert request["WarmStartConfig"]["ParentHyperParameterTuningJobs"] == [{"HyperParameterTuningJobName": same}]
    assert request["WarmStartConfig"]["WarmStartType"] == "IdenticalDataAndAlgorithm"


def test_a_parent_with_another_hyperparameter_count_is_skipped(cloud: Cloud) -> None:
    spec = warm_spec({"type": "TransferLearning"})
    seed_run(cloud, spec=spec)
    fewer = warm_spec({"type": "TransferLearning"})
    fewer["tuning"]["static_hyperparameters"] = {"num_round": "200"}
    seed_parent(cloud, "churn-fewer", minutes_ago=100, spec=fewer)

    request = invoke("build_tuning", load_event("training_pipeline/build_tuning"))

    assert "WarmStartConfig" not in request
    assert "had 5 static plus tunable hyperparameters, this run has 6" in record(cloud)["warm_start"]["cold_reason"]


def test_a_run_without_warm_start_records_none(cloud: Cloud) -> None:
    seed_run(cloud)
    seed_parent(cloud, "churn-a", minutes_ago=100)

    request = invoke("build_tuning", load_event("training_pipeline/build_tuning"))

    assert "WarmStartConfig" not in request
    assert "warm_start" not in record(cloud)

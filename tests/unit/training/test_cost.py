"""A run's cost: every job it ran x a price table (mlcp.training.cost), on a fake SageMaker."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mlcp.common.naming import compilation_job_name
from mlcp.common.pricing import PriceTable, usd_text
from mlcp.training import cost
from mlcp.training.run_record import failure_notification

REGION = "eu-west-1"
TABLE = PriceTable(
    source="https://example.test/prices",
    as_of="2026-11-30",
    currency="USD",
    regions={REGION: {"ml.m5.xlarge": 0.36, "ml.c5.2xlarge": 0.72}},
)
RUN_ID = "churn-2026-11-27-4ff98e78fd"
T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def training(
    name: str,
    *,
    billable: int | None,
    seconds: int,
    spot: bool = False,
    instance_type: str = "ml.m5.xlarge",
    count: int = 1,
) -> dict[str, Any]:
    d: dict[str, Any] = {
        "TrainingJobName": name,
        "ResourceConfig": {"InstanceType": instance_type, "InstanceCount": count, "VolumeSizeInGB": 30},
        "TrainingTimeInSeconds": seconds,
        "EnableManagedSpotTraining": spot,
    }
    if billable is not None:
        d["BillableTimeInSeconds"] = billable
    return d


def processing(seconds: float, *, instance_type: str = "ml.c5.2xlarge", count: int = 2) -> dict[str, Any]:
    return {
        "ProcessingJobName": "p",
        "ProcessingResources": {
            "ClusterConfig": {"InstanceType": instance_type, "InstanceCount": count, "VolumeSizeInGB": 30}
        },
        "ProcessingStartTime": T0,
        "ProcessingEndTime": T0 + timedelta(seconds=seconds),
    }


class FakeSageMaker:
    """Answers the cost's reads from dicts and counts the Describe calls."""

    def __init__(
        self,
        trials: Mapping[str, Mapping[str, Any]],
        processing_job: Mapping[str, Any] | None = None,
        missing: frozenset[str] = frozenset(),
    ) -> None:
        self.trials, self.processing_job, self.missing = dict(trials), processing_job, missing
        self.described: list[str] = []

    def describe_training_job(self, name: str) -> Mapping[str, Any]:
        self.described.append(name)
        if name in self.missing:
            raise LookupError(f"Requested resource not found: {name}")
        return self.trials[name]

    def describe_processing_job(self, name: str) -> Mapping[str, Any]:
        assert self.processing_job is not None
        return self.processing_job

    def list_tuning_trials(self, name: str) -> list[Mapping[str, Any]]:
        if name in self.missing:
            raise LookupError(f"Could not find tuning job {name}")
        return [{"TrainingJobName": n} for n in self.trials if n.startswith(name)]

    def describe_tuning_job(self, name: str) -> Mapping[str, Any]:
        raise AssertionError("not used")

    def describe_compilation_job(self, name: str) -> Mapping[str, Any]:
        raise AssertionError("not used: Neo is not billed")

    def ensure_model_package_group(self, name: str, description: str, tags: Mapping[str, str]) -> None:
        raise AssertionError("not used")


def record(**jobs: str) -> dict[str, Any]:
    return {"run_id": RUN_ID, "stages": {stage: {"status": "SUCCEEDED", "job_name": j} for stage, j in jobs.items()}}


def test_spot_trials_cost_their_billable_seconds_and_save_the_rest() -> None:
    descriptions = [
        training("t-1", billable=1000, seconds=3000, spot=True),
        training("t-2", billable=500, seconds=500, spot=True, count=2),
    ]
    entry = cost.training_jobs_cost(descriptions, TABLE, REGION)
    price = 0.36
    billable_instance_seconds = 1000 * 1 + 500 * 2
    assert entry["jobs"] == 2
    assert entry["billable_seconds"] == billable_instance_seconds
    assert entry["training_seconds"] == 3000 + 500 * 2
    assert entry["usd"] == pytest.approx(billable_instance_seconds * price / 3600, abs=1e-6)
    assert entry["spot_savings_usd"] == pytest.approx((3000 - 1000) * price / 3600, abs=1e-6)
    assert "unpriced" not in entry


def test_on_demand_trials_save_nothing_and_a_job_without_billable_seconds_counts_its_training_time() -> None:
    entry = cost.training_jobs_cost([training("t-1", billable=None, seconds=720)], TABLE, REGION)
    assert entry["usd"] == pytest.approx(720 * 0.36 / 3600, abs=1e-6)
    assert entry["spot_savings_usd"] == 0.0


def test_processing_is_counted_from_start_to_end_on_every_instance() -> None:
    entry = cost.processing_job_cost(processing(600), TABLE, REGION)
    assert entry == {
        "usd": pytest.approx(600 * 2 * 0.72 / 3600, abs=1e-6),
        "jobs": 1,
        "billable_seconds": 1200,
        "instance_type": "ml.c5.2xlarge",
        "instance_count": 2,
    }


def test_a_processing_job_that_never_ended_costs_no_seconds() -> None:
    unfinished = {**processing(600), "ProcessingEndTime": None}
    assert cost.processing_job_cost(unfinished, TABLE, REGION)["billable_seconds"] == 0


def test_an_unpriced_instance_type_is_named_never_a_silent_zero() -> None:
    sagemaker = FakeSageMaker(
        {
            "hpo-a": training("hpo-a", billable=100, seconds=100, instance_type="ml.p5.48xlarge"),
            "hpo-b": training("hpo-b", billable=100, seconds=100),
        }
    )
    spent = cost.collect(record(tune="hpo"), sagemaker, TABLE, REGION)
    assert spent is not None
    tune = spent["stages"]["tune"]
    assert tune["unpriced"] == ["ml.p5.48xlarge"]
    assert tune["usd"] == pytest.approx(100 * 0.36 / 3600, abs=1e-6)  # the priced trial only
    assert spent["unpriced"] == [f"ml.p5.48xlarge in {REGION}"]
    assert "no price for ml.p5.48xlarge in eu-west-1 (not in the total)" in cost.cost_line(spent)


def test_an_unknown_region_leaves_every_job_unpriced() -> None:
    spent = cost.collect(
        record(tune="hpo"), FakeSageMaker({"hpo-1": training("hpo-1", billable=10, seconds=10)}), TABLE, "ap-east-2"
    )
    assert spent is not None
    assert spent["total"] == 0.0
    assert spent["unpriced"] == ["ml.m5.xlarge in ap-east-2"]


def test_the_whole_run_per_stage_and_in_total() -> None:
    trials = {f"hpo-{i}": training(f"hpo-{i}", billable=300 * i, seconds=600 * i, spot=True) for i in (1, 2, 3)}
    trials["compress-job"] = training("compress-job", billable=240, seconds=240)
    sagemaker = FakeSageMaker(trials, processing(900))
    spent = cost.collect(record(augment="aug", tune="hpo", compress="compress-job"), sagemaker, TABLE, REGION)
    assert spent is not None
    augment = 900 * 2 * 0.72 / 3600
    tune = (300 + 600 + 900) * 0.36 / 3600
    compress = 240 * 0.36 / 3600
    assert spent["stages"]["augment"]["usd"] == pytest.approx(augment, abs=1e-6)
    assert spent["stages"]["tune"]["usd"] == pytest.approx(tune, abs=1e-6)
    assert spent["stages"]["tune"]["jobs"] == 3
    assert spent["stages"]["compress"]["usd"] == pytest.approx(compress, abs=1e-6)
    assert spent["total"] == pytest.approx(augment + tune + compress, abs=1e-5)
    assert spent["price_table"] == {"source": TABLE.source, "as_of": TABLE.as_of, "region": REGION}
    assert spent["currency"] == "USD"
    assert "unpriced" not in spent
    line = cost.cost_line(spent)
    assert line.startswith(
        f"Cost: {usd_text(augment + tune + compress)} (augment {usd_text(augment)}, tune {usd_text(tune)}, "
    )


def test_a_neo_compression_costs_nothing_and_is_not_described() -> None:
    sagemaker = FakeSageMaker({})
    spent = cost.collect(record(compress=compilation_job_name(RUN_ID)), sagemaker, TABLE, REGION)
    assert spent is not None
    assert spent["stages"]["compress"] == {"usd": 0.0, "jobs": 1, "billable_seconds": 0.0, "neo": True, "billed": False}
    assert sagemaker.described == []


def test_skipped_stages_and_a_run_without_jobs_have_no_cost() -> None:
    skipped = {"run_id": RUN_ID, "stages": {"augment": {"status": "SKIPPED", "job_name": "aug"}, "validate": {}}}
    assert cost.collect(skipped, FakeSageMaker({}), TABLE, REGION) is None
    assert cost.cost_line(None) == ""


def test_a_stage_whose_job_was_never_created_says_why_and_the_rest_is_counted() -> None:
    sagemaker = FakeSageMaker({"c": training("c", billable=60, seconds=60)}, missing=frozenset({"hpo"}))
    spent = cost.collect(record(tune="hpo", compress="c"), sagemaker, TABLE, REGION)
    assert spent is not None
    assert spent["stages"]["tune"]["usd"] == 0.0
    assert "Could not find tuning job hpo" in spent["stages"]["tune"]["error"]
    assert spent["total"] == pytest.approx(60 * 0.36 / 3600, abs=1e-6)


def test_at_most_750_trials_are_described(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cost, "MAX_TRIALS", 4)
    trials = {f"hpo-{i:03d}": training(f"hpo-{i:03d}", billable=10, seconds=10) for i in range(7)}
    sagemaker = FakeSageMaker(trials)
    spent = cost.collect(record(tune="hpo"), sagemaker, TABLE, REGION)
    assert spent is not None
    assert len(sagemaker.described) == 4
    assert spent["stages"]["tune"]["jobs"] == 4
    assert spent["stages"]["tune"]["trials_not_counted"] == 3


def test_the_bound_is_sagemakers_max_number_of_training_jobs() -> None:
    from mlcp.training.sagemaker_limits import MAX_TRAINING_JOBS  # noqa: PLC0415

    assert cost.MAX_TRIALS == MAX_TRAINING_JOBS == 750


def test_the_failure_notification_carries_the_cost_line() -> None:
    spent = cost.summarize({"tune": {"usd": 1.25, "jobs": 2, "billable_seconds": 10.0}}, TABLE, REGION)
    note = failure_notification("r", "churn", "tune", "TuningFailed", "all trials failed", cost=spent)
    assert note.message.endswith("Cost: $1.2500 (tune $1.2500)")

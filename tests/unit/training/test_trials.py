"""mlcp.training.trials: the run's tuning job, its trials compact and oldest first, and why there are none."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mlcp.errors import NotFound
from mlcp.training.trials import parameter_ranges, run_trials, trial_view, tuning_job_of


class FakeSageMaker:
    """The two SageMaker port methods the trials use; ``jobs`` maps a tuning job to its summaries."""

    def __init__(self, jobs: dict[str, list[dict[str, Any]]], objective_type: str = "Minimize") -> None:
        self.jobs = jobs
        self.objective_type = objective_type
        self.calls: list[str] = []

    def list_tuning_trials(self, name: str) -> list[Mapping[str, Any]]:
        self.calls.append(f"list {name}")
        if name not in self.jobs:
            raise NotFound(f"SageMaker has no hyperparameter tuning job {name!r}")
        return list(self.jobs[name])

    def describe_training_job(self, name: str) -> Mapping[str, Any]:
        raise AssertionError(f"the trials never describe training job {name}")

    def describe_compilation_job(self, name: str) -> Mapping[str, Any]:
        raise AssertionError(f"the trials never describe compilation job {name}")

    def describe_processing_job(self, name: str) -> Mapping[str, Any]:
        raise AssertionError(f"the trials never describe processing job {name}")

    def ensure_model_package_group(self, name: str, description: str, tags: Mapping[str, str]) -> None:
        raise AssertionError(f"the trials never create model package group {name}")

    def describe_tuning_job(self, name: str) -> Mapping[str, Any]:
        self.calls.append(f"describe {name}")
        return {
            "HyperParameterTuningJobStatus": "InProgress",
            "HyperParameterTuningJobConfig": {
                "HyperParameterTuningJobObjective": {"Type": self.objective_type, "MetricName": "validation:rmse"},
                "ParameterRanges": {
                    "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
                    "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5"}],
                },
            },
        }


def test_the_tuning_job_is_the_tune_stages_else_the_best_models() -> None:
    assert tuning_job_of({"stages": {"tune": {"job_name": "a-hpo"}}, "best": {"tuning_job_name": "b-hpo"}}) == "a-hpo"
    assert tuning_job_of({"stages": {}, "best": {"tuning_job_name": "b-hpo"}}) == "b-hpo"
    assert tuning_job_of({"stages": {"validate": {"status": "SUCCEEDED"}}}) is None


def test_a_summary_becomes_a_compact_trial() -> None:
    view = trial_view(
        {
            "TrainingJobName": "a-hpo-001-0a1b2c3d",
            "TrainingJobStatus": "InProgress",
            "CreationTime": datetime(2026, 11, 30, 8, 0, 5, tzinfo=UTC),
            "TunedHyperParameters": {"eta": "0.1"},
        }
    )

    assert view.model_dump() == {
        "training_job_name": "a-hpo-001-0a1b2c3d",
        "status": "InProgress",
        "created_at": "2026-11-30T08:00:05Z",
        "started_at": None,
        "ended_at": None,
        "hyperparameters": {"eta": "0.1"},
        "objective": None,
        "failure_reason": None,
    }


def test_ranges_list_numbers_first_then_categories_and_default_the_scaling_to_auto() -> None:
    ranges = parameter_ranges(FakeSageMaker({}).describe_tuning_job("x")["HyperParameterTuningJobConfig"])

    assert [(r.name, r.type, r.scaling) for r in ranges] == [
        ("eta", "Continuous", "Auto"),
        ("booster", "Categorical", None),
    ]


def test_run_trials_reads_the_job_once_each_and_keeps_the_order() -> None:
    summaries = [
        {
            "TrainingJobName": f"a-hpo-00{i}",
            "TrainingJobStatus": "Completed",
            "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": "validation:rmse", "Value": v},
        }
        for i, v in ((1, 0.4), (2, 0.3))
    ]
    sagemaker = FakeSageMaker({"a-hpo": summaries})
    record = {"run_id": "r1", "pipeline": "churn", "status": "RUNNING", "stages": {"tune": {"job_name": "a-hpo"}}}

    result = run_trials(record, sagemaker)

    assert sagemaker.calls == ["list a-hpo", "describe a-hpo"]
    assert [t.training_job_name for t in result.trials] == ["a-hpo-001", "a-hpo-002"]
    assert [t.objective.value for t in result.trials if t.objective] == [0.4, 0.3]
    assert (result.objective.type if result.objective else None) == "Minimize"
    assert result.reason is None


def test_without_a_job_or_with_a_job_sagemaker_does_not_know_there_are_no_trials_and_a_reason() -> None:
    sagemaker = FakeSageMaker({})
    pending = {"run_id": "r1", "pipeline": "churn", "status": "PENDING", "stages": {}}
    tune = {"status": "FAILED", "job_name": "b-hpo"}
    failed = {"run_id": "r2", "pipeline": "churn", "status": "FAILED", "stages": {"tune": tune}}

    none_yet, never_created = run_trials(pending, sagemaker), run_trials(failed, sagemaker)

    assert (none_yet.trials, none_yet.reason) == (
        [],
        "run r1 has no tuning job yet (run PENDING, tune stage not started)",
    )
    assert (never_created.trials, never_created.tuning_job_name) == ([], "b-hpo")
    assert never_created.reason == "SageMaker has no tuning job b-hpo (tune stage FAILED): it was not created"
    assert sagemaker.calls == ["list b-hpo"]

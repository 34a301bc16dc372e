"""The local job backend's tuning jobs that launch real trials: strategies, best trial, counters, failures, stopping:
cli/mlcp_cli/local/backends/sagemaker_tuning.py (with tuning_strategies.py, tuning_status.py and landscape.py).

Most tests drive a manual clock (instant and exact); a few run on a fast SimClock and poll like the state machine
(tests/local_cloud/backends/support.py has the requests and helpers).
"""

from __future__ import annotations

import itertools
import time

import pytest
from botocore.exceptions import ClientError
from mypy_boto3_sagemaker import SageMakerClient

from mlcp.training import tuning
from mlcp_cli.local.backends.jobs import JobBackend, JobDurations
from mlcp_cli.local.faults import Faults, JobFault
from tests.local_cloud.backends.support import (
    LONG,
    ManualClock,
    churn_run,
    finished_tuning,
    trials_of,
    tune_and_select,
    tuning_job,
    tuning_status,
    wait_for,
)


def test_fast_clock_jobs_finish_in_wall_milliseconds(sm: SageMakerClient, fast: JobBackend) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_job("fast-hpo", max_jobs=6, parallel=3))
    started = time.monotonic()
    description = wait_for(
        lambda: (
            d
            if (d := sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="fast-hpo"))[
                "HyperParameterTuningJobStatus"
            ]
            != "InProgress"
            else None
        )
    )
    assert description["HyperParameterTuningJobStatus"] == "Completed"
    assert time.monotonic() - started < 3
    simulated = (description["HyperParameterTuningEndTime"] - description["CreationTime"]).total_seconds()
    assert simulated > 2 * 0.7 * JobDurations().training  # two waves of three trials


def test_stop_tuning_job_stops_its_trials(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_job("halt-hpo", max_jobs=10, parallel=3))
    clock.advance(200)
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="halt-hpo")
    stopping = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="halt-hpo")
    assert stopping["HyperParameterTuningJobStatus"] == "Stopping"
    clock.advance(LONG)
    stopped = tuning_status(sm, "halt-hpo")
    assert stopped["HyperParameterTuningJobStatus"] == "Stopped"
    assert stopped["TrainingJobStatusCounters"]["Stopped"] == 3
    assert sum(stopped["TrainingJobStatusCounters"].values()) == 3  # no trial launched after the stop
    assert "BestTrainingJob" not in stopped
    assert {t["TrainingJobStatus"] for t in trials_of(sm, "halt-hpo")} == {"Stopped"}


def test_grid_enumerates_every_combination_exactly_once(
    sm: SageMakerClient, clock: ManualClock, backend: JobBackend
) -> None:
    ranges = {
        "CategoricalParameterRanges": [
            {"Name": "booster", "Values": ["gbtree", "dart", "gblinear"]},
            {"Name": "max_depth", "Values": ["4", "6"]},
        ]
    }
    sm.create_hyper_parameter_tuning_job(**tuning_job("grid-hpo", strategy="Grid", ranges=ranges, max_jobs=None))
    description = finished_tuning(sm, clock, "grid-hpo")
    trials = trials_of(sm, "grid-hpo")
    combos = [(t["TunedHyperParameters"]["booster"], t["TunedHyperParameters"]["max_depth"]) for t in trials]
    assert sorted(combos) == sorted(itertools.product(["gbtree", "dart", "gblinear"], ["4", "6"]))
    assert description["TrainingJobStatusCounters"]["Completed"] == 6


def test_grid_rejects_numeric_ranges(sm: SageMakerClient, backend: JobBackend) -> None:
    with pytest.raises(ClientError, match="categorical"):
        sm.create_hyper_parameter_tuning_job(**tuning_job("grid-bad", strategy="Grid"))


def test_random_search_is_reproducible_for_a_seed(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    for name, seed in (("rand-a", 7), ("rand-b", 7), ("rand-c", 8)):
        sm.create_hyper_parameter_tuning_job(**tuning_job(name, strategy="Random", seed=seed, max_jobs=6))
    clock.advance(LONG)

    def drawn(name: str) -> list[dict[str, str]]:
        return [dict(t["TunedHyperParameters"]) for t in trials_of(sm, name)]

    assert drawn("rand-a") == drawn("rand-b")
    assert drawn("rand-a") != drawn("rand-c")
    assert len({tuple(sorted(d.items())) for d in drawn("rand-a")}) == 6


@pytest.mark.parametrize(("objective", "metric"), [("Maximize", "validation:auc"), ("Minimize", "validation:rmse")])
def test_best_training_job_is_the_true_best(
    sm: SageMakerClient, clock: ManualClock, backend: JobBackend, objective: str, metric: str
) -> None:
    request = tuning_job("best-hpo", objective=objective, metric=metric, max_jobs=10, parallel=3)
    sm.create_hyper_parameter_tuning_job(**request)
    description = finished_tuning(sm, clock, "best-hpo")
    values = {
        t["TrainingJobName"]: t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        for t in trials_of(sm, "best-hpo")
    }
    assert len(values) == 10
    assert len(set(values.values())) > 5
    pick = max if objective == "Maximize" else min
    best = description["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pick(values.values())
    assert values[best["TrainingJobName"]] == pick(values.values())
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == metric
    training = sm.describe_training_job(TrainingJobName=best["TrainingJobName"])
    assert tuning.final_metrics(training)[metric] == pick(values.values())
    assert training["TuningJobArn"] == description["HyperParameterTuningJobArn"]
    assert training["HyperParameters"]["_tuning_objective_metric"] == metric
    assert {k: training["HyperParameters"][k] for k in best["TunedHyperParameters"]} == best["TunedHyperParameters"]
    assert training["HyperParameters"]["num_round"] == "200"  # static hyperparameters are passed on


def test_trials_run_in_waves_of_max_parallel(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_job("waves-hpo", max_jobs=7, parallel=3))
    clock.advance(JobDurations().tuning_startup + 1)
    running = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="waves-hpo")
    assert running["HyperParameterTuningJobStatus"] == "InProgress"
    assert running["TrainingJobStatusCounters"]["InProgress"] == 3
    assert running["ObjectiveStatusCounters"]["Pending"] == 3
    clock.advance(LONG)
    trials = trials_of(sm, "waves-hpo")
    events = sorted(
        [(t["CreationTime"], 1) for t in trials] + [(t["TrainingEndTime"], -1) for t in trials],
        key=lambda e: (e[0], e[1]),
    )
    assert max(itertools.accumulate(delta for _, delta in events)) == 3
    assert all(
        t["TrainingJobName"].startswith("waves-hpo-") and len(t["TrainingJobName"].split("-")[-1]) == 8 for t in trials
    )


def test_bayesian_search_improves_on_its_warm_up(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_job("bayes-hpo", max_jobs=16, parallel=2, seed=3))
    clock.advance(LONG)
    trials = trials_of(sm, "bayes-hpo")
    scores = [t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for t in trials]
    assert max(scores[3:]) >= max(scores[:3])


def test_counters_add_up_with_failed_trials(
    sm: SageMakerClient, clock: ManualClock, faults: Faults, backend: JobBackend
) -> None:
    faults.jobs.append(JobFault(job="count-hpo-00[24]-*", reason="AlgorithmError: bad trial"))
    sm.create_hyper_parameter_tuning_job(**tuning_job("count-hpo", max_jobs=9, parallel=3))
    clock.advance(700)
    midway = tuning_status(sm, "count-hpo")
    launched = len(trials_of(sm, "count-hpo"))
    assert sum(midway["TrainingJobStatusCounters"].values()) == launched
    assert sum(midway["ObjectiveStatusCounters"].values()) == launched
    description = finished_tuning(sm, clock, "count-hpo")
    assert description["HyperParameterTuningJobStatus"] == "Completed"
    assert description["TrainingJobStatusCounters"] == {
        "Completed": 7,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 2,
        "Stopped": 0,
    }
    assert description["ObjectiveStatusCounters"] == {"Succeeded": 7, "Pending": 0, "Failed": 2}
    failed = [t for t in trials_of(sm, "count-hpo") if t["TrainingJobStatus"] == "Failed"]
    assert {t["FailureReason"] for t in failed} == {"AlgorithmError: bad trial"}
    assert description["BestTrainingJob"]["TrainingJobName"] not in {t["TrainingJobName"] for t in failed}
    assert description["HyperParameterTuningEndTime"] >= max(t["TrainingEndTime"] for t in trials_of(sm, "count-hpo"))


def test_all_trials_failing_fails_the_tuning_job(
    sm: SageMakerClient, clock: ManualClock, faults: Faults, backend: JobBackend
) -> None:
    faults.jobs.append(JobFault(job="fail-hpo-*", reason="AlgorithmError: crash"))
    run_request = tuning_job("fail-hpo", max_jobs=12, parallel=3)
    sm.create_hyper_parameter_tuning_job(**run_request)
    description = finished_tuning(sm, clock, "fail-hpo")
    assert description["HyperParameterTuningJobStatus"] == "Failed"
    assert "No training job succeeded" in description["FailureReason"]
    assert "BestTrainingJob" not in description
    counters = description["TrainingJobStatusCounters"]
    assert counters["NonRetryableError"] >= 5
    assert counters["Completed"] == 0
    assert counters["InProgress"] == 0
    assert sum(counters.values()) < 12  # it gave up early
    with pytest.raises(Exception, match="no best training job"):
        tuning.best_training_job_name(description)


def test_injected_tuning_job_failure(
    sm: SageMakerClient, clock: ManualClock, faults: Faults, backend: JobBackend
) -> None:
    faults.jobs.append(JobFault(job="broken-hpo", reason="ClientError: role cannot be assumed"))
    sm.create_hyper_parameter_tuning_job(**tuning_job("broken-hpo"))
    assert (
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="broken-hpo")[
            "HyperParameterTuningJobStatus"
        ]
        == "InProgress"
    )
    description = finished_tuning(sm, clock, "broken-hpo")
    assert description["HyperParameterTuningJobStatus"] == "Failed"
    assert description["FailureReason"] == "ClientError: role cannot be assumed"


def test_hyperband_stops_weak_trials_early(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    request = tuning_job(
        "band-hpo",
        strategy="Hyperband",
        max_jobs=14,
        parallel=2,
        seed=1,
        extra={"StrategyConfig": {"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 9}}},
    )
    sm.create_hyper_parameter_tuning_job(**request)
    description = finished_tuning(sm, clock, "band-hpo")
    counters = description["TrainingJobStatusCounters"]
    assert counters["Stopped"] >= 1
    assert counters["Completed"] >= 2
    assert description["ObjectiveStatusCounters"]["Succeeded"] == 14
    trials = trials_of(sm, "band-hpo")
    completed = [
        t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        for t in trials
        if t["TrainingJobStatus"] == "Completed"
    ]
    assert description["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == max(completed)


def test_the_product_reads_back_a_consistent_best_model(
    sm: SageMakerClient, clock: ManualClock, backend: JobBackend
) -> None:
    run = churn_run()
    best = tune_and_select(sm, clock, run)
    assert set(best.hyperparameters) == {"eta", "subsample", "max_depth", "booster"}
    assert best.objective_value == best.final_metrics["validation:auc"]
    assert best.training_seconds is not None
    assert best.training_seconds > 0
    description = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=run.names.tuning)
    assert description["TrainingJobStatusCounters"]["Completed"] == 12

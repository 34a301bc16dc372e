"""Warm start in the local job backend (cli/mlcp_cli/local/backends/tuning_warm_start.py, tuning_strategies.py,
landscape.py): the parents' trials inform Bayesian search, WarmStartConfig is refused as SageMaker refuses it and
described as sent, and the landscape moves a little with the training data."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.exceptions import ClientError
from mypy_boto3_sagemaker import SageMakerClient

from mlcp_cli.local.backends.jobs import JobBackend
from mlcp_cli.local.backends.landscape import Landscape, parse_ranges
from tests.local_cloud.backends.support import MIXED_RANGES, ManualClock, finished_tuning, trials_of, tuning_job


def warm(parents: list[str], kind: str = "TransferLearning") -> Any:  # boto3's TypedDict
    return {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": p} for p in parents],
        "WarmStartType": kind,
    }


def on_data(request: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The same request on another data set (another dataset version's channel)."""
    changed = copy.deepcopy(request)
    source = changed["TrainingJobDefinition"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    source["S3Uri"] = source["S3Uri"].replace("/data/", f"/{prefix}/")
    return changed


def values(sm: SageMakerClient, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (t["TunedHyperParameters"], float(t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]))
        for t in trials_of(sm, name)
        if t["TrainingJobStatus"] == "Completed"
    ]


def test_a_warm_started_bayesian_job_starts_from_the_parents_best_trial(
    sm: SageMakerClient, clock: ManualClock, backend: JobBackend
) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_job("parent-hpo", max_jobs=10, parallel=2))
    finished_tuning(sm, clock, "parent-hpo")
    best_parent = max(values(sm, "parent-hpo"), key=lambda v: v[1])[0]

    request = on_data(tuning_job("child-hpo", max_jobs=6, parallel=1), "data-v2")
    sm.create_hyper_parameter_tuning_job(**request, WarmStartConfig=warm(["parent-hpo"]))
    described = finished_tuning(sm, clock, "child-hpo")
    cold = on_data(tuning_job("cold-hpo", max_jobs=6, parallel=1), "data-v2")
    sm.create_hyper_parameter_tuning_job(**cold)
    finished_tuning(sm, clock, "cold-hpo")

    assert described["WarmStartConfig"] == warm(["parent-hpo"])
    child = values(sm, "child-hpo")
    first = child[0][0]
    assert first["booster"] == best_parent["booster"]
    assert first["max_depth"] == best_parent["max_depth"]
    assert float(first["eta"]) == pytest.approx(float(best_parent["eta"]), rel=1e-5)
    # the first trials of the warm job (near the parent's best) beat the cold job's random warm-up on average
    warm_start = sum(v for _, v in child[:3]) / 3
    cold_start = sum(v for _, v in values(sm, "cold-hpo")[:3]) / 3
    assert warm_start > cold_start


def test_without_parents_the_same_request_draws_what_a_cold_job_draws(
    sm: SageMakerClient, clock: ManualClock, backend: JobBackend
) -> None:
    """Random search has no model: parents change nothing in its draws."""
    sm.create_hyper_parameter_tuning_job(**tuning_job("rparent-hpo", strategy="Random", max_jobs=4, seed=7))
    finished_tuning(sm, clock, "rparent-hpo")
    sm.create_hyper_parameter_tuning_job(**tuning_job("rwarm-hpo", strategy="Random", max_jobs=4, seed=9))
    sm.create_hyper_parameter_tuning_job(
        **tuning_job("rwarm2-hpo", strategy="Random", max_jobs=4, seed=9), WarmStartConfig=warm(["rparent-hpo"])
    )
    finished_tuning(sm, clock, "rwarm2-hpo")
    assert [v for v, _ in values(sm, "rwarm-hpo")] == [v for v, _ in values(sm, "rwarm2-hpo")]


def test_a_missing_parent_is_refused(sm: SageMakerClient, backend: JobBackend) -> None:
    with pytest.raises(ClientError) as caught:
        sm.create_hyper_parameter_tuning_job(**tuning_job("orphan-hpo"), WarmStartConfig=warm(["no-such-hpo"]))
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert caught.value.response["Error"]["Message"] == "Parent hyperparameter tuning job no-such-hpo does not exist."
    with pytest.raises(ClientError):
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="orphan-hpo")  # nothing was created


def test_a_running_parent_is_refused(sm: SageMakerClient, clock: ManualClock, backend: JobBackend) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_job("busy-hpo", max_jobs=6))
    clock.advance(60)
    with pytest.raises(ClientError) as caught:
        sm.create_hyper_parameter_tuning_job(**tuning_job("eager-hpo"), WarmStartConfig=warm(["busy-hpo"]))
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "busy-hpo is InProgress: all parent jobs must be in a terminal state" in str(caught.value)


def test_six_parents_are_refused_in_aws_constraint_form(
    sm: SageMakerClient, clock: ManualClock, backend: JobBackend
) -> None:
    with pytest.raises(ClientError) as caught:
        sm.create_hyper_parameter_tuning_job(
            **tuning_job("many-hpo"), WarmStartConfig=warm([f"p{i}" for i in range(6)])
        )
    message = caught.value.response["Error"]["Message"]
    assert message.startswith("1 validation error detected: Value '")
    assert "at 'warmStartConfig.parentHyperParameterTuningJobs' failed to satisfy constraint" in message


def test_identical_data_refuses_a_parent_on_other_data_and_another_objective_is_refused(
    sm: SageMakerClient, clock: ManualClock, backend: JobBackend
) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_job("v1-hpo", max_jobs=2))
    finished_tuning(sm, clock, "v1-hpo")
    request = on_data(tuning_job("v2-hpo"), "data-v2")
    with pytest.raises(ClientError) as caught:
        sm.create_hyper_parameter_tuning_job(**request, WarmStartConfig=warm(["v1-hpo"], "IdenticalDataAndAlgorithm"))
    assert "IdenticalDataAndAlgorithm needs the same" in str(caught.value)
    sm.create_hyper_parameter_tuning_job(**request, WarmStartConfig=warm(["v1-hpo"], "TransferLearning"))
    other = tuning_job("loss-hpo", metric="train:loss", objective="Minimize")
    with pytest.raises(ClientError) as caught:
        sm.create_hyper_parameter_tuning_job(**other, WarmStartConfig=warm(["v1-hpo"]))
    assert "objective metric of parent hyperparameter tuning job v1-hpo is not train:loss" in str(caught.value)


def test_the_landscape_moves_a_little_with_the_data() -> None:
    params = parse_ranges(MIXED_RANGES)
    point = {"eta": "0.1", "subsample": "0.75", "max_depth": "6", "booster": "gbtree"}
    same = [Landscape("spec", params, "validation:auc", True, data).quality(point) for data in ("v1", "v1")]
    moved = [Landscape("spec", params, "validation:auc", True, f"v{i}").quality(point) for i in range(1, 6)]
    assert same[0] == same[1]
    assert len(set(moved)) == 5  # every data set peaks elsewhere
    assert max(moved) - min(moved) < 0.5  # ... but nearby: related, not a new problem

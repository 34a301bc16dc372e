"""Warm start end to end in the local cloud: successive dataset versions of the warm-start example through the real
trigger, state machine (Choice "Warm Start?") and local tuning backend (cli/mlcp_cli/local/warm_start_runs.py)."""

from __future__ import annotations

from mlcp_cli.local.cloud import LocalCloud
from mlcp_cli.local.warm_start_runs import run_versions, trial_objectives
from tests.local_cloud.conftest import states_entered


def test_the_second_version_warm_starts_from_the_first(cloud: LocalCloud) -> None:
    first, second = run_versions(cloud, "churn-warm", ["w1", "w2"], warm=True)

    one, two = cloud.run(first), cloud.run(second)
    assert one is not None
    assert two is not None
    assert (one["status"], two["status"]) == ("SUCCEEDED", "SUCCEEDED")
    assert one["warm_start"]["parents"] == []
    assert one["warm_start"]["cold_reason"] == "pipeline churn-warm has no earlier SUCCEEDED run"
    parent_job = one["best"]["tuning_job_name"]
    assert two["warm_start"] == {
        "type": "TransferLearning",
        "parents": [parent_job],
        "parent_runs": [first],
        "cold_reason": None,
    }
    described = cloud.client("sagemaker").describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=two["best"]["tuning_job_name"]
    )
    assert described["WarmStartConfig"] == {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": parent_job}],
        "WarmStartType": "TransferLearning",
    }
    assert "Tune Hyperparameters (Warm Start)" in states_entered(cloud, two["execution_arn"])
    assert "Tune Hyperparameters (Warm Start)" not in states_entered(cloud, one["execution_arn"])
    # the parent's best trial, re-tried first on the new data, beats the cold first trial of the same seed
    warm_first = trial_objectives(cloud, two["best"]["tuning_job_name"])[0]
    cold_first = trial_objectives(cloud, parent_job)[0]
    assert warm_first is not None
    assert cold_first is not None
    assert warm_first > cold_first


def test_without_warm_start_no_run_records_one(cloud: LocalCloud) -> None:
    [run_id] = run_versions(cloud, "churn-cold", ["c1"], warm=False)
    run = cloud.run(run_id)
    assert run is not None
    assert run["status"] == "SUCCEEDED"
    assert "warm_start" not in run
    assert "Tune Hyperparameters (Warm Start)" not in states_entered(cloud, run["execution_arn"])

"""GET /pipelines/{name}/runs/{run_id}/trials (functions/api in-process against moto; SageMaker's answers stubbed
with botocore's Stubber, which also checks the exact requests the API sends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from botocore.stub import Stubber

from mlcp.aws import clients
from mlcp.aws.dynamodb.training import DynamoRunStore
from tests.functional.conftest import Cloud
from tests.functional.test_api import api, call, register, start  # noqa: F401 - the api fixture
from tests.support import FakeLambdaContext, load_event

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
TUNING_JOB = "churn-v1-api-0a1b-3c4d5e6f-hpo"


def _summary(index: int, auc: float | None, status: str = "Completed", **params: str) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "TrainingJobName": f"{TUNING_JOB}-{index:03d}-0a1b2c3d",
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{TUNING_JOB}-{index:03d}-0a1b2c3d",
        "TuningJobName": TUNING_JOB,
        "CreationTime": T0 + timedelta(minutes=index),
        "TrainingStartTime": T0 + timedelta(minutes=index, seconds=30),
        "TrainingEndTime": T0 + timedelta(minutes=index + 5),
        "TrainingJobStatus": status,
        "TunedHyperParameters": params,
    }
    if auc is not None:
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {"MetricName": "validation:auc", "Value": auc}
    if status == "Failed":
        summary["FailureReason"] = "AlgorithmError: out of memory"
    return summary


DESCRIPTION: dict[str, Any] = {
    "HyperParameterTuningJobName": TUNING_JOB,
    "HyperParameterTuningJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/{TUNING_JOB}",
    "HyperParameterTuningJobStatus": "Completed",
    "CreationTime": T0,
    "TrainingJobStatusCounters": {"Completed": 2, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 1},
    "ObjectiveStatusCounters": {"Succeeded": 2, "Pending": 0, "Failed": 1},
    "HyperParameterTuningJobConfig": {
        "Strategy": "Bayesian",
        "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 1},
        "ParameterRanges": {
            "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "3", "MaxValue": "10", "ScalingType": "Auto"}],
            "ContinuousParameterRanges": [
                {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5", "ScalingType": "Logarithmic"}
            ],
            "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
        },
    },
}
LIST_REQUEST = {
    "HyperParameterTuningJobName": TUNING_JOB,
    "SortBy": "CreationTime",
    "SortOrder": "Ascending",
    "MaxResults": 100,
}


def _tuning_run(api: ModuleType, cloud: Cloud) -> str:  # noqa: F811
    """A churn run whose tune stage has started its tuning job."""
    register(api, cloud)
    _, started = start(api)
    run_id = str(started["run_id"])
    DynamoRunStore(cloud.runs_table, cloud.dynamodb).update(
        run_id, {"status": "RUNNING"}, {"tune": {"status": "RUNNING", "job_name": TUNING_JOB}}
    )
    return run_id


def test_the_trials_of_a_run_oldest_first_with_objective_and_ranges(api: ModuleType, cloud: Cloud) -> None:  # noqa: F811
    """GIVEN a run whose tuning job launched three trials over two pages (one failed, without an objective)
    WHEN its trials are read THEN every page, oldest first, compact, with the objective's type and the ranges."""
    run_id = _tuning_run(api, cloud)
    first = [_summary(1, 0.91, eta="0.1", max_depth="5", booster="gbtree"), _summary(2, 0.94, eta="0.2")]
    with Stubber(clients.client("sagemaker")) as stub:
        stub.add_response(
            "list_training_jobs_for_hyper_parameter_tuning_job",
            {"TrainingJobSummaries": first, "NextToken": "page-2"},
            LIST_REQUEST,
        )
        stub.add_response(
            "list_training_jobs_for_hyper_parameter_tuning_job",
            {"TrainingJobSummaries": [_summary(3, None, "Failed", eta="0.4")]},
            {**LIST_REQUEST, "NextToken": "page-2"},
        )
        stub.add_response(
            "describe_hyper_parameter_tuning_job", DESCRIPTION, {"HyperParameterTuningJobName": TUNING_JOB}
        )
        status, body = call(api, "GET", f"/pipelines/churn/runs/{run_id}/trials")
        stub.assert_no_pending_responses()

    assert status == 200, body
    assert body["tuning_job_name"] == TUNING_JOB
    assert body["tuning_job_status"] == "Completed"
    assert body["objective"] == {"metric": "validation:auc", "type": "Maximize"}
    assert [t["training_job_name"][-12:-9] for t in body["trials"]] == ["001", "002", "003"]
    assert body["trials"][0] == {
        "training_job_name": f"{TUNING_JOB}-001-0a1b2c3d",
        "status": "Completed",
        "created_at": "2026-11-30T08:01:00Z",
        "started_at": "2026-11-30T08:01:30Z",
        "ended_at": "2026-11-30T08:06:00Z",
        "hyperparameters": {"eta": "0.1", "max_depth": "5", "booster": "gbtree"},
        "objective": {"metric": "validation:auc", "value": 0.91},
        "failure_reason": None,
    }
    assert body["trials"][2]["objective"] is None
    assert body["trials"][2]["failure_reason"] == "AlgorithmError: out of memory"
    assert body["parameter_ranges"] == [
        {
            "name": "max_depth",
            "type": "Integer",
            "min_value": "3",
            "max_value": "10",
            "scaling": "Auto",
            "values": None,
        },
        {
            "name": "eta",
            "type": "Continuous",
            "min_value": "0.01",
            "max_value": "0.5",
            "scaling": "Logarithmic",
            "values": None,
        },
        {
            "name": "booster",
            "type": "Categorical",
            "min_value": None,
            "max_value": None,
            "scaling": None,
            "values": ["gbtree", "dart"],
        },
    ]
    assert body["reason"] is None


def test_a_run_without_a_tuning_job_yet_has_no_trials_and_says_why(api: ModuleType, cloud: Cloud) -> None:  # noqa: F811
    register(api, cloud)
    _, started = start(api)
    with Stubber(clients.client("sagemaker")) as stub:  # no SageMaker call at all
        status, body = call(api, "GET", f"/pipelines/churn/runs/{started['run_id']}/trials")

    assert status == 200
    assert body["trials"] == []
    assert body["tuning_job_name"] is None
    assert body["reason"] == f"run {started['run_id']} has no tuning job yet (run PENDING, tune stage not started)"
    stub.assert_no_pending_responses()


def test_a_tuning_job_sagemaker_never_created_is_no_trials_with_a_reason(api: ModuleType, cloud: Cloud) -> None:  # noqa: F811
    """GIVEN a tune stage that failed before CreateHyperParameterTuningJob succeeded THEN SageMaker's
    ResourceNotFound is an empty list with a reason, not an error."""
    run_id = _tuning_run(api, cloud)
    with Stubber(clients.client("sagemaker")) as stub:
        stub.add_client_error(
            "list_training_jobs_for_hyper_parameter_tuning_job",
            "ResourceNotFound",
            f"Could not find hyper parameter tuning job '{TUNING_JOB}'.",
            400,
            expected_params=LIST_REQUEST,
        )
        status, body = call(api, "GET", f"/pipelines/churn/runs/{run_id}/trials")

    assert status == 200, body
    assert body["trials"] == []
    assert body["reason"] == f"SageMaker has no tuning job {TUNING_JOB} (tune stage RUNNING): it was not created"


def test_a_tuning_job_with_no_trial_yet_says_so(api: ModuleType, cloud: Cloud) -> None:  # noqa: F811
    run_id = _tuning_run(api, cloud)
    with Stubber(clients.client("sagemaker")) as stub:
        stub.add_response(
            "list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": []}, LIST_REQUEST
        )
        stub.add_response(
            "describe_hyper_parameter_tuning_job",
            {**DESCRIPTION, "HyperParameterTuningJobStatus": "InProgress"},
            {"HyperParameterTuningJobName": TUNING_JOB},
        )
        status, body = call(api, "GET", f"/pipelines/churn/runs/{run_id}/trials")

    assert status == 200
    assert (body["trials"], body["tuning_job_status"]) == ([], "InProgress")
    assert body["reason"] == f"tuning job {TUNING_JOB} has launched no training job yet"


def test_an_unknown_run_or_a_run_of_another_pipeline_is_404(api: ModuleType, cloud: Cloud) -> None:  # noqa: F811
    run_id = _tuning_run(api, cloud)
    register(api, cloud, "other")

    unknown = call(api, "GET", "/pipelines/churn/runs/churn-v9-nope/trials")
    elsewhere = call(api, "GET", f"/pipelines/other/runs/{run_id}/trials")
    bad = call(api, "GET", "/pipelines/churn/runs/bad%20id!/trials")

    assert (unknown[0], elsewhere[0], bad[0]) == (404, 404, 400)
    assert elsewhere[1]["message"] == f"pipeline 'other' has no run {run_id!r}"
    assert unknown[1]["message"] == "pipeline 'churn' has no run 'churn-v9-nope'"


@pytest.mark.parametrize(("code", "status"), [("ThrottlingException", 429), ("AccessDeniedException", 500)])
def test_sagemaker_errors_are_429_or_a_500_without_internals(
    api: ModuleType,  # noqa: F811
    cloud: Cloud,
    code: str,
    status: int,
) -> None:
    run_id = _tuning_run(api, cloud)
    with Stubber(clients.client("sagemaker")) as stub:
        stub.add_client_error("list_training_jobs_for_hyper_parameter_tuning_job", code, "no", 400)
        answer = call(api, "GET", f"/pipelines/churn/runs/{run_id}/trials")

    assert answer[0] == status
    assert "no" not in answer[1]["message"].split()


def test_the_sample_event_resolves(api: ModuleType, cloud: Cloud) -> None:  # noqa: F811
    register(api, cloud)

    response = api.lambda_handler(load_event("api/get_run_trials"), FakeLambdaContext())

    assert response["statusCode"] == 404, response  # the sample's run id does not exist

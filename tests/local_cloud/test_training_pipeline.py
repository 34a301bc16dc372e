"""The training pipeline end to end in the local cloud: S3 upload -> EventBridge -> start_run -> Step Functions.

GIVEN the deployed template and the registered example spec, WHEN a manifest is uploaded (or a fault injected),
THEN the execution history and the runs table say what AWS would say. Nothing here reads logs.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from mlcp.common.pricing import sagemaker_prices, usd_text
from mlcp_cli.local.cloud import EXAMPLES, LocalCloud
from mlcp_cli.local.faults import ApiFault, Degradation, JobFault
from tests.local_cloud.conftest import failures, new_version, start_run, states_entered
from tests.support import load_event

HAPPY_STATES = [
    "Validate Spec",
    "Augment Requested?",
    "Augment Data",
    "Build Tuning Request",
    "Warm Start?",
    "Tune Hyperparameters",
    "Select Best Model",
    "Build Compression Request",
    "Compression Kind?",
    "Compress Model",
    "Evaluate Gate",
    "Register Model",
    "Record Success",
    "Notify Success",
    "Run Succeeded",
]


def test_manifest_upload_runs_the_whole_pipeline(cloud: LocalCloud) -> None:
    execution = start_run(cloud)

    assert execution["status"] == "SUCCEEDED"
    assert states_entered(cloud, execution["executionArn"]) == HAPPY_STATES
    run = cloud.run(execution["name"])
    assert run is not None
    assert run["status"] == "SUCCEEDED"
    for stage in ("validate", "augment", "tune", "compress", "gate", "register"):
        assert run[f"stage_{stage}__status"] == "SUCCEEDED", stage

    # The best model is the true best trial of the tuning job.
    sagemaker = cloud.client("sagemaker")
    trials = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=run["stage_tune__job_name"], MaxResults=100
    )["TrainingJobSummaries"]
    completed = [t for t in trials if t["TrainingJobStatus"] == "Completed"]
    assert len(completed) == run["trials"]["Completed"] > 1
    best = max(completed, key=lambda t: t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    assert run["best"]["training_job_name"] == best["TrainingJobName"]
    assert float(run["best"]["objective_value"]) == pytest.approx(
        best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    )

    # The gate measured real artifacts in S3, and the model package exists.
    gate = run["gate"]
    assert gate["passed"] is True
    assert 0 < gate["size_after"] < gate["size_before"]
    package = sagemaker.describe_model_package(ModelPackageName=run["model_package_arn"])
    assert package["ModelPackageGroupName"] == "churn-models"
    assert package["ModelApprovalStatus"] == "PendingManualApproval"

    notes = cloud.notifications()
    assert [n["subject"] for n in notes] == [f"mlcp: run {execution['name']} SUCCEEDED"]

    # The run's cost: every trial's BillableTimeInSeconds x InstanceCount x the shipped price, as SageMaker reports
    # them, plus the augment processing job and the compression job.
    cost = json.loads(json.dumps(run["cost"], default=float))
    table = sagemaker_prices()
    billed = 0.0
    for trial in trials:
        d = sagemaker.describe_training_job(TrainingJobName=trial["TrainingJobName"])
        price = table.price("us-east-1", d["ResourceConfig"]["InstanceType"])
        assert price is not None
        billed += d.get("BillableTimeInSeconds", 0) * d["ResourceConfig"]["InstanceCount"] * price / 3600
    assert cost["stages"]["tune"]["jobs"] == len(trials)
    assert cost["stages"]["tune"]["usd"] == pytest.approx(billed, abs=1e-5)
    assert cost["stages"]["tune"]["usd"] > 0
    assert set(cost["stages"]) == {"augment", "tune", "compress"}
    assert cost["stages"]["augment"]["instance_type"] == "ml.m5.xlarge"
    assert cost["total"] == pytest.approx(sum(s["usd"] for s in cost["stages"].values()), abs=1e-5)
    assert cost["price_table"]["region"] == "us-east-1"
    assert f"Cost: {usd_text(cost['total'])}" in notes[0]["message"]


@pytest.mark.parametrize(
    ("stage", "fault", "error"),
    [
        ("tune", JobFault(job="*-hpo", reason="injected tuning failure"), "States.TaskFailed"),
        ("compress", JobFault(job="*-compress", reason="AlgorithmError: injected"), "States.TaskFailed"),
        ("gate", Degradation(job="*-compress", metric_drop=0.25), "GateFailed"),
    ],
)
def test_each_catch_path_ends_failed_with_its_reason_and_a_notification(
    cloud: LocalCloud, stage: str, fault: JobFault | Degradation, error: str
) -> None:
    if isinstance(fault, JobFault):
        cloud.faults.jobs.append(fault)
    else:
        cloud.faults.degradations.append(fault)

    execution = start_run(cloud)

    assert execution["status"] == "FAILED"
    description = cloud.describe(execution["executionArn"])
    assert description["error"] == error
    entered = states_entered(cloud, execution["executionArn"])
    assert entered[-4:] == ["Record Failure", "Claim Failure Notice", "Notify Failure", "Run Failed"]
    run = cloud.run(execution["name"])
    assert run is not None
    assert run["status"] == "FAILED"
    assert run["failure"]["stage"] == stage
    assert run["failure"]["error"] == error
    assert run[f"stage_{stage}__status"] == "FAILED"
    if stage == "gate":
        assert "validation:auc dropped by" in run["failure"]["reason"]
        assert run["gate"]["passed"] is False
    else:
        assert "injected" in run["failure"]["reason"]
    notes = cloud.notifications()
    assert [n["subject"] for n in notes] == [f"mlcp: run {execution['name']} FAILED at {stage}"]
    # What the failed run ran still cost (the augment job, the trials before a later stage failed), on the record
    # and in the notice; the injected tuning failure fails the tuning job before any trial.
    assert float(run["cost"]["stages"]["augment"]["usd"]) > 0
    assert float(run["cost"]["stages"]["tune"]["jobs"]) == (0 if stage == "tune" else float(run["trials"]["Completed"]))
    assert f"Cost: {usd_text(float(run['cost']['total']))}" in notes[0]["message"]


def test_sagemaker_throttling_is_retried_and_the_run_succeeds(cloud: LocalCloud) -> None:
    cloud.faults.api.append(ApiFault("sagemaker", "CreateHyperParameterTuningJob", code="ThrottlingException", times=2))

    execution = start_run(cloud)

    assert execution["status"] == "SUCCEEDED"
    assert failures(cloud, execution["executionArn"]) == ["SageMaker.ThrottlingException"] * 2
    assert states_entered(cloud, execution["executionArn"]).count("Tune Hyperparameters") == 1


def test_lambda_service_exception_is_retried_and_the_run_succeeds(cloud: LocalCloud) -> None:
    cloud.faults.api.append(
        ApiFault("lambda", "Invoke", code="ServiceException", status=500, target="*SelectBest*", times=2)
    )

    execution = start_run(cloud)

    assert execution["status"] == "SUCCEEDED"
    assert failures(cloud, execution["executionArn"]) == ["Lambda.ServiceException"] * 2


def test_the_same_manifest_event_delivered_five_times_starts_one_run(cloud: LocalCloud) -> None:
    version = new_version()
    key = f"datasets/churn/{version}/manifest.json"
    version_id = cloud.upload_dataset("churn", version, {"description": "dedup"})
    cloud.settle()
    before = [e for e in cloud.executions() if f"-{version}-" in e["name"]]
    assert len(before) == 1
    event = load_event("s3/manifest_uploaded")
    event["detail"]["bucket"]["name"] = cloud.bucket
    event["detail"]["object"].update({"key": key, "version-id": version_id})
    start_run_arn = cloud.stack.physical["StartRunFunction"]

    # EventBridge delivers at least once: the same event four more times, as asynchronous invocations.
    for _ in range(4):
        cloud.client("lambda").invoke(FunctionName=start_run_arn, InvocationType="Event", Payload=json.dumps(event))
    cloud.settle()

    executions = [e for e in cloud.executions() if f"-{version}-" in e["name"]]
    assert [e["executionArn"] for e in executions] == [before[0]["executionArn"]]
    assert [r["run_id"] for r in cloud.runs() if r.get("dataset_version") == version] == [before[0]["name"]]
    assert cloud.dead_letters() == []


def test_an_invalid_spec_upload_starts_nothing_and_is_reported(cloud: LocalCloud) -> None:
    before = len(cloud.executions())
    spec = (
        (EXAMPLES / "pipelines" / "churn" / "pipeline.yaml")
        .read_text()
        .replace("max_parallel_jobs: 3", "max_parallel_jobs: 0")
    )

    cloud.upload_spec("churn", spec)
    cloud.settle()

    assert len(cloud.executions()) == before
    notes = cloud.notifications()
    assert [n["subject"] for n in notes] == ["mlcp: pipeline spec churn rejected"]
    assert "tuning.max_parallel_jobs" in str(notes[0]["message"])
    # The registered version stays: the next manifest still runs the previous, valid spec.
    assert start_run(cloud)["status"] == "SUCCEEDED"


def test_fifty_concurrent_manifests_make_fifty_successful_runs(cloud: LocalCloud) -> None:
    versions = [new_version() for _ in range(50)]

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda v: cloud.upload_dataset("churn", v, {"description": "load"}), versions))
    executions = cloud.settle(timeout=600)

    mine = [e for e in executions if any(f"-{v}-" in e["name"] for v in versions)]
    assert len(mine) == 50
    assert {e["status"] for e in mine} == {"SUCCEEDED"}
    recorded = {r["dataset_version"]: r["status"] for r in cloud.runs() if r.get("dataset_version") in versions}
    assert recorded == dict.fromkeys(versions, "SUCCEEDED")
    assert cloud.dead_letters() == []


def test_a_fired_schedule_runs_the_latest_dataset(cloud: LocalCloud) -> None:
    start_run(cloud)  # a dataset version exists
    (schedule,) = [s for s in cloud.schedules() if "TrainingSchedule" in s]
    before = {e["executionArn"] for e in cloud.executions()}

    payload = cloud.fire_schedule(schedule, at="2026-11-28T06:00:00Z")
    executions = [e for e in cloud.settle() if e["executionArn"] not in before]

    assert payload["source"] == "mlcp.schedule"
    assert payload["scheduled_time"] == "2026-11-28T06:00:00Z"
    assert len(executions) == 1
    assert executions[0]["status"] == "SUCCEEDED"
    run = cloud.run(executions[0]["name"])
    assert run is not None
    assert run["trigger"]["type"] == "schedule"

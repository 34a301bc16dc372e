"""The run record and what mlcp says about runs: failure reasons, stages, subjects, notifications."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcp.common import notifications
from mlcp.errors import FieldError
from mlcp.training import gate, run_record
from mlcp.training.payloads import RunInput, RunStatus, StageName, StageRecord, StageStatus
from tests.support import load_event
from tests.unit.builders import COMPRESSED_ARTIFACT, make_best, make_run, neo_spec_data

T0 = datetime(2026, 11, 27, 8, 0, 0, tzinfo=UTC)


# --- failure_reason ------------------------------------------------------------------------------------------
def test_lambda_error_cause_gives_error_type_and_message() -> None:
    error = load_event("training_pipeline/record_failure_gate")["error"]
    name, reason = run_record.failure_reason(error)
    assert name == "GateFailed"
    assert reason == "gate failed: size reduced by 12.00% (4000000 -> 3520000 bytes); required 50.00%"


def test_lambda_error_type_overrides_the_catch_error_name() -> None:
    cause = json.dumps({"errorMessage": "tuning job x has no best training job", "errorType": "TuningFailed"})
    assert run_record.failure_reason({"Error": "States.TaskFailed", "Cause": cause}) == (
        "TuningFailed",
        "tuning job x has no best training job",
    )
    cause = json.dumps({"errorMessage": "boom"})
    assert run_record.failure_reason({"Error": "Lambda.Unknown", "Cause": cause}) == ("Lambda.Unknown", "boom")


def test_sagemaker_sync_failure_names_the_job_and_its_failure_reason() -> None:
    error = load_event("training_pipeline/record_failure_tuning")["error"]
    job = json.loads(error["Cause"])["HyperParameterTuningJobName"]
    name, reason = run_record.failure_reason(error)
    assert name == "States.TaskFailed"
    assert reason == f"{job}: All training jobs failed: ClientError: image not found"


@pytest.mark.parametrize(
    ("key", "job"),
    [("ProcessingJobName", "churn-x-augment"), ("TrainingJobName", "churn-x-compress")],
)
def test_sagemaker_failure_of_other_jobs(key: str, job: str) -> None:
    cause = json.dumps({"TrainingJobArn": "arn:aws:sagemaker:...", key: job, "FailureReason": "AlgorithmError: oom"})
    assert run_record.failure_reason({"Error": "SageMaker.AmazonSageMakerException", "Cause": cause}) == (
        "SageMaker.AmazonSageMakerException",
        f"{job}: AlgorithmError: oom",
    )


def test_sagemaker_failure_without_a_job_name() -> None:
    cause = json.dumps({"FailureReason": "CapacityError"})
    assert run_record.failure_reason({"Error": "States.TaskFailed", "Cause": cause})[1] == "job: CapacityError"


@pytest.mark.parametrize(
    "cause",
    ["The execution exceeded its timeout", "{not json at all", "[1, 2, 3]", json.dumps({"Message": "x"})],
)
def test_any_other_cause_is_passed_through(cause: str) -> None:
    assert run_record.failure_reason({"Error": "States.Timeout", "Cause": cause}) == ("States.Timeout", cause)


@pytest.mark.parametrize(
    "error",
    [{"Error": "States.Runtime"}, {"Error": "States.Runtime", "Cause": ""}, {"Error": "States.Runtime", "Cause": None}],
)
def test_empty_cause_falls_back_to_the_error_name(error: dict[str, Any]) -> None:
    assert run_record.failure_reason(error) == ("States.Runtime", "States.Runtime")


def test_nothing_at_all() -> None:
    assert run_record.failure_reason({}) == ("UnknownError", "UnknownError")


def test_long_cause_is_shortened() -> None:
    name, reason = run_record.failure_reason({"Error": "X", "Cause": "y" * 10_000})
    assert name == "X"
    assert reason == "y" * 2000


# --- failed_stage --------------------------------------------------------------------------------------------
def record(**stages: str) -> dict[str, Any]:
    return {"run_id": "r", "stages": {name: {"status": status} for name, status in stages.items()}}


def test_running_stage_wins_over_the_error() -> None:
    item = record(validate="SUCCEEDED", augment="SKIPPED", tune="RUNNING")
    assert run_record.failed_stage(item, "GateFailed") == "tune"


def test_latest_running_stage_wins() -> None:
    item = record(validate="SUCCEEDED", tune="RUNNING", compress="RUNNING")
    assert run_record.failed_stage(item, "States.TaskFailed") == "compress"


@pytest.mark.parametrize(
    ("error", "stage"),
    [
        ("SpecInvalid", "validate"),
        ("ManifestInvalid", "validate"),
        ("PipelineNotFound", "validate"),
        ("DatasetNotFound", "validate"),
        ("TuningFailed", "tune"),
        ("CompressionFailed", "compress"),
        ("GateFailed", "gate"),
        ("States.TaskFailed", "validate"),
    ],
)
def test_without_a_running_stage_the_error_decides(error: str, stage: str) -> None:
    item = record(validate="SUCCEEDED", tune="SUCCEEDED", compress="SUCCEEDED")
    assert run_record.failed_stage(item, error) == stage


@pytest.mark.parametrize("item", [{}, {"stages": None}, {"stages": {}}])
def test_a_record_without_stages(item: dict[str, Any]) -> None:
    assert run_record.failed_stage(item, "GateFailed") == "gate"
    assert run_record.failed_stage(item, "Whatever") == "validate"


# --- stage records -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", list(StageStatus))
def test_stage_sets_ended_at_only_for_terminal_statuses(status: StageStatus) -> None:
    item = run_record.stage(status, T0 + timedelta(minutes=5))
    assert item["status"] == status.value
    assert ("ended_at" in item) is (status is not StageStatus.RUNNING)
    if "ended_at" in item:
        assert item["ended_at"] == "2026-11-27T08:05:00Z"
    assert "started_at" not in item
    assert StageRecord.model_validate(item).status is status


def test_stage_with_start_job_and_detail() -> None:
    item = run_record.stage(StageStatus.RUNNING, T0, started=T0, job_name="churn-x-hpo", detail="12 trials")
    assert item == {
        "status": "RUNNING",
        "started_at": "2026-11-27T08:00:00Z",
        "job_name": "churn-x-hpo",
        "detail": "12 trials",
    }
    assert run_record.stage(StageStatus.SUCCEEDED, T0, job_name="", detail="") == {
        "status": "SUCCEEDED",
        "ended_at": "2026-11-27T08:00:00Z",
    }


def test_stage_record_duration_round_trips() -> None:
    item = {
        **run_record.stage(StageStatus.RUNNING, T0, started=T0),
        **run_record.stage(StageStatus.SUCCEEDED, T0 + timedelta(seconds=90)),
    }
    assert StageRecord.model_validate(item).duration_seconds == 90.0


def test_ended_stages_durations() -> None:
    tune_end = T0 + timedelta(hours=1, seconds=30)
    item = {
        "stages": {
            "validate": {**run_record.stage(StageStatus.SUCCEEDED, T0, started=T0 - timedelta(seconds=2))},
            "augment": run_record.stage(StageStatus.SKIPPED, T0),
            "tune": {
                **run_record.stage(StageStatus.RUNNING, T0, started=T0),
                **run_record.stage(StageStatus.SUCCEEDED, tune_end),
            },
            "compress": run_record.stage(StageStatus.RUNNING, tune_end, started=tune_end),
        }
    }
    updated = {
        "validate": run_record.stage(StageStatus.SUCCEEDED, T0),
        "augment": run_record.stage(StageStatus.SKIPPED, T0),
        "tune": run_record.stage(StageStatus.SUCCEEDED, tune_end),
        "compress": run_record.stage(StageStatus.RUNNING, tune_end, started=tune_end),
    }
    assert run_record.ended_stages(item, updated) == {"validate": 2.0, "tune": 3630.0}


def test_ended_stages_counts_failures_and_skips_stages_without_a_start() -> None:
    end = T0 + timedelta(minutes=3)
    item = {
        "stages": {
            "gate": {**run_record.stage(StageStatus.FAILED, end, started=T0)},
            "register": run_record.stage(StageStatus.FAILED, end),
        }
    }
    updated = {"gate": {"status": "FAILED"}, "register": {"status": "FAILED"}, "tune": {"status": "SUCCEEDED"}}
    assert run_record.ended_stages(item, updated) == {"gate": 180.0}
    assert run_record.ended_stages({}, updated) == {}


def test_new_run_item() -> None:
    run_input = RunInput.model_validate(load_event("training_pipeline/record_failure_tuning")["execution_input"])
    item = run_record.new_run_item(run_input, T0)
    assert item["status"] == RunStatus.PENDING.value
    assert item["dataset_version"] == "2026-11-27"
    assert item["trigger"] == {"type": "s3", "source": run_input.trigger.source}
    assert item["created_at"] == item["updated_at"] == "2026-11-27T08:00:00Z"
    assert item["stages"] == {}


# --- subjects ------------------------------------------------------------------------------------------------
def test_short_subject_is_kept() -> None:
    assert notifications.subject("run churn-1 SUCCEEDED") == "mlcp: run churn-1 SUCCEEDED"


def test_long_subject_is_cut_with_an_ellipsis() -> None:
    text = notifications.subject("x" * 200)
    assert len(text) == notifications.SUBJECT_MAX
    assert text.endswith("...")
    assert text.startswith("mlcp: xxx")


@given(st.text(max_size=300))
def test_subject_is_short_ascii_single_line(text: str) -> None:
    subject = notifications.subject(text)
    assert len(subject) <= 100
    assert subject.isascii()
    assert "\n" not in subject
    assert subject.startswith("mlcp: ")


@pytest.mark.parametrize("text", ["run a\r\nFAILED", "run a\tFAILED", "run a\x00FAILED"], ids=["crlf", "tab", "nul"])
def test_subject_has_no_control_characters(text: str) -> None:
    subject = notifications.subject(text)
    assert all(32 <= ord(c) < 127 for c in subject), repr(subject)


# --- notifications -------------------------------------------------------------------------------------------
def test_success_notification_has_the_numbers() -> None:
    run = make_run()
    best = make_best(run, objective_value=0.91234)
    result = gate.evaluate(
        run,
        best,
        metric_after=0.9011,
        size_before=4_000_000,
        size_after=1_000_000,
        compressed_artifact=COMPRESSED_ARTIFACT,
    )
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/3"
    note = run_record.success_notification(run, best, result, arn)
    assert note.subject == f"mlcp: run {run.run_id} SUCCEEDED"
    for expected in (
        run.run_id,
        "pipeline churn",
        "dataset 2026-11-27",
        best.training_job_name,
        "booster=gbtree, eta=0.1, max_depth=6",
        "validation:auc: 0.91234 -> after compression 0.9011",
        "4000000 -> 1000000 bytes (75.0% smaller)",
        arn,
    ):
        assert expected in note.message


def test_success_notification_for_neo_says_the_metric_was_not_measured() -> None:
    run = make_run(neo_spec_data())
    best = make_best(run)
    result = gate.evaluate(
        run, best, metric_after=None, size_before=1000, size_after=250, compressed_artifact=COMPRESSED_ARTIFACT
    )
    note = run_record.success_notification(
        run, best, result, "arn:aws:sagemaker:us-east-1:123456789012:model-package/x/1"
    )
    assert "after compression not measured (Neo)" in note.message
    assert "1000 -> 250 bytes (75.0% smaller)" in note.message


def test_failure_notification() -> None:
    note = run_record.failure_notification(
        "churn-2026-11-27-4ff98e78fd", "churn", "gate", "GateFailed", "size reduced by 12.00%"
    )
    assert note.subject == "mlcp: run churn-2026-11-27-4ff98e78fd FAILED at gate"
    assert note.message == (
        "Run churn-2026-11-27-4ff98e78fd of pipeline churn FAILED at stage gate (GateFailed).\n\n"
        "Reason: size reduced by 12.00%"
    )


def test_failure_notification_with_a_long_run_id_keeps_a_valid_subject() -> None:
    note = run_record.failure_notification(
        "r" * 80, "churn", StageName.COMPRESS.value, "CompressionFailed", "no artifact"
    )
    assert len(note.subject) <= 100
    assert "r" * 80 in note.message


def test_rejection_message_lists_every_field() -> None:
    errors = [FieldError("tuning.max_jobs", "required with the Bayesian strategy"), FieldError("", "bad YAML")]
    message = notifications.rejection_message(
        "pipeline spec", "s3://b/pipelines/churn/pipeline.yaml", errors, "pipeline 'churn' keeps its previous version"
    )
    assert "pipeline 'churn' keeps its previous version" in message
    assert "  - tuning.max_jobs: required with the Bayesian strategy" in message
    assert "  - bad YAML" in message

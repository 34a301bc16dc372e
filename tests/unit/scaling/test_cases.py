"""The scaling cases of the issue "Scaling controller: right under late, duplicated, missing and foreign alarm data"
(tests/data/cases/scaling/, copied from the shared cases): each one through the pure decision."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from mlcp.scaling.decide import decide
from mlcp.scaling.policy import (
    AlarmReading,
    AlarmTrigger,
    ControllerState,
    NodegroupConfig,
    ScalingPolicy,
    ScheduleTrigger,
    parse_policy,
)
from mlcp.scaling.use_cases import parse_trigger

CASES = Path(__file__).resolve().parents[2] / "data" / "cases" / "scaling"
ALARM = "mlcp-scaling-gpu-high"
DEGRADED_ISSUE = {
    "code": "AsgInstanceLaunchFailures",
    "message": "Could not launch On-Demand Instances",
    "resourceIds": ["eks-gpu-a"],
}


def case_policy(name: str) -> ScalingPolicy:
    return parse_policy((CASES / name).read_text(), source=name)


def case_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((CASES / name).read_text())
    return event


def group(desired: int, status: str = "ACTIVE", issues: list[dict[str, Any]] | None = None) -> NodegroupConfig:
    return NodegroupConfig.from_describe(
        {
            "nodegroupName": "gpu-a",
            "status": status,
            "scalingConfig": {"minSize": 1, "maxSize": 20, "desiredSize": desired},
            "health": {"issues": issues or []},
        }
    )


def reading(event: dict[str, Any]) -> dict[str, AlarmReading]:
    """What DescribeAlarms says when ``event`` is the alarm's latest state change."""
    trigger = parse_trigger(event)
    assert isinstance(trigger, AlarmTrigger)
    return {ALARM: AlarmReading(state=trigger.state, since=trigger.changed_at)}


def test_the_state_timestamp_is_read_from_the_event() -> None:
    trigger = parse_trigger(case_event("alarm-2-alarm-stale.json"))
    assert isinstance(trigger, AlarmTrigger)
    assert trigger.changed_at == dt.datetime(2026, 11, 27, 16, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize("with_cloudwatch", [True, False], ids=["cloudwatch-read", "memory-only"])
def test_a_stale_alarm_after_a_newer_ok_changes_nothing(with_cloudwatch: bool) -> None:
    policy = case_policy("policy-one-group.yaml")
    newer, stale = case_event("alarm-1-ok-newer.json"), case_event("alarm-2-alarm-stale.json")
    truth = reading(newer) if with_cloudwatch else None  # CloudWatch holds the newest state: OK since 16:40
    state = ControllerState(policy=policy.key)
    capacity = 2
    for event in (newer, stale):
        trigger = parse_trigger(event)
        outcome = decide(
            decision_id=event["id"],
            trigger=trigger,
            nodegroups=[group(capacity)],
            policy=policy,
            state=state,
            now=trigger.at,
            alarms=truth,
        )
        state = outcome.state
        assert outcome.decision.action == "noop", outcome.decision.reason
    assert "stale state change ignored" in outcome.decision.reason
    assert state.alarms[ALARM].state == "OK"  # the stale ALARM is not remembered
    # ... and no re-evaluation ever scales out on it (CloudWatch says OK; the memory says OK).
    for minutes in (5, 10, 15):
        tick = ScheduleTrigger(policy=policy.key, at=parse_trigger(newer).at + dt.timedelta(minutes=minutes))
        later = decide(
            decision_id=f"t{minutes}",
            trigger=tick,
            nodegroups=[group(capacity)],
            policy=policy,
            state=state,
            now=tick.at,
            alarms=truth,
        )
        assert later.decision.action == "noop"
    if with_cloudwatch:
        assert outcome.decision.alarms_read[ALARM].state == "OK"  # what it read is on the record


def test_every_ordering_of_late_and_repeated_events_ends_as_cloudwatch_says() -> None:
    """OK (16:40) and ALARM (16:30), each possibly delivered twice, in every order: never a scale-out."""
    policy = case_policy("policy-one-group.yaml")
    events = [case_event("alarm-1-ok-newer.json"), case_event("alarm-2-alarm-stale.json")]
    truth = reading(events[0])
    for order in set(itertools.permutations([0, 1, 0, 1])):
        state = ControllerState(policy=policy.key)
        for i in order:
            trigger = parse_trigger(events[i])
            outcome = decide(
                decision_id="d",
                trigger=trigger,
                nodegroups=[group(2)],
                policy=policy,
                state=state,
                now=trigger.at,
                alarms=truth,
            )
            state = outcome.state
            assert outcome.decision.action == "noop", (order, outcome.decision.reason)


def test_a_repeated_state_change_is_a_noop() -> None:
    policy = case_policy("policy-one-group.yaml")
    event = case_event("alarm-2-alarm-stale.json")
    trigger = parse_trigger(event)
    truth = reading(event)
    first = decide(
        decision_id="a",
        trigger=trigger,
        nodegroups=[group(2)],
        policy=policy,
        state=ControllerState(policy=policy.key),
        now=trigger.at,
        alarms=truth,
    )
    assert first.decision.action == "update"
    released = first.state.model_copy(update={"lease": None})
    again = decide(
        decision_id="b",
        trigger=trigger,
        nodegroups=[group(4)],
        policy=policy,
        state=released,
        now=trigger.at,
        alarms=truth,
    )
    assert again.decision.action == "noop"
    assert "duplicate state change ignored" in again.decision.reason


@pytest.mark.parametrize("status", ["DEGRADED", "CREATE_FAILED", "DELETE_FAILED", "ACTIVE"])
def test_an_unhealthy_node_group_can_be_scaled_and_its_issues_are_recorded(status: str) -> None:
    policy = case_policy("policy-degraded.yaml")
    trigger = AlarmTrigger(alarm=ALARM, state="ALARM", at=dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC))
    issues = [DEGRADED_ISSUE] if status != "ACTIVE" else []
    outcome = decide(
        decision_id="d",
        trigger=trigger,
        nodegroups=[group(2, status, issues)],
        policy=policy,
        state=ControllerState(policy=policy.key),
        now=trigger.at,
        alarms={ALARM: AlarmReading(state="ALARM", since=trigger.at)},
    )
    assert outcome.decision.action == "update"
    assert outcome.decision.target == 4
    if issues:
        assert (
            f"gpu-a {status} (AsgInstanceLaunchFailures: Could not launch On-Demand Instances)"
            in outcome.decision.reason
        )
        assert outcome.decision.nodegroups[0].health_issues[0].code == "AsgInstanceLaunchFailures"


@pytest.mark.parametrize("status", ["CREATING", "UPDATING", "DELETING"])
def test_only_creating_updating_deleting_block(status: str) -> None:
    policy = case_policy("policy-degraded.yaml")
    trigger = AlarmTrigger(alarm=ALARM, state="ALARM", at=dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC))
    outcome = decide(
        decision_id="d",
        trigger=trigger,
        nodegroups=[group(2, status)],
        policy=policy,
        state=ControllerState(policy=policy.key),
        now=trigger.at,
        alarms={ALARM: AlarmReading(state="ALARM", since=trigger.at)},
    )
    assert outcome.decision.action == "noop"
    assert f"gpu-a ({status}) busy" in outcome.decision.reason


def test_an_alarm_cloudwatch_no_longer_holds_never_scales_out() -> None:
    policy = case_policy("policy-one-group.yaml")
    trigger = AlarmTrigger(alarm=ALARM, state="ALARM", at=dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC))
    for now_state in ("OK", "INSUFFICIENT_DATA", "MISSING"):
        outcome = decide(
            decision_id="d",
            trigger=trigger,
            nodegroups=[group(2)],
            policy=policy,
            state=ControllerState(policy=policy.key),
            now=trigger.at,
            alarms={ALARM: AlarmReading(state=now_state)},
        )
        assert outcome.decision.action == "noop", now_state

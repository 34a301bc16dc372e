"""The scaling policy, the AWS cron matcher and the controller's decision (table-driven)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcp.errors import PolicyInvalid
from mlcp.scaling.cron import CronError, parse_cron
from mlcp.scaling.decide import active_schedule, complete, decide, split
from mlcp.scaling.policy import (
    AlarmMemory,
    AlarmTrigger,
    ControllerState,
    Lease,
    NodegroupConfig,
    ScalingPolicy,
    ScheduleTrigger,
    parse_policy,
    policy_json_schema,
)

ROOT = Path(__file__).resolve().parents[3]
SCHEMA_FILE = ROOT / "docs" / "scaling-policy.schema.json"
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)  # a Wednesday
HIGH, CRIT, LOW = "mlcp-scaling-high", "mlcp-scaling-crit", "mlcp-scaling-low"


def policy(**overrides: Any) -> ScalingPolicy:
    base: dict[str, Any] = {
        "cluster": "c1",
        "name": "gpu",
        "nodegroups": [{"name": "ng"}],
        "min_size": 1,
        "max_size": 20,
        "max_step": 5,
        "cooldowns": {"scale_out_seconds": 300, "scale_in_seconds": 600},
        "scale_in_stabilisation_seconds": 900,
        "scale_out": [{"alarm": HIGH, "add": 2}, {"alarm": CRIT, "add_percent": 75}],
        "scale_in": [{"alarm": LOW, "remove": 1}],
    }
    return ScalingPolicy.model_validate(base | overrides)


def group(desired: int, low: int = 1, high: int = 20, name: str = "ng", status: str = "ACTIVE") -> NodegroupConfig:
    return NodegroupConfig(name=name, status=status, min_size=low, max_size=high, desired_size=desired)


def alarm(name: str, state: str = "ALARM", at: dt.datetime = NOW) -> AlarmTrigger:
    return AlarmTrigger.model_validate({"alarm": name, "state": state, "at": at})


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


def run(
    trigger: AlarmTrigger | ScheduleTrigger,
    nodegroups: list[NodegroupConfig],
    pol: ScalingPolicy | None = None,
    state: ControllerState | None = None,
    now: dt.datetime = NOW,
) -> Any:
    return decide(
        decision_id="d-1",
        trigger=trigger,
        nodegroups=nodegroups,
        policy=pol or policy(),
        state=state or ControllerState(policy="c1/gpu"),
        now=now,
    )


# --- decisions ---------------------------------------------------------------------------------------------------
CASES: list[tuple[str, Any, dict[str, Any], str, int | None]] = [
    # (case, trigger, state fields, expected action/reason fragment, expected desired of the update)
    ("add N", alarm(HIGH), {}, "scale out 4 -> 6", 6),
    ("add P % (75 % of 4)", alarm(CRIT), {}, "scale out 4 -> 7", 7),
    (
        "two alarms: the larger step wins",
        alarm(CRIT),
        {"alarms": {HIGH: AlarmMemory(state="ALARM", since=NOW)}},
        "4 -> 7",
        7,
    ),
    ("alarm back to OK: nothing to do", alarm(HIGH, "OK"), {}, "capacity 4 already at target", None),
    ("scale-out cooldown", alarm(HIGH), {"last_scale_out_at": ago(100)}, "scale-out cooldown, 200 s left", None),
    ("scale-out after cooldown", alarm(HIGH), {"last_scale_out_at": ago(301)}, "scale out 4 -> 6", 6),
    ("scale in", alarm(LOW), {}, "scale in 4 -> 3", 3),
    ("scale-in cooldown after a scale out", alarm(LOW), {"last_scale_out_at": ago(500)}, "scale-in cooldown", None),
    ("scale-in stabilising", alarm(LOW), {"last_scale_out_signal_at": ago(600)}, "stabilising", None),
    ("scale-in after the window", alarm(LOW), {"last_scale_out_signal_at": ago(901)}, "scale in 4 -> 3", 3),
    (
        "scale-out signal beats scale-in",
        alarm(LOW),
        {"alarms": {HIGH: AlarmMemory(state="ALARM", since=ago(60))}},
        "scale out 4 -> 6",
        6,
    ),
    (
        "lease held: alarm storm is a recorded no-op",
        alarm(HIGH),
        {"lease": Lease(holder="other", expires_at=NOW + dt.timedelta(minutes=5), direction="out")},
        "an update is in flight (other",
        None,
    ),
    (
        "expired lease is taken over",
        alarm(HIGH),
        {"lease": Lease(holder="other", expires_at=ago(1), direction="out")},
        "scale out 4 -> 6",
        6,
    ),
]


@pytest.mark.parametrize(
    ("trigger", "fields", "expected", "desired"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_decide_table(trigger: Any, fields: dict[str, Any], expected: str, desired: int | None) -> None:
    # GIVEN a node group at 4 nodes and the controller state of the case
    state = ControllerState(policy="c1/gpu", **fields)

    # WHEN the trigger arrives
    outcome = run(trigger, [group(4)], state=state)

    # THEN the decision says what and why, and an update takes the lease
    decision = outcome.decision
    assert expected in decision.reason
    if desired is None:
        assert decision.action == "noop"
        assert decision.updates == []
        assert outcome.state.lease == state.lease
    else:
        assert decision.action == "update"
        assert decision.updates[0].scaling_config.desiredSize == desired
        assert outcome.state.lease is not None
        assert outcome.state.lease.holder == "d-1"


def test_hard_max_and_max_step() -> None:
    pol = policy(max_step=3, scale_out=[{"alarm": HIGH, "set": 18}], max_size=18, scale_in=[])
    stepped = run(alarm(HIGH), [group(10)], pol).decision
    assert stepped.target == 13
    assert "max_step 3 of +8" in stepped.reason
    at_max = run(alarm(HIGH), [group(18, high=18)], pol).decision
    assert at_max.action == "noop"
    assert "held at the ceiling" in at_max.reason


def test_hard_min_holds_scale_in() -> None:
    pol = policy(min_size=3, scale_in=[{"alarm": LOW, "remove_percent": 50}])
    assert run(alarm(LOW), [group(4)], pol).decision.target == 3
    floor = run(alarm(LOW), [group(3)], pol).decision
    assert floor.action == "noop"
    assert "held at the floor" in floor.reason


def test_decision_lists_its_inputs_and_records_alarm_memory() -> None:
    outcome = run(alarm(HIGH), [group(4)])
    decision = outcome.decision
    assert isinstance(decision.trigger, AlarmTrigger)
    assert decision.trigger.alarm == HIGH
    assert decision.nodegroups == [group(4)]
    assert decision.capacity == 4
    assert outcome.state.alarms[HIGH].state == "ALARM"
    assert outcome.state.last_scale_out_signal_at == NOW
    again = run(alarm(HIGH, at=NOW + dt.timedelta(seconds=30)), [group(4)], state=outcome.state)
    assert again.state.alarms[HIGH].since == NOW  # same state: the alarm's "since" stays


def test_node_group_updating_or_missing_is_a_noop() -> None:
    assert "ng (UPDATING) busy" in run(alarm(HIGH), [group(4, status="UPDATING")]).decision.reason
    assert "not found" in run(alarm(HIGH), [group(4, name="other")]).decision.reason


def test_bounds_mode_never_touches_desired() -> None:
    pol = policy(mode="bounds", max_size=30)
    # capacity in bounds mode is the ceiling (maxSize); CA owns desiredSize
    out = run(alarm(HIGH), [group(4, low=1, high=8)], pol).decision
    assert out.updates[0].scaling_config.request() == {"minSize": 1, "maxSize": 10}
    # scale-in cannot lower the ceiling below the current desired size (EKS: desired <= max)
    clamped = run(alarm(LOW), [group(8, low=1, high=8)], pol).decision
    assert clamped.action == "noop"
    assert "already configured" in clamped.reason
    lowered = run(alarm(LOW), [group(5, low=1, high=8)], pol).decision
    assert lowered.updates[0].scaling_config.request() == {"minSize": 1, "maxSize": 7}


@given(
    desired=st.integers(0, 40),
    high=st.integers(1, 40),
    trigger_name=st.sampled_from([HIGH, CRIT, LOW]),
    mode=st.sampled_from(["desired", "bounds"]),
)
def test_every_update_is_valid_for_eks(desired: int, high: int, trigger_name: str, mode: str) -> None:
    pol = policy(mode=mode, min_size=0, max_size=40, nodegroups=[{"name": "a", "weight": 2}, {"name": "b"}])
    high = max(high, desired)
    nodegroups = [group(desired, low=0, high=high, name="a"), group(desired // 2, low=0, high=high, name="b")]
    decision = run(alarm(trigger_name), nodegroups, pol).decision
    for update in decision.updates:
        config = update.scaling_config
        current = next(n for n in nodegroups if n.name == update.nodegroup)
        effective_desired = config.desiredSize if config.desiredSize is not None else current.desired_size
        assert config.minSize <= effective_desired <= config.maxSize
        assert config.maxSize >= 1
        if mode == "bounds":
            assert config.desiredSize is None


def test_group_balanced_by_weight() -> None:
    pol = policy(nodegroups=[{"name": "a", "weight": 2}, {"name": "b", "weight": 1}], max_step=10)
    decision = run(alarm(HIGH), [group(4, name="a"), group(2, name="b")], pol).decision
    assert decision.target == 8
    assert {u.nodegroup: u.scaling_config.desiredSize for u in decision.updates} == {"a": 5, "b": 3}
    assert split(8, [2, 1]) == [5, 3]
    assert split(0, [1, 1]) == [0, 0]
    assert split(7, [1, 1, 1]) == [3, 2, 2]


@given(total=st.integers(0, 500), weights=st.lists(st.integers(1, 100), min_size=1, max_size=10))
def test_split_adds_up(total: int, weights: list[int]) -> None:
    shares = split(total, weights)
    assert sum(shares) == total
    assert all(abs(s - total * w / sum(weights)) < 1 for s, w in zip(shares, weights, strict=True))


# --- schedules ---------------------------------------------------------------------------------------------------
SCHEDULED = {
    "schedules": [
        {"name": "day", "cron": "cron(0 8 ? * MON-FRI *)", "floor": 10, "ceiling": 20},
        {"name": "night", "cron": "0 20 * * ? *", "ceiling": 4},
    ]
}


def test_schedule_raises_the_floor_without_waiting_for_cooldown() -> None:
    pol = policy(**SCHEDULED)
    trigger = ScheduleTrigger(policy="c1/gpu", schedule="day", at=NOW)
    state = ControllerState(policy="c1/gpu", last_scale_out_at=ago(10))
    decision = run(trigger, [group(4)], pol, state).decision
    assert active_schedule(pol, NOW) is not None
    assert decision.target == 9  # towards the floor 10, max_step 5
    assert "schedule day" in decision.reason
    assert decision.direction == "out"


def test_schedule_ceiling_at_night_and_nothing_to_do_inside_bounds() -> None:
    pol = policy(**SCHEDULED)
    night = NOW.replace(hour=22)
    decision = run(ScheduleTrigger(policy="c1/gpu", at=night), [group(6)], pol, now=night).decision
    assert decision.target == 4
    assert decision.direction == "in"
    inside = run(ScheduleTrigger(policy="c1/gpu", at=night), [group(3)], pol, now=night).decision
    assert inside.action == "noop"
    assert "within 1..4" in inside.reason
    # a scale-out alarm at night stops at the night's ceiling
    capped = run(alarm(HIGH, at=night), [group(4)], pol, now=night).decision
    assert capped.action == "noop"
    assert "held at the ceiling 1..4" in capped.reason


def test_complete_releases_only_its_own_lease_and_starts_the_cooldown() -> None:
    mine = ControllerState(policy="p", lease=Lease(holder="d-1", expires_at=NOW, direction="out"))
    done = complete(mine, "d-1", "out", succeeded=True, requested_at=NOW)
    assert done.lease is None
    assert done.last_scale_out_at == NOW
    failed = complete(mine, "d-1", "in", succeeded=False, requested_at=NOW)
    assert failed.lease is None
    assert failed.last_scale_in_at is None
    theirs = complete(mine, "d-2", "in", succeeded=True, requested_at=NOW)
    assert theirs.lease == mine.lease
    assert theirs.last_scale_in_at == NOW


# --- cron ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "at", "matches"),
    [
        ("cron(0 8 ? * MON-FRI *)", NOW.replace(hour=8, minute=0), True),  # Wednesday
        ("cron(0 8 ? * MON-FRI *)", NOW.replace(day=29, hour=8, minute=0), False),  # Sunday
        ("cron(0 8 ? * 1 *)", NOW.replace(day=29, hour=8, minute=0), True),  # AWS: 1 = Sunday
        ("cron(*/15 * * * ? *)", NOW.replace(minute=45), True),
        ("cron(*/15 * * * ? *)", NOW.replace(minute=46), False),
        ("cron(5,10-12 0 1 JAN,FEB ? 2026-2027)", dt.datetime(2027, 2, 1, 0, 11, tzinfo=dt.UTC), True),
        ("cron(0 12 25 DEC ? *)", NOW, False),
    ],
)
def test_cron_matches(expression: str, at: dt.datetime, matches: bool) -> None:
    assert parse_cron(expression).matches(at) is matches


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 8 * * *", "needs 6 fields"),
        ("0 8 * * * *", "exactly one of day-of-month and day-of-week"),
        ("0 8 ? * ? *", "exactly one of day-of-month and day-of-week"),
        ("61 8 * * ? *", "minutes: 61 is outside 0-59"),
        ("0 8 L * ? *", "L, W and # are not supported"),
        ("0 8 ? * MON#2 *", "L, W and # are not supported"),
        ("0 ? * * ? *", "'?' is only allowed"),
        ("0 9-8 * * ? *", "runs backwards"),
        ("0/0 8 * * ? *", "increment"),
        ("0 8 * FOO ? *", "not a number or a name"),
    ],
)
def test_cron_errors(expression: str, message: str) -> None:
    with pytest.raises(CronError, match=message):
        parse_cron(expression)


def test_cron_previous() -> None:
    cron = parse_cron("cron(30 7 ? * MON-FRI *)")
    assert cron.previous(NOW) == NOW.replace(hour=7, minute=30)
    assert cron.previous(NOW.replace(hour=7, minute=29)) == dt.datetime(2026, 11, 24, 7, 30, tzinfo=dt.UTC)
    assert parse_cron("cron(0 0 1 1 ? 2020)").previous(NOW) is None


# --- the policy model --------------------------------------------------------------------------------------------
def test_example_policy_is_valid() -> None:
    pol = parse_policy((ROOT / "examples" / "scaling" / "policy.yaml").read_bytes())
    assert pol.key == "ml-inference/gpu"
    assert len(pol.alarm_names()) == 4


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"min_size": 30}, "min_size", "must be <= max_size"),
        ({"scale_out": [{"alarm": "gpu-high", "add": 1}]}, "scale_out[0].alarm", "must start with 'mlcp-scaling-'"),
        ({"scale_out": [{"alarm": HIGH, "add": 1, "set": 3}]}, "scale_out[0]", "exactly one of add, add_percent, set"),
        ({"scale_in": [{"alarm": HIGH, "remove": 1}]}, "scale_in[0].alarm", "already drives another rule"),
        ({"nodegroups": [{"name": "a"}, {"name": "a"}]}, "nodegroups[1].name", "listed twice"),
        ({"schedules": [{"name": "x", "cron": "0 8 * * *", "floor": 2}]}, "schedules[0].cron", "needs 6 fields"),
        ({"schedules": [{"name": "x", "cron": "0 8 * * ? *", "floor": 50}]}, "schedules[0].floor", "within"),
        ({"mode": "target"}, "mode", "Input should be 'desired' or 'bounds'"),
        ({"max_step": 0}, "max_step", "greater than or equal to 1"),
        ({"surprise": 1}, "surprise", "Extra inputs are not permitted"),
    ],
)
def test_policy_field_level_errors(change: dict[str, Any], field: str, message: str) -> None:
    base = policy().model_dump(mode="json") | change
    with pytest.raises(PolicyInvalid) as raised:
        parse_policy(base)
    errors = {e.field: e.message for e in raised.value.errors}
    assert field in errors, errors
    assert message in errors[field]


@pytest.mark.parametrize(("text", "message"), [("- a\n- b\n", "must be a mapping"), ("a: [", "not valid YAML")])
def test_policy_text_errors(text: str, message: str) -> None:
    with pytest.raises(PolicyInvalid, match=message):
        parse_policy(text, source="scaling/c1/gpu/policy.yaml")


def test_committed_policy_json_schema_matches_the_models() -> None:
    generated = json.loads(json.dumps(policy_json_schema(), indent=2, sort_keys=True) + "\n")
    committed = json.loads(SCHEMA_FILE.read_text())
    assert generated == committed, (
        f"{SCHEMA_FILE.relative_to(ROOT)} is out of date with mlcp.scaling.policy; run `make scaling-schema`"
    )

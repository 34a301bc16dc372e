"""Tracking steps sized from the level an alarm's evaluation range held (mlcp.scaling.decide.sustained_level)."""

from __future__ import annotations

import datetime as dt

import pytest

from mlcp.scaling.decide import decide, sustained_level
from mlcp.scaling.policy import AlarmReading, ControllerState, NodegroupConfig, ScalingPolicy, ScheduleTrigger

AT = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
HIGH, LOW = "mlcp-scaling-t-high", "mlcp-scaling-t-low"


@pytest.mark.parametrize(
    ("points", "needed", "comparison", "level"),
    [
        ([96.0, 120.0, 90.0], 3, "GreaterThanThreshold", 90.0),  # 3 of 3 above: the lowest of them
        ([96.0, 120.0, 90.0], 2, "GreaterThanOrEqualToThreshold", 96.0),  # 2 of 3: the 2nd highest
        ([96.0, 120.0, 90.0], 1, "GreaterThanThreshold", 120.0),  # 1 of 1: the highest (the only one)
        ([60.0, 70.0, 64.0], 3, "LessThanThreshold", 70.0),  # 3 of 3 below: the highest of them
        ([60.0, 70.0, 64.0], 2, "LessThanOrEqualToThreshold", 64.0),
        ([60.0, 70.0], 5, "LessThanThreshold", 70.0),  # fewer points than needed: the least extreme
        ([], 3, "GreaterThanThreshold", None),
    ],
)
def test_the_level_is_the_mth_most_extreme_point(
    points: list[float], needed: int, comparison: str, level: float | None
) -> None:
    assert sustained_level(points, needed, comparison) == level


def _decide(reading: AlarmReading, rule: str, capacity: int = 20) -> tuple[int, str]:
    policy = ScalingPolicy.model_validate(
        {
            "cluster": "c", "name": "t", "nodegroups": [{"name": "a"}], "min_size": 1, "max_size": 100,
            "max_step": 100, "scale_in_stabilisation_seconds": 0,
            "scale_out": [{"alarm": HIGH, "track": 85}], "scale_in": [{"alarm": LOW, "track": 85}],
        }
    )  # fmt: skip
    alarms = {HIGH: AlarmReading(state="OK"), LOW: AlarmReading(state="OK"), rule: reading}
    outcome = decide(
        decision_id="d-1",
        trigger=ScheduleTrigger(policy=policy.key, schedule="tick", at=AT),
        nodegroups=[NodegroupConfig(name="a", status="ACTIVE", min_size=1, max_size=100, desired_size=capacity)],
        policy=policy,
        state=ControllerState(policy=policy.key),
        now=AT,
        alarms=alarms,
    )
    return outcome.decision.target, outcome.decision.reason


def test_a_tracking_step_is_sized_from_the_level_not_the_latest_point() -> None:
    # The latest point (120 %) would ask for ceil(20 x 120 / 85) = 29; the range held 96 %: ceil(20 x 96 / 85) = 23.
    target, reason = _decide(AlarmReading(state="ALARM", since=AT, value=120.0, level=96.0), HIGH)
    assert target == 23
    assert "96 vs target 85" in reason
    # A scale-in from the highest point of its range (70 %), not the dip of the latest minute (50 %).
    target, _ = _decide(AlarmReading(state="ALARM", since=AT, value=50.0, level=70.0), LOW)
    assert target == 17  # ceil(20 x 70 / 85); the latest point would give ceil(20 x 50 / 85) = 12


def test_without_a_level_the_latest_point_sizes_the_step() -> None:
    target, _ = _decide(AlarmReading(state="ALARM", since=AT, value=120.0), HIGH)
    assert target == 29

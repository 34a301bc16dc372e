"""A manual change (POST /scaling/{cluster}/{nodegroup}/actions) in the pure decide(): clamped to the policy's hard
min/max (the node group's share) and max_step, held by the lease, not by cooldowns."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcp.scaling.decide import complete, decide, manual_change
from mlcp.scaling.policy import ControllerState, Lease, ManualTrigger, NodegroupConfig, ScalingPolicy
from mlcp.scaling.use_cases import MANUAL_SOURCE, parse_trigger

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def policy(**overrides: Any) -> ScalingPolicy:
    base: dict[str, Any] = {
        "cluster": "c1",
        "name": "gpu",
        "nodegroups": [{"name": "ng"}],
        "min_size": 2,
        "max_size": 20,
        "max_step": 5,
    }
    return ScalingPolicy.model_validate(base | overrides)


def group(desired: int, low: int = 2, high: int = 20, name: str = "ng", status: str = "ACTIVE") -> NodegroupConfig:
    return NodegroupConfig(name=name, status=status, min_size=low, max_size=high, desired_size=desired)


def manual(**fields: Any) -> ManualTrigger:
    return ManualTrigger.model_validate({"policy": "c1/gpu", "nodegroup": "ng", "at": NOW, **fields})


def run(
    trigger: ManualTrigger, groups: list[NodegroupConfig], state: ControllerState | None = None, **overrides: Any
) -> Any:
    return decide(
        decision_id="m1",
        trigger=trigger,
        nodegroups=groups,
        policy=policy(**overrides),
        state=state or ControllerState(policy="c1/gpu"),
        now=NOW,
    )


@pytest.mark.parametrize(
    ("fields", "current", "expected", "note"),
    [
        ({"desired": 7}, 4, (2, 20, 7), ""),
        ({"desired": 30}, 4, (2, 20, 9), "max_step 5"),  # clamped to max 20, then one step of 5
        ({"desired": 0}, 4, (2, 20, 2), "moved to 2"),  # the hard minimum
        ({"desired": 1}, 9, (2, 20, 4), "max_step 5"),  # 1 -> 2 (hard min) -> 9-5 = 4 (one step)
        ({"min": 5}, 4, (5, 20, 5), ""),  # desired rises to the new min
        ({"max": 50, "desired": 6}, 4, (2, 20, 6), "max 50 clamped to 20"),
        ({"max": 3}, 4, (2, 3, 3), ""),  # desired follows the new max down
    ],
)
def test_a_manual_change_is_clamped_to_the_policy(
    fields: dict[str, Any], current: int, expected: tuple[int, int, int], note: str
) -> None:
    outcome = run(manual(**fields), [group(current)])

    decision = outcome.decision
    assert decision.action == "update"
    (update,) = decision.updates
    config = update.scaling_config
    assert (config.minSize, config.maxSize, config.desiredSize) == expected
    assert note in decision.reason
    assert decision.target == expected[2]
    assert outcome.state.lease is not None
    assert outcome.state.lease.holder == "m1"


def test_a_manual_change_waits_for_the_lease_but_not_for_cooldowns() -> None:
    held = ControllerState(
        policy="c1/gpu", lease=Lease(holder="alarm-1", expires_at=NOW + dt.timedelta(minutes=5), direction="out")
    )
    cooling = ControllerState(policy="c1/gpu", last_scale_out_at=NOW - dt.timedelta(seconds=10))

    blocked = run(manual(desired=8), [group(4)], held)
    allowed = run(manual(desired=8, requested_by="alice", note="load test"), [group(4)], cooling)

    assert blocked.decision.action == "noop"
    assert "in flight (alarm-1" in blocked.decision.reason
    assert allowed.decision.action == "update"
    assert allowed.decision.direction == "out"
    assert allowed.decision.reason.startswith("manual change of ng by alice (load test): min/max/desired 2/20/4 -> ")
    done = complete(allowed.state, "m1", "out", True, NOW)
    assert done.lease is None
    assert done.last_scale_out_at == NOW  # a manual scale-out starts the cooldown like any other


def test_an_unchanged_or_foreign_node_group_is_a_noop() -> None:
    same = run(manual(desired=4), [group(4)])
    foreign = run(manual(nodegroup="other", desired=4), [group(4)])
    busy = run(manual(desired=6), [group(4, status="UPDATING")])

    assert (same.decision.action, foreign.decision.action, busy.decision.action) == ("noop", "noop", "noop")
    assert "already configured" in same.decision.reason
    assert "not one of policy c1/gpu's" in foreign.decision.reason
    assert "ng (UPDATING) busy" in busy.decision.reason
    assert same.state.lease is None


def test_a_weighted_member_is_clamped_to_its_share_and_bounds_mode_keeps_desired() -> None:
    members = [{"name": "a", "weight": 1}, {"name": "b", "weight": 3}]
    weighted = run(
        manual(nodegroup="b", desired=40), [group(3, 0, 5, "a"), group(6, 1, 15, "b")], nodegroups=members, max_step=50
    )
    bounds = run(manual(max=12), [group(4)], mode="bounds")

    (update,) = weighted.decision.updates
    assert update.nodegroup == "b"
    assert update.scaling_config.desiredSize == 15  # b's share of max_size 20
    (bounded,) = bounds.decision.updates
    assert bounded.scaling_config.request() == {"minSize": 2, "maxSize": 12}
    assert bounds.decision.target == 20 + (12 - 20)  # bounds mode: capacity is the max size


@given(
    current=st.integers(0, 40),
    desired=st.none() | st.integers(0, 1000),
    low=st.none() | st.integers(0, 1000),
    high=st.none() | st.integers(1, 1000),
)
def test_a_manual_change_always_respects_the_policy_and_eks(
    current: int, desired: int | None, low: int | None, high: int | None
) -> None:
    p = policy()
    member = group(current, min(current, 2), max(current, 20))
    change = manual_change(p, member, manual(desired=desired, min=low, max=high))

    if change.update is not None:
        config = change.update.scaling_config
        assert config.desiredSize is not None
        assert config.minSize <= config.desiredSize <= config.maxSize
        assert abs(config.desiredSize - current) <= p.max_step
        assert config.maxSize >= 1
        if desired is not None and current >= p.min_size:
            assert config.desiredSize >= p.min_size


def test_the_manual_execution_input_parses_as_a_manual_trigger() -> None:
    trigger = parse_trigger(
        {
            "source": MANUAL_SOURCE,
            "kind": "manual",
            "policy": "c1/gpu",
            "nodegroup": "ng",
            "desired": 3,
            "at": NOW.isoformat(),
        }
    )

    assert isinstance(trigger, ManualTrigger)
    assert trigger.desired == 3

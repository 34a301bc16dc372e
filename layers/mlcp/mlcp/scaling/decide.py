"""The node-group scaling controller's decision, pure: trigger + node groups + policy + state -> Decision.

``decide`` never calls AWS. The caller (mlcp.scaling.use_cases.decide_scaling, or the simulator) reads the node groups
(DescribeNodegroup) and the controller state, and writes the returned state with a conditional write: the new
state carries the lease when the decision is an update, so of two decisions racing on one policy only one can
apply.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from mlcp.scaling.cron import Cron, parse_cron
from mlcp.scaling.policy import (
    AlarmMemory,
    AlarmReading,
    AlarmTrigger,
    ControllerState,
    Decision,
    Lease,
    ManualTrigger,
    NodegroupConfig,
    NodegroupUpdate,
    ScaleInRule,
    ScaleOutRule,
    ScalingConfig,
    ScalingPolicy,
    ScheduleRule,
    ScheduleTrigger,
)


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    state: ControllerState  # to write back (conditional on the version read)


@cache
def _cron(expression: str) -> Cron:
    return parse_cron(expression)


def active_schedule(policy: ScalingPolicy, now: dt.datetime) -> ScheduleRule | None:
    """The schedule rule that fired last at or before ``now`` (ties: the later rule in the list)."""
    best: tuple[dt.datetime, int] | None = None
    for i, rule in enumerate(policy.schedules):
        fired = _cron(rule.cron).previous(now)
        if fired is not None and (best is None or (fired, i) >= best):
            best = (fired, i)
    return policy.schedules[best[1]] if best else None


def bounds(policy: ScalingPolicy, now: dt.datetime) -> tuple[int, int]:
    """The group's floor and ceiling now: the hard min/max narrowed by the active schedule rule."""
    floor, ceiling = policy.min_size, policy.max_size
    rule = active_schedule(policy, now)
    if rule is not None:
        floor = max(floor, rule.floor if rule.floor is not None else floor)
        ceiling = min(ceiling, rule.ceiling if rule.ceiling is not None else ceiling)
    return floor, max(floor, ceiling)


def split(total: int, weights: list[int]) -> list[int]:
    """Largest-remainder split of ``total`` by weight (ties go to the earlier member)."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    shares = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def sustained_level(points: Sequence[float], datapoints_to_alarm: int, comparison: str) -> float | None:
    """The level an alarm's evaluation range held, for sizing a tracking step: with M = ``datapoints_to_alarm``, the
    M-th highest of the range's data points for a GreaterThan alarm (at least M points were at or above it), the
    M-th lowest for a LessThan alarm (at least M were at or below it); the least extreme one when the range has fewer
    than M points; None without points. So a 3-of-3 scale-out alarm is sized from the lowest of its 3 points and a
    13-of-13 scale-in alarm from the highest of its 13: the step follows what the whole range sustained, not one
    noisy minute. AWS target tracking is likewise conservative on scale-in: it removes capacity only once demand is
    no longer at its earlier high level (how target tracking works, "Note that a target tracking scaling policy is
    more aggressive in adding capacity ...",
    https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html)."""
    if not points:
        return None
    ordered = sorted(points, reverse=comparison.startswith("Greater"))
    return ordered[min(max(1, datapoints_to_alarm), len(ordered)) - 1]


def _newest(known: AlarmMemory | None, state: str, since: dt.datetime | None) -> AlarmMemory | None:
    """The newer of a remembered state and a new one (a state change never goes back in time)."""
    if since is None or (known is not None and known.since > since):
        return known
    if known is not None and known.state == state:
        return known
    return AlarmMemory(state=state, since=since)


def _remember(
    state: ControllerState,
    trigger: AlarmTrigger | ScheduleTrigger | ManualTrigger,
    policy: ScalingPolicy,
    alarms: Mapping[str, AlarmReading] | None,
) -> ControllerState:
    """Remember the newest state change delivered for each alarm (to know a late or repeated one); note when
    scale-out pressure was last seen (a scale-out alarm in ALARM now, as CloudWatch says)."""
    remembered = dict(state.alarms)
    if isinstance(trigger, AlarmTrigger):
        newest = _newest(remembered.get(trigger.alarm), trigger.state, trigger.changed_at)
        if newest is not None:
            remembered[trigger.alarm] = newest
    update: dict[str, object] = {"alarms": remembered}
    if any(name in _in_alarm(remembered, alarms) for name in (r.alarm for r in policy.scale_out)):
        update["last_scale_out_signal_at"] = trigger.at
    return state.model_copy(update=update)


def _in_alarm(remembered: Mapping[str, AlarmMemory], alarms: Mapping[str, AlarmReading] | None) -> set[str]:
    """The alarms in ALARM: as CloudWatch said at decision time when it was read, else as remembered."""
    if alarms is not None:
        return {name for name, reading in alarms.items() if reading.state == "ALARM"}
    return {name for name, memory in remembered.items() if memory.state == "ALARM"}


def stale_reason(
    state: ControllerState, trigger: AlarmTrigger | ScheduleTrigger | ManualTrigger, alarms: Mapping[str, AlarmReading]
) -> str | None:
    """Why an alarm state change must change nothing: it is older than the state remembered for that alarm or than
    the one CloudWatch holds now (EventBridge does not keep order), or it repeats the change already handled."""
    if not isinstance(trigger, AlarmTrigger):
        return None
    at = trigger.changed_at
    this = f"{trigger.alarm} {trigger.state} of {_hms(at)}"
    known = state.alarms.get(trigger.alarm)
    if known is not None and known.since > at:
        return f"stale state change ignored: {this} is older than {known.state} of {_hms(known.since)} (remembered)"
    read = alarms.get(trigger.alarm)
    if read is not None and read.since is not None and read.since > at and read.state != trigger.state:
        return f"stale state change ignored: {this} is older than {read.state} of {_hms(read.since)} (CloudWatch now)"
    if known is not None and known.since == at and known.state == trigger.state:
        return f"duplicate state change ignored: {this} was already handled"
    return None


def health_note(members: list[NodegroupConfig]) -> str:
    """``; gpu-a DEGRADED (NodeCreationFailure: ...)`` for the members EKS reports unhealthy ("" when none)."""
    notes = [
        f"{n.name} {n.status}"
        + (f" ({'; '.join(f'{i.code}: {i.message}' for i in n.health_issues)})" if n.health_issues else "")
        for n in members
        if (n.status != "ACTIVE" and not n.busy) or n.health_issues
    ]
    return f"; {', '.join(notes)}" if notes else ""


def _value(value: float | None) -> str:
    return "no data point" if value is None else f"{value:.4g}"


def _hms(at: dt.datetime) -> str:
    return f"{at.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"


def _seconds(since: dt.datetime | None, now: dt.datetime) -> float:
    return float("inf") if since is None else (now - since).total_seconds()


def decide(
    *,
    decision_id: str,
    trigger: AlarmTrigger | ScheduleTrigger | ManualTrigger,
    nodegroups: list[NodegroupConfig],
    policy: ScalingPolicy,
    state: ControllerState,
    now: dt.datetime,
    alarms: Mapping[str, AlarmReading] | None = None,
) -> Outcome:
    """Decide one action for ``policy``. Level-triggered: every alarm in ALARM counts, as CloudWatch reports it now
    (``alarms``: DescribeAlarms at decision time, recorded on the decision) or, without a reading, as remembered.

    A stale or repeated alarm state change (:func:`stale_reason`) is a recorded no-op that changes no state.
    """
    stale = stale_reason(state, trigger, alarms or {})
    state = state if stale else _remember(state, trigger, policy, alarms)
    by_name = {n.name: n for n in nodegroups}
    members = [by_name[m.name] for m in policy.nodegroups if m.name in by_name]
    desired_mode = policy.mode == "desired"
    capacity = sum(n.desired_size if desired_mode else n.max_size for n in members)

    def outcome(
        reason: str,
        target: int = capacity,
        updates: list[NodegroupUpdate] | None = None,
        lease: Lease | None = None,
    ) -> Outcome:
        nonlocal state
        state = state if lease is None else state.model_copy(update={"lease": lease})
        reason += health_note(members)
        decision = Decision(
            decision_id=decision_id,
            policy=policy.key,
            cluster=policy.cluster,
            at=now,
            action="update" if updates else "noop",
            direction=state.lease.direction if updates and state.lease else None,
            reason=reason,
            capacity=capacity,
            target=target,
            updates=updates or [],
            trigger=trigger,
            nodegroups=nodegroups,
            state_version=state.version,
            alarms_read=dict(alarms or {}),
        )
        return Outcome(decision, state)

    if stale:
        return outcome(stale)
    blocked = _blocked(policy, members, by_name, state, now)
    if blocked:
        return outcome(blocked)
    if isinstance(trigger, ManualTrigger):
        return _decide_manual(trigger, policy, by_name, capacity, decision_id, now, outcome)

    return _decide_alarms(policy, state, members, capacity, alarms, decision_id, now, outcome)


def _decide_alarms(  # noqa: PLR0917 - decide's locals, passed on
    policy: ScalingPolicy,
    state: ControllerState,
    members: list[NodegroupConfig],
    capacity: int,
    alarms: Mapping[str, AlarmReading] | None,
    decision_id: str,
    now: dt.datetime,
    outcome: Callable[..., Outcome],
) -> Outcome:
    """The alarm- and schedule-driven step (not blocked, not manual)."""
    floor, ceiling = bounds(policy, now)
    in_alarm = _in_alarm(state.alarms, alarms)
    values = {name: r.value if r.level is None else r.level for name, r in (alarms or {}).items()}
    direction, target, why = _aim(policy, in_alarm, values, capacity, floor=floor, ceiling=ceiling, now=now)
    if target == capacity:
        limit = "ceiling" if direction == "out" else "floor" if direction == "in" else "bounds"
        held = f" (held at the {limit} {floor}..{ceiling})" if direction != "schedule" else ""
        return outcome(f"{why}; capacity {capacity} already at target{held}")
    schedule_bound = not (floor <= capacity <= ceiling)
    if direction == "schedule":
        direction = "out" if target > capacity else "in"
        schedule_bound = True
    # Cooldowns and stabilisation hold alarm-driven steps; moving back inside the schedule's bounds is planned.
    hold = None if schedule_bound else _held(policy, state, direction, now)
    if hold:
        return outcome(f"{why}; {hold}")
    step = max(-policy.max_step, min(policy.max_step, target - capacity))
    capped = f" (max_step {policy.max_step} of {target - capacity:+d})" if step != target - capacity else ""
    target = capacity + step
    updates = _updates(policy, members, target, floor, ceiling)
    if not updates:
        return outcome(f"{why}; node groups already configured for {target}", target)
    lease = Lease(holder=decision_id, expires_at=now + dt.timedelta(seconds=policy.lease_seconds), direction=direction)
    verb = "scale out" if step > 0 else "scale in"
    return outcome(f"{why}; {verb} {capacity} -> {target}{capped}", target, updates, lease)


def _blocked(
    policy: ScalingPolicy,
    members: list[NodegroupConfig],
    by_name: dict[str, NodegroupConfig],
    state: ControllerState,
    now: dt.datetime,
) -> str | None:
    """Why no update may start now (a node group missing or busy, an update in flight), or None."""
    missing = [m.name for m in policy.nodegroups if m.name not in by_name]
    if missing:
        return f"node group(s) {', '.join(missing)} not found in cluster {policy.cluster}"
    busy = [f"{n.name} ({n.status})" for n in members if n.busy]
    if busy:
        return f"node group(s) {', '.join(busy)} busy: EKS takes no update while CREATING, UPDATING or DELETING"
    if state.lease is not None and state.lease.expires_at > now:
        return f"an update is in flight ({state.lease.holder}, lease until {_hms(state.lease.expires_at)})"
    return None


def _aim(
    policy: ScalingPolicy,
    in_alarm: set[str],
    values: Mapping[str, float | None],
    capacity: int,
    *,
    floor: int,
    ceiling: int,
    now: dt.datetime,
) -> tuple[Literal["out", "in", "schedule"], int, str]:
    """(direction, target capacity, why) from the alarms in ALARM, else the schedule's bounds."""

    def named(rules: list[ScaleOutRule] | list[ScaleInRule]) -> str:
        return ", ".join(
            r.alarm + (f" ({_value(values.get(r.alarm))} vs target {r.track:g})" if r.track is not None else "")
            for r in rules
        )

    outs = [r for r in policy.scale_out if r.alarm in in_alarm]
    if outs:
        wanted = max(r.target(capacity, values.get(r.alarm)) for r in outs)
        why = f"scale-out alarm(s) {named(outs)} in ALARM"
        return "out", min(max(wanted, floor, capacity), ceiling), why
    ins = [r for r in policy.scale_in if r.alarm in in_alarm]
    if ins:
        wanted = min(r.target(capacity, values.get(r.alarm)) for r in ins)
        why = f"scale-in alarm(s) {named(ins)} in ALARM"
        return "in", max(min(wanted, ceiling, capacity), floor), why
    rule = active_schedule(policy, now)
    why = "no scale-out or scale-in alarm in ALARM" + (
        f"; schedule {rule.name}: capacity within {floor}..{ceiling}" if rule else f"; bounds {floor}..{ceiling}"
    )
    return "schedule", min(max(capacity, floor), ceiling), why


def _decide_manual(  # noqa: PLR0917 - decide's locals, passed on
    trigger: ManualTrigger,
    policy: ScalingPolicy,
    by_name: dict[str, NodegroupConfig],
    capacity: int,
    decision_id: str,
    now: dt.datetime,
    outcome: Callable[..., Outcome],
) -> Outcome:
    if trigger.nodegroup not in by_name or trigger.nodegroup not in [m.name for m in policy.nodegroups]:
        return outcome(f"manual change: node group {trigger.nodegroup} is not one of policy {policy.key}'s")
    change = manual_change(policy, by_name[trigger.nodegroup], trigger)
    target = capacity + change.delta
    if not change.update:
        return outcome(f"{change.reason}; node group already configured so", target)
    direction: Literal["out", "in", "schedule"] = (
        "out" if change.delta > 0 else "in" if change.delta < 0 else "schedule"
    )
    lease = Lease(holder=decision_id, expires_at=now + dt.timedelta(seconds=policy.lease_seconds), direction=direction)
    return outcome(change.reason, target, [change.update], lease)


@dataclass(frozen=True)
class ManualChange:
    update: NodegroupUpdate | None  # None: the node group already has that config
    delta: int  # change of the group's capacity (desired size, or max size in bounds mode)
    reason: str


def manual_change(policy: ScalingPolicy, member: NodegroupConfig, trigger: ManualTrigger) -> ManualChange:
    """A manual {desired, min, max} for one node group, clamped to its share of the policy's hard min/max and to
    ``max_step`` nodes from its current desired size; min <= desired <= max as EKS requires. Unset fields keep
    their current value (desiredSize stays Cluster Autoscaler's in bounds mode unless given)."""
    names = [m.name for m in policy.nodegroups]
    weights = [m.weight for m in policy.nodegroups]
    i = names.index(member.name)
    low, high = split(policy.min_size, weights)[i], max(split(policy.max_size, weights)[i], 1)
    notes: list[str] = []

    def clamp(field: str, value: int) -> int:
        got = min(max(value, low), high)
        if got != value:
            notes.append(f"{field} {value} clamped to {got} (policy bounds {low}..{high})")
        return got

    new_min = clamp("min", trigger.min) if trigger.min is not None else member.min_size
    new_max = clamp("max", trigger.max) if trigger.max is not None else member.max_size
    new_max = max(new_max, new_min, 1)
    wanted = trigger.desired if trigger.desired is not None else member.desired_size
    inside = min(max(wanted, new_min), new_max)
    if inside != wanted and trigger.desired is not None:
        notes.append(f"desired {wanted} moved to {inside} (within min..max {new_min}..{new_max})")
    desired = clamp("desired", inside) if trigger.desired is not None else inside
    step = max(-policy.max_step, min(policy.max_step, desired - member.desired_size))
    if step != desired - member.desired_size:
        notes.append(f"desired {desired} limited to {member.desired_size + step} (max_step {policy.max_step})")
    desired = member.desired_size + step
    new_min, new_max = min(new_min, desired), max(new_max, desired, 1)
    sets_desired = policy.mode == "desired" or trigger.desired is not None or desired != member.desired_size
    config = ScalingConfig(minSize=new_min, maxSize=new_max, desiredSize=desired if sets_desired else None)
    before = (member.min_size, member.max_size, member.desired_size)
    after = (new_min, new_max, desired)
    delta = desired - member.desired_size if policy.mode == "desired" else new_max - member.max_size
    who = (f" by {trigger.requested_by}" if trigger.requested_by else "") + (
        f" ({trigger.note})" if trigger.note else ""
    )
    reason = (
        f"manual change of {member.name}{who}: min/max/desired {'/'.join(map(str, before))} -> "
        f"{'/'.join(map(str, after))}" + (f" ({'; '.join(notes)})" if notes else "")
    )
    update = None if before == after else NodegroupUpdate(nodegroup=member.name, scaling_config=config)
    return ManualChange(update=update, delta=delta, reason=reason)


def _held(policy: ScalingPolicy, state: ControllerState, direction: str, now: dt.datetime) -> str | None:
    """Why an alarm-driven step must wait (cooldowns, scale-in stabilisation), or None."""
    if direction == "out":
        left = policy.cooldowns.scale_out_seconds - _seconds(state.last_scale_out_at, now)
        return f"scale-out cooldown, {left:.0f} s left" if left > 0 else None
    last = max((t for t in (state.last_scale_out_at, state.last_scale_in_at) if t), default=None)
    left = policy.cooldowns.scale_in_seconds - _seconds(last, now)
    if left > 0:
        return f"scale-in cooldown, {left:.0f} s left"
    left = policy.scale_in_stabilisation_seconds - _seconds(state.last_scale_out_signal_at, now)
    return f"stabilising after a scale-out signal, {left:.0f} s left" if left > 0 else None


def _updates(
    policy: ScalingPolicy, members: list[NodegroupConfig], target: int, floor: int, ceiling: int
) -> list[NodegroupUpdate]:
    weights = [m.weight for m in policy.nodegroups]
    targets, floors, ceilings = split(target, weights), split(floor, weights), split(ceiling, weights)
    updates: list[NodegroupUpdate] = []
    for member, want, low, high in zip(members, targets, floors, ceilings, strict=True):
        if policy.mode == "desired":
            config = ScalingConfig(minSize=min(low, want), maxSize=max(high, want, 1), desiredSize=want)
            unchanged = (member.min_size, member.max_size, member.desired_size) == (
                config.minSize,
                config.maxSize,
                config.desiredSize,
            )
        else:
            # Bounds mode: desiredSize stays Cluster Autoscaler's. EKS requires min <= desired <= max, so the
            # ceiling cannot drop below the current desired size, nor the floor rise above it.
            config = ScalingConfig(minSize=min(low, member.desired_size), maxSize=max(want, member.desired_size, 1))
            unchanged = (member.min_size, member.max_size) == (config.minSize, config.maxSize)
        if not unchanged:
            updates.append(NodegroupUpdate(nodegroup=member.name, scaling_config=config))
    return updates


def complete(
    state: ControllerState, decision_id: str, direction: str, succeeded: bool, requested_at: dt.datetime
) -> ControllerState:
    """After the update: release the lease (if this decision holds it). A success starts the cooldown as of the
    decision's time (when the update was requested), so cooldowns do not depend on how long EKS took."""
    update: dict[str, object] = {}
    if state.lease is not None and state.lease.holder == decision_id:
        update["lease"] = None
    if succeeded and direction == "out":
        update["last_scale_out_at"] = requested_at
    elif succeeded and direction == "in":
        update["last_scale_in_at"] = requested_at
    return state.model_copy(update=update)

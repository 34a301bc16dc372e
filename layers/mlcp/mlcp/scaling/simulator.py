"""What-if simulator of the scaling controller, pure: replay a demand trace through CloudWatch alarm evaluation and
the policy (the same ``decide`` the Lambda runs), with EKS update time and node start-up delay.

The trace is one demand value per minute in nodes' worth of work (empty: no data point). An alarm on a per-node
metric (Container Insights ``node_*``) is fed the group's utilisation in percent, ``100 * demand / (ready nodes *
node_capacity)``, and has no data point at all while no node is ready (as on AWS); an alarm on a metric that exists
at zero nodes (:data:`~mlcp.scaling.policy.FROM_ZERO_METRICS`: pending pods, a queue depth) is fed the pending work,
``max(0, demand - ready capacity) / node_capacity``. Each alarm is evaluated as CloudWatch does (:class:`AlarmModel`),
including ``treat_missing_data`` and INSUFFICIENT_DATA. State changes become "CloudWatch Alarm State Change" events,
delivered in order or, with :class:`Chaos`, duplicated, delayed, reordered and dropped (seeded), deduplicated by
event id as the decisions table does; every decision reads the alarms' states at decision time (DescribeAlarms),
as the deployed controller does. A periodic schedule (``tick_seconds``) re-evaluates the policy (as EventBridge
Scheduler does in the deployed stack). Bounds mode needs a Cluster Autoscaler: the simulator
emulates one (scale up to the pending demand at once, scale down after ``ca_scale_down_seconds`` unneeded).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mlcp.errors import FieldError, InputInvalid
from mlcp.scaling.decide import bounds, complete, decide, split, sustained_level
from mlcp.scaling.policy import (
    FROM_ZERO_METRICS,
    AlarmDefinition,
    AlarmReading,
    AlarmTrigger,
    ControllerState,
    NodegroupConfig,
    ScalingPolicy,
    ScheduleTrigger,
)

# A Monday, so that weekday schedules fire on the first day of a trace.
DEFAULT_START = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Chaos:
    """How alarm events are mistreated on their way (EventBridge delivers at least once, in no particular order)."""

    seed: int = 7
    drop: float = 0.1  # share of events never delivered
    duplicate: float = 0.2  # share delivered twice (the copy later)
    delay: float = 0.3  # share delayed by 1..max_delay_minutes (so overtaken by later ones)
    max_delay_minutes: int = 6


@dataclass(frozen=True)
class SimConfig:
    node_capacity: float = 1.0  # demand units one node serves
    startup_seconds: int = 240  # from the scaling request to a Ready node
    update_seconds: int = 180  # how long EKS keeps the update InProgress (the lease is held meanwhile)
    tick_seconds: int = 60  # periodic re-evaluation schedule
    flap_window_seconds: int | None = None  # default: the policy's own (:func:`flap_window_seconds`)
    ca_scale_down_seconds: int = 600  # bounds mode: Cluster Autoscaler's scale-down-unneeded-time
    start: dt.datetime = DEFAULT_START
    initial_nodes: int | None = None  # default: the policy's floor at the start
    chaos: Chaos | None = None  # None: every alarm event delivered once, at once, in order
    # False: DescribeAlarms gives no evaluation-range level, so tracking steps are sized from the latest data point
    # (the controller before 2026-11-30; the bench's AWS-style target tracking)
    range_levels: bool = True


@dataclass
class Action:
    minute: int
    direction: str
    capacity: int
    target: int
    reason: str


@dataclass
class SimResult:
    minutes: int
    node_hours: float
    under_capacity_minutes: float
    actions: list[Action]
    flaps: int
    noops: int
    peak_nodes: int
    peak_demand: float
    runaway: int  # scale-outs decided while no scale-out alarm was in ALARM (CloudWatch's state at decision time)
    demand: list[float | None] = field(repr=False)
    capacity: list[float] = field(repr=False)  # ready nodes x node capacity
    nodes: list[int] = field(repr=False)  # launched nodes (billed)

    def summary(self) -> dict[str, Any]:
        return {
            "minutes": self.minutes,
            "node_hours": round(self.node_hours, 2),
            "under_capacity_minutes": round(self.under_capacity_minutes, 1),
            "actions": len(self.actions),
            "scale_outs": sum(a.direction == "out" for a in self.actions),
            "scale_ins": sum(a.direction == "in" for a in self.actions),
            "flaps": self.flaps,
            "noop_decisions": self.noops,
            "peak_nodes": self.peak_nodes,
            "overshoot": self.overshoot,
            "runaway": self.runaway,
        }

    @property
    def overshoot(self) -> float:
        """Peak capacity / peak demand, both in nodes (1.0: the peak was met exactly)."""
        needed = math.ceil(self.peak_demand - 1e-9)
        return round(self.peak_nodes / needed, 2) if needed > 0 else 0.0


def parse_trace(text: str, *, source: str = "trace") -> list[float | None]:
    """CSV with a header and a ``demand`` column (one row per minute; an empty cell is a missing data point).

    Lines starting with ``#`` are comments.
    """
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
    if not rows or "demand" not in rows[0]:
        raise InputInvalid(source, [FieldError("demand", "the CSV needs a header with a 'demand' column")])
    values: list[float | None] = []
    for i, row in enumerate(rows):
        cell = (row.get("demand") or "").strip()
        if not cell:
            values.append(None)
            continue
        try:
            value = float(cell)
        except ValueError:
            raise InputInvalid(source, [FieldError(f"row {i + 1}.demand", f"{cell!r} is not a number")]) from None
        if value < 0 or math.isnan(value):
            raise InputInvalid(source, [FieldError(f"row {i + 1}.demand", "must be a number >= 0")])
        values.append(value)
    return values


class AlarmModel:
    """One metric alarm evaluated as CloudWatch does, one data point per period (None: missing).

    With ``treat_missing_data`` breaching/notBreaching a missing point counts as breaching/not breaching. With
    ``missing``: no point in the evaluation range -> INSUFFICIENT_DATA; fewer points than ``datapoints_to_alarm``
    -> ALARM if they all breach, else OK. With ``ignore``: no point -> the state is kept; fewer points than
    ``datapoints_to_alarm`` -> kept if they all breach, else OK. Otherwise ALARM when at least
    ``datapoints_to_alarm`` of the last ``evaluation_periods`` breach
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data).
    """

    def __init__(self, definition: AlarmDefinition, since: dt.datetime) -> None:
        self.d = definition
        self.state = "INSUFFICIENT_DATA"
        self.since = since
        self.points: list[float | None] = []
        self.samples: list[float] = []

    @property
    def per_node(self) -> bool:
        return self.d.metric not in FROM_ZERO_METRICS

    def breaches(self, value: float) -> bool:
        c, t = self.d.comparison, self.d.threshold
        return {
            "GreaterThanThreshold": value > t,
            "GreaterThanOrEqualToThreshold": value >= t,
            "LessThanThreshold": value < t,
            "LessThanOrEqualToThreshold": value <= t,
        }[c]

    def evaluate(self, window: list[float | None]) -> str:
        missing, m = self.d.treat_missing_data, self.d.datapoints_to_alarm
        if missing in ("breaching", "notBreaching"):
            flags = [self.breaches(p) if p is not None else missing == "breaching" for p in window]
            return "ALARM" if sum(flags) >= m else "OK"
        flags = [self.breaches(p) for p in window if p is not None]
        if not flags:
            return "INSUFFICIENT_DATA" if missing == "missing" else self.state
        if sum(flags) >= m:
            return "ALARM"
        if len(flags) < m:  # a partial range: a non-breaching point means OK; all breaching: ALARM, ignore: kept
            return "OK" if not all(flags) else "ALARM" if missing == "missing" else self.state
        return "OK"

    def level(self) -> float | None:
        """The level of the evaluation range's data points (:func:`~mlcp.scaling.decide.sustained_level`)."""
        points = [p for p in self.points[-self.d.evaluation_periods :] if p is not None]
        return sustained_level(points, self.d.datapoints_to_alarm, self.d.comparison)

    def close_period(self, at: dt.datetime) -> str | None:
        """Close one period's data point and evaluate; return the new state on a change."""
        self.points.append(sum(self.samples) / len(self.samples) if self.samples else None)
        self.samples = []
        new = self.evaluate(self.points[-self.d.evaluation_periods :])
        if new == self.state:
            return None
        self.state, self.since = new, at
        return new


@dataclass(order=True)
class _Event:
    due: int
    order: float
    event_id: str = field(compare=False)
    alarm: str = field(compare=False)
    state: str = field(compare=False)
    at: dt.datetime = field(compare=False)


def simulate(policy: ScalingPolicy, demand: Sequence[float | None], config: SimConfig | None = None) -> SimResult:
    replay = _Replay(policy, config or SimConfig())
    for minute, value in enumerate(demand):
        replay.minute(minute, value)
    return replay.result()


class _Replay:
    """The node groups, the alarms and the controller state of one simulation, advanced a minute at a time."""

    def __init__(self, policy: ScalingPolicy, cfg: SimConfig) -> None:
        self.policy, self.cfg = policy, cfg
        self.weights = [m.weight for m in policy.nodegroups]
        start = cfg.initial_nodes if cfg.initial_nodes is not None else policy.min_size
        start = max(policy.min_size, min(policy.max_size, start))
        self.names = [m.name for m in policy.nodegroups]
        self.desired = self._split(start)
        self.low = self._split(policy.min_size)
        # Bounds mode starts with the ceiling at the start size: the controller has to raise it.
        self.high = self._split(start if policy.mode == "bounds" else policy.max_size)
        self.launched: list[int] = [0] * start  # the minute each node is Ready
        self.state = ControllerState(policy=policy.key)
        self.alarms = [AlarmModel(a, cfg.start) for a in policy.alarms]
        self.outbox: list[_Event] = []  # alarm events on their way to the controller
        self.seen: set[str] = set()  # event ids decided (the decisions table's conditional put)
        self.rng = random.Random(cfg.chaos.seed if cfg.chaos else 0)  # noqa: S311 - a seeded replay, not a secret
        self.runaway = 0
        # (due minute, decision id, direction, decided at, configs) of the update in flight
        self.pending: tuple[int, str, str, dt.datetime, dict[str, dict[str, int]]] | None = None
        self.actions: list[Action] = []
        self.noops = 0
        self.unneeded_since: int | None = None
        self.demand: list[float | None] = []
        self.capacity: list[float] = []
        self.nodes: list[int] = []
        self.under = 0.0
        self.seq = 0

    def _split(self, total: int) -> dict[str, int]:
        return dict(zip(self.names, split(total, self.weights), strict=True))

    def _nodegroups(self) -> list[NodegroupConfig]:
        status = "ACTIVE" if self.pending is None else "UPDATING"
        return [
            NodegroupConfig(
                name=n, status=status, min_size=self.low[n], max_size=self.high[n], desired_size=self.desired[n]
            )
            for n in self.names
        ]

    def _resize(self, minute: int) -> None:
        total = sum(self.desired.values())
        if total > len(self.launched):
            ready = minute + math.ceil(self.cfg.startup_seconds / 60)
            self.launched = self.launched + [ready] * (total - len(self.launched))
        elif total < len(self.launched):
            self.launched = sorted(self.launched)[:total]  # booting nodes go first

    def _readings(self) -> dict[str, AlarmReading]:
        """DescribeAlarms now: every alarm the policy defines (the others do not exist in the simulation)."""
        known = {
            a.d.name: AlarmReading.model_validate(
                {
                    "state": a.state,
                    "since": a.since,
                    "value": next((p for p in reversed(a.points) if p is not None), None),
                    "level": a.level() if self.cfg.range_levels else None,
                }
            )
            for a in self.alarms
        }
        return {name: known.get(name, AlarmReading(state="MISSING")) for name in self.policy.alarm_names()}

    def _decide(self, trigger: AlarmTrigger | ScheduleTrigger, minute: int, now: dt.datetime) -> None:
        self.seq += 1
        readings = self._readings()
        outcome = decide(
            decision_id=f"sim-{self.seq}",
            trigger=trigger,
            nodegroups=self._nodegroups(),
            policy=self.policy,
            state=self.state,
            now=max(now, trigger.at),
            alarms=readings,
        )
        self.state = outcome.state
        decision = outcome.decision
        if not decision.applied or decision.direction is None:
            self.noops += 1
            return
        outs = {r.alarm for r in self.policy.scale_out}
        floor = bounds(self.policy, decision.at)[0]
        if decision.target > max(decision.capacity, floor) and not any(readings[n].state == "ALARM" for n in outs):
            self.runaway += 1  # a scale-out with no scale-out alarm in ALARM at decision time
        configs = {u.nodegroup: u.scaling_config.request() for u in decision.updates}
        due = minute + math.ceil(self.cfg.update_seconds / 60)
        self.pending = (due, decision.decision_id, decision.direction, decision.at, configs)
        self.actions.append(Action(minute, decision.direction, decision.capacity, decision.target, decision.reason))
        if self.policy.mode == "desired":
            for name, request in configs.items():
                self.desired[name] = request["desiredSize"]
            self._resize(minute)

    def _complete(self, minute: int) -> None:
        if self.pending is None or minute < self.pending[0]:
            return
        _, decision_id, direction, decided_at, configs = self.pending
        for name, request in configs.items():
            self.low[name], self.high[name] = request["minSize"], request["maxSize"]
            self.desired[name] = request.get("desiredSize", self.desired[name])
        self.state = complete(self.state, decision_id, direction, succeeded=True, requested_at=decided_at)
        self.pending = None

    def minute(self, minute: int, value: float | None) -> None:
        now = self.cfg.start + dt.timedelta(minutes=minute)
        self._complete(minute)
        if self.policy.mode == "bounds":
            self._autoscale(value, minute)
            self._resize(minute)
        ready = sum(1 for r in self.launched if r <= minute)
        capacity = ready * self.cfg.node_capacity
        if value is not None:
            for alarm in self.alarms:
                if not alarm.per_node:
                    alarm.samples.append(max(0.0, value - capacity) / self.cfg.node_capacity)
                elif capacity > 0:  # a per-node metric has no data point while no node is ready
                    alarm.samples.append(100.0 * value / capacity)
            if value > capacity + 1e-9:
                self.under += 1
        self.demand.append(value)
        self.capacity.append(capacity)
        self.nodes.append(len(self.launched))
        seconds, at = (minute + 1) * 60, now + dt.timedelta(minutes=1)
        for alarm in self.alarms:
            changed = alarm.close_period(at) if seconds % alarm.d.period_seconds == 0 else None
            if changed is not None:
                self._send(_Event(minute + 1, 0.0, f"{alarm.d.name}-{minute}", alarm.d.name, changed, at))
        self._deliver(minute + 1, at)
        if seconds % self.cfg.tick_seconds == 0:
            self._decide(ScheduleTrigger(policy=self.policy.key, schedule="tick", at=at), minute + 1, at)

    def _send(self, event: _Event) -> None:
        """Put an alarm event on its way: at once, or (chaos) dropped, delayed, duplicated."""
        chaos = self.cfg.chaos
        if chaos is None:
            self.outbox.append(event)
            return
        rng = self.rng
        if rng.random() < chaos.drop:
            return
        copies = 2 if rng.random() < chaos.duplicate else 1
        for _ in range(copies):
            delay = rng.randint(1, chaos.max_delay_minutes) if rng.random() < chaos.delay else 0
            self.outbox.append(
                _Event(event.due + delay, rng.random(), event.event_id, event.alarm, event.state, event.at)
            )

    def _deliver(self, minute: int, now: dt.datetime) -> None:
        due = sorted(e for e in self.outbox if e.due <= minute)
        self.outbox = [e for e in self.outbox if e.due > minute]
        for event in due:
            if event.event_id in self.seen:
                self.noops += 1  # the decisions table refuses the second claim: a recorded duplicate
                continue
            self.seen.add(event.event_id)
            trigger = AlarmTrigger.model_validate(
                {"alarm": event.alarm, "state": event.state, "at": event.at, "state_at": event.at}
            )
            self._decide(trigger, minute, now)

    def _autoscale(self, demand: float | None, minute: int) -> None:
        """A Cluster Autoscaler in a few lines: desired follows the demand within each node group's min..max."""
        if demand is None:
            return
        needed = dict(zip(self.names, split(math.ceil(demand / self.cfg.node_capacity), self.weights), strict=True))
        grow = any(needed[n] > self.desired[n] for n in self.names)
        shrink = any(needed[n] < self.desired[n] for n in self.names)
        for n in self.names:
            if needed[n] > self.desired[n]:
                self.desired[n] = min(needed[n], self.high[n])
        if shrink and not grow:
            if self.unneeded_since is None:
                self.unneeded_since = minute
            elif (minute - self.unneeded_since) * 60 >= self.cfg.ca_scale_down_seconds:
                for n in self.names:
                    self.desired[n] = max(needed[n], self.low[n])
                self.unneeded_since = None
            return
        self.unneeded_since = None
        for n in self.names:  # bounds moved under CA: desired stays within them
            self.desired[n] = max(self.low[n], min(self.high[n], self.desired[n]))

    def result(self) -> SimResult:
        return SimResult(
            minutes=len(self.demand),
            node_hours=sum(self.nodes) / 60.0,
            under_capacity_minutes=self.under,
            actions=self.actions,
            flaps=count_flaps(self.actions, self.cfg.flap_window_seconds or flap_window_seconds(self.policy)),
            noops=self.noops,
            peak_nodes=max(self.nodes, default=0),
            peak_demand=max((d for d in self.demand if d is not None), default=0.0),
            runaway=self.runaway,
            demand=self.demand,
            capacity=self.capacity,
            nodes=self.nodes,
        )


def flap_window_seconds(policy: ScalingPolicy) -> int:
    """The policy's flap window: its scale-out cooldown + scale-in cooldown + scale-in stabilisation, the shortest
    time in which the policy itself means to go out and back in (a reversal sooner is a flap)."""
    return (
        policy.cooldowns.scale_out_seconds + policy.cooldowns.scale_in_seconds + policy.scale_in_stabilisation_seconds
    )


def count_flaps(actions: list[Action], window_seconds: int) -> int:
    """A flap: a reversal of direction (a scale-out followed by a scale-in, or a scale-in by a scale-out) whose
    second action comes less than ``window_seconds`` after the first (:func:`flap_window_seconds`)."""
    return sum(
        1
        for before, after in itertools.pairwise(actions)
        if before.direction != after.direction and (after.minute - before.minute) * 60 < window_seconds
    )


def static_node_hours(demand: Sequence[float | None], node_capacity: float) -> tuple[float, int]:
    """Static peak provisioning: enough nodes for the trace's peak, all the time."""
    peak = math.ceil(max((d for d in demand if d is not None), default=0.0) / node_capacity)
    return peak * len(demand) / 60.0, peak

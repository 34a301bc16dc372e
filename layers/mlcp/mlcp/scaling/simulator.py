"""What-if simulator of the scaling controller, pure: replay a demand trace through CloudWatch alarm evaluation and
the policy (the same ``decide`` the Lambda runs), with EKS update time and node start-up delay.

The trace is one demand value per minute in nodes' worth of work (empty: no data point). Every alarm of the policy
is fed the group's utilisation in percent, ``100 * demand / (ready nodes * node_capacity)``, averaged over its
period, and evaluated as CloudWatch does: ALARM when at least ``datapoints_to_alarm`` of the last
``evaluation_periods`` data points breach; missing data treated per ``treat_missing_data``. State changes become
"CloudWatch Alarm State Change" triggers; a periodic schedule (``tick_seconds``) re-evaluates alarms that stay in
ALARM (as EventBridge Scheduler does in the deployed stack). Bounds mode needs a Cluster Autoscaler: the simulator
emulates one (scale up to the pending demand at once, scale down after ``ca_scale_down_seconds`` unneeded).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mlcp.errors import FieldError, InputInvalid
from mlcp.scaling.decide import complete, decide, split
from mlcp.scaling.policy import (
    AlarmDefinition,
    AlarmTrigger,
    ControllerState,
    NodegroupConfig,
    ScalingPolicy,
    ScheduleTrigger,
)

# A Monday, so that weekday schedules fire on the first day of a trace.
DEFAULT_START = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


@dataclass(frozen=True)
class SimConfig:
    node_capacity: float = 1.0  # demand units one node serves
    startup_seconds: int = 240  # from the scaling request to a Ready node
    update_seconds: int = 180  # how long EKS keeps the update InProgress (the lease is held meanwhile)
    tick_seconds: int = 60  # periodic re-evaluation schedule
    flap_window_seconds: int = 900  # a reversal of direction within 15 minutes counts as a flap
    ca_scale_down_seconds: int = 600  # bounds mode: Cluster Autoscaler's scale-down-unneeded-time
    start: dt.datetime = DEFAULT_START
    initial_nodes: int | None = None  # default: the policy's floor at the start


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
        }


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


class _Alarm:
    def __init__(self, definition: AlarmDefinition) -> None:
        self.d = definition
        self.state = "INSUFFICIENT_DATA"
        self.points: list[float | None] = []
        self.samples: list[float] = []

    def breaches(self, value: float) -> bool:
        c, t = self.d.comparison, self.d.threshold
        return {
            "GreaterThanThreshold": value > t,
            "GreaterThanOrEqualToThreshold": value >= t,
            "LessThanThreshold": value < t,
            "LessThanOrEqualToThreshold": value <= t,
        }[c]

    def close_period(self) -> str | None:
        """Close one period's data point and evaluate; return the new state on a change."""
        self.points.append(sum(self.samples) / len(self.samples) if self.samples else None)
        self.samples = []
        window = self.points[-self.d.evaluation_periods :]
        missing = self.d.treat_missing_data
        flags = [
            self.breaches(p) if p is not None else (True if missing == "breaching" else False)  # noqa: SIM210
            for p in window
            if p is not None or missing in ("breaching", "notBreaching")
        ]
        if not flags:
            new = self.state if missing == "ignore" else "INSUFFICIENT_DATA"
        elif sum(flags) >= self.d.datapoints_to_alarm:
            new = "ALARM"
        elif len(flags) < self.d.datapoints_to_alarm and missing == "ignore":
            new = self.state
        else:
            new = "OK"
        if new == self.state:
            return None
        self.state = new
        return new


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
        self.alarms = [_Alarm(a) for a in policy.alarms]
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

    def _decide(self, trigger: AlarmTrigger | ScheduleTrigger, minute: int) -> None:
        self.seq += 1
        outcome = decide(
            decision_id=f"sim-{self.seq}",
            trigger=trigger,
            nodegroups=self._nodegroups(),
            policy=self.policy,
            state=self.state,
            now=trigger.at,
        )
        self.state = outcome.state
        decision = outcome.decision
        if not decision.applied or decision.direction is None:
            self.noops += 1
            return
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
            utilisation = 100.0 * value / capacity if capacity else (0.0 if value == 0 else 1000.0)
            for alarm in self.alarms:
                alarm.samples.append(utilisation)
            if value > capacity + 1e-9:
                self.under += 1
        self.demand.append(value)
        self.capacity.append(capacity)
        self.nodes.append(len(self.launched))
        seconds, at = (minute + 1) * 60, now + dt.timedelta(minutes=1)
        for alarm in self.alarms:
            changed = alarm.close_period() if seconds % alarm.d.period_seconds == 0 else None
            if changed is not None:
                self._decide(
                    AlarmTrigger.model_validate({"alarm": alarm.d.name, "state": changed, "at": at}), minute + 1
                )
        if seconds % self.cfg.tick_seconds == 0:
            self._decide(ScheduleTrigger(policy=self.policy.key, schedule="tick", at=at), minute + 1)

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
            flaps=count_flaps(self.actions, self.cfg.flap_window_seconds),
            noops=self.noops,
            peak_nodes=max(self.nodes, default=0),
            demand=self.demand,
            capacity=self.capacity,
            nodes=self.nodes,
        )


def count_flaps(actions: list[Action], window_seconds: int) -> int:
    """Reversals of direction (out then in, or in then out) within ``window_seconds`` of the previous action."""
    return sum(
        1
        for before, after in itertools.pairwise(actions)
        if before.direction != after.direction and (after.minute - before.minute) * 60 < window_seconds
    )


def static_node_hours(demand: Sequence[float | None], node_capacity: float) -> tuple[float, int]:
    """Static peak provisioning: enough nodes for the trace's peak, all the time."""
    peak = math.ceil(max((d for d in demand if d is not None), default=0.0) / node_capacity)
    return peak * len(demand) / 60.0, peak

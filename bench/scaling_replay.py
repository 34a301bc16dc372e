"""Scaling policy vs AWS-style target tracking, a pending-demand provisioner and static peak, clean and chaotic.

Each trace in examples/scaling/ (diurnal, spike, ramp) is replayed through the what-if simulator
(mlcp.scaling.simulator: CloudWatch alarm evaluation with missing data, the controller's own decide() reading the
alarms' states at decision time, EKS update time, node start-up delay) with these strategies:

- policy: examples/scaling/policy.yaml as written, its alarm events delivered at once and in order (clean);
- policy chaos: the same, its alarm events duplicated, delayed, reordered and dropped (seeded, mlcp.scaling.
  simulator.Chaos: 10 % dropped, 20 % duplicated, 30 % delayed by 1..6 minutes);
- target tracking: AWS-style target tracking at the same utilisation target (a high alarm 3 of 3 minutes above it,
  a low alarm 15 of 15 below 90 % of it, scale to ceil(capacity x utilisation / target) from the latest data point,
  300 s cooldowns);
- provisioner: a Karpenter-like pending-demand provisioner (adds the nodes the pending work needs, counting those
  still starting; removes unneeded ones after 5 minutes) with the same node start-up delay;
- floor start-up / floor alarm+up: the reactive floor, an oracle that knows each minute's demand exactly and
  launches what it needs at once (no cooldown, no minimum beyond min_size), its nodes Ready after the node start-up
  delay (start-up) or after one alarm period + start-up (alarm+up); the best headroom x hold time of a small grid
  within 1.25 x the limit (an estimate of the floor from above: another sizing rule could do a little better; the
  burst onsets it misses no reactive controller can meet, bench/README.md). Its flaps are shown, not a goal;
- static peak: enough nodes for the trace's peak demand, all the time.

Every controller starts where a node group that ran under the example policy before the trace would stand: the
capacity its tracking rule holds for minute 0's demand (``ceil(demand x 100 / 85)``, within the bounds at the
start); ``--cold-start`` starts every trace at min_size instead (the bench before 2026-11-30).

Measures (mlcp.scaling.simulator): node-hours and their ratio to the limit (capacity that follows demand exactly:
the trace's own node-hours, ceil of demand per minute), under-capacity minutes (demand above ready capacity) and
their share of the trace, overshoot (peak capacity / peak demand), flaps (a reversal of direction within the
policy's cooldowns + stabilisation window), runaway decisions (a scale-out decided while no scale-out alarm was in
ALARM at decision time, above the schedule's floor). Goals: 0 runaway, 0 flaps, peak <= static peak + max_step,
node-hours <= 1.25 x the limit with under-capacity <= 0.5 % of minutes.

Then the real template runs in the embedded local cloud: an alarm set to ALARM resizes a policy's node groups (one,
then two balanced by weight) and the state transitions of that execution are counted from its history, with a
no-op decision's for comparison. Writes bench/results/scaling_replay.json and one PNG per trace. Last line:
RESULT flaps=<int> runaway=<int> worst_ratio=<float> under_capacity_pct=<float> node_hours_saved_pct=<float> ...

    .venv/bin/python bench/scaling_replay.py [--out DIR]
    .venv/bin/python bench/scaling_replay.py --quick   # smoke run: the spike trace only, one node group only
    .venv/bin/python bench/scaling_replay.py --cold-start   # every trace from min_size nodes
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import tempfile
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from mlcp.scaling.decide import bounds
from mlcp.scaling.policy import ScalingPolicy, parse_policy
from mlcp.scaling.simulator import (
    Action,
    Chaos,
    SimConfig,
    count_flaps,
    flap_window_seconds,
    parse_trace,
    simulate,
    static_node_hours,
)
from mlcp_cli.local.cloud import LocalCloud
from mlcp_cli.local.patches.eks import EKS_UPDATE_SECONDS
from mlcp_cli.scaling_commands import plot

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "scaling"
RESULTS = ROOT / "bench" / "results"
TRACES = ("diurnal", "spike", "ramp")
NODEGROUPS = (1, 2)
QUICK_TRACES = ("spike",)  # --quick
QUICK_NODEGROUPS = (1,)
FLOOR_HEADROOMS = tuple(1.0 + i / 50 for i in range(16))  # 1.00 .. 1.30
FLOOR_HOLDS = (0, 2, 5, 10, 15, 30)  # minutes
GOAL_RATIO = 1.25  # node-hours / limit


def target_tracking(policy: ScalingPolicy, target: float) -> ScalingPolicy:
    """AWS-style target tracking on the policy's node groups: Application Auto Scaling's two alarms and formula."""
    high, low = "mlcp-scaling-tt-high", "mlcp-scaling-tt-low"
    return ScalingPolicy.model_validate(
        {
            **policy.model_dump(include={"cluster", "name", "mode", "nodegroups", "min_size", "max_size"}),
            "max_step": policy.max_size,
            "cooldowns": {"scale_out_seconds": 300, "scale_in_seconds": 300},
            "scale_in_stabilisation_seconds": 0,
            "scale_out": [{"alarm": high, "track": target}],
            "scale_in": [{"alarm": low, "track": target}],
            "alarms": [
                {"name": high, "metric": "node_gpu_utilization", "threshold": target,
                 "comparison": "GreaterThanThreshold", "evaluation_periods": 3, "datapoints_to_alarm": 3},
                {"name": low, "metric": "node_gpu_utilization", "threshold": 0.9 * target,
                 "comparison": "LessThanThreshold", "evaluation_periods": 15, "datapoints_to_alarm": 15},
            ],
        }
    )  # fmt: skip


def provisioner(demand: list[float | None], config: SimConfig, floor: int, start: int, window: int) -> dict[str, Any]:
    """A Karpenter-like provisioner: each minute, launch what the pending work needs beyond the nodes already
    launched (ready or starting); remove nodes unneeded for 5 minutes (consolidation)."""
    startup = math.ceil(config.startup_seconds / 60)
    ready_at: list[int] = [0] * start
    unneeded_since: int | None = None
    nodes: list[int] = []
    under = 0
    actions: list[Action] = []
    last = 0.0
    for minute, value in enumerate(demand):
        last = value if value is not None else last
        needed = max(floor, math.ceil(last / config.node_capacity - 1e-9))
        if needed > len(ready_at):
            actions.append(Action(minute, "out", len(ready_at), needed, "pending work"))
            ready_at += [minute + startup] * (needed - len(ready_at))
            unneeded_since = None
        elif needed < len(ready_at):
            unneeded_since = minute if unneeded_since is None else unneeded_since
            if minute - unneeded_since >= 5:
                actions.append(Action(minute, "in", len(ready_at), needed, "consolidation"))
                ready_at = sorted(ready_at)[:needed]
                unneeded_since = None
        else:
            unneeded_since = None
        ready = sum(1 for r in ready_at if r <= minute) * config.node_capacity
        under += 1 if value is not None and value > ready + 1e-9 else 0
        nodes.append(len(ready_at))
    peak_demand = max((d for d in demand if d is not None), default=0.0)
    return {
        "minutes": len(demand),
        "node_hours": round(sum(nodes) / 60.0, 2),
        "under_capacity_minutes": float(under),
        "actions": len(actions),
        "flaps": count_flaps(actions, window),
        "peak_nodes": max(nodes, default=0),
        "overshoot": round(max(nodes, default=0) / max(1, math.ceil(peak_demand - 1e-9)), 2),
        "runaway": 0,
    }


def follow(
    demand: list[float | None], floor: int, start: int, lag: int, startup: int, *, headroom: float = 1.0, hold: int = 0
) -> tuple[list[int], int, list[Action]]:
    """An oracle that knows each minute's demand exactly, ``lag - startup`` minutes after it (0: at once; 1: an
    alarm's one-minute period), and launches ``ceil(headroom x the highest demand of the last hold + 1 minutes
    known)`` nodes (at least ``floor``), Ready ``startup`` minutes later; unneeded nodes go at once, booting first.
    Returns (launched nodes per minute, under-capacity minutes, actions)."""
    known: list[float] = list(itertools.accumulate(demand, lambda last, v: last if v is None else v, initial=0.0))[1:]
    ready_at = [0] * start
    window: deque[int] = deque()  # minutes of known demand, highest first (a sliding maximum)
    nodes: list[int] = []
    actions: list[Action] = []
    under = 0
    for minute, value in enumerate(demand):
        seen = minute - (lag - startup)
        if seen >= 0:
            while window and known[window[-1]] <= known[seen]:
                window.pop()
            window.append(seen)
            while window[0] < seen - hold:
                window.popleft()
            needed = max(floor, math.ceil(headroom * known[window[0]] - 1e-9))
            if needed != len(ready_at):
                actions.append(Action(minute, "out" if needed > len(ready_at) else "in", len(ready_at), needed, ""))
            if needed > len(ready_at):
                ready_at += [minute + startup] * (needed - len(ready_at))
            else:
                ready_at = sorted(ready_at)[:needed]
        ready = sum(1 for r in ready_at if r <= minute)
        under += 1 if value is not None and value > ready + 1e-9 else 0
        nodes.append(len(ready_at))
    return nodes, under, actions


def reactive_floor(
    demand: list[float | None], config: SimConfig, floor: int, start: int, lag: int, budget: float, window: int
) -> dict[str, Any]:
    """The fewest under-capacity minutes a reactive controller can have within ``budget`` node-hours, as far as
    :func:`follow` (exact demand, capacity Ready ``lag`` minutes after the demand's minute) can tell: the best of
    its headroom x hold-time grid (:data:`FLOOR_HEADROOMS`, :data:`FLOOR_HOLDS`) within the budget."""
    startup = math.ceil(config.startup_seconds / 60)
    best: tuple[int, float, float, int] | None = None
    for hold in FLOOR_HOLDS:
        for headroom in FLOOR_HEADROOMS:
            nodes, under, _ = follow(demand, floor, start, lag, startup, headroom=headroom, hold=hold)
            hours = sum(nodes) / 60.0
            if hours <= budget and (best is None or (under, hours) < best[:2]):
                best = (under, hours, headroom, hold)
    under, hours, headroom, hold = best or (0, 0.0, 1.0, 0)
    nodes, under, actions = follow(demand, floor, start, lag, startup, headroom=headroom, hold=hold)
    peak_demand = max((d for d in demand if d is not None), default=0.0)
    return {
        "minutes": len(demand), "node_hours": round(sum(nodes) / 60.0, 2), "under_capacity_minutes": float(under),
        "actions": len(actions), "flaps": count_flaps(actions, window), "peak_nodes": max(nodes, default=0),
        "overshoot": round(max(nodes, default=0) / max(1, math.ceil(peak_demand - 1e-9)), 2), "runaway": 0,
        "headroom": headroom, "hold_minutes": hold, "lag_minutes": lag,
    }  # fmt: skip


def initial_nodes(policy: ScalingPolicy, demand: list[float | None], target: float) -> int:
    """Where a node group that ran under the policy before the trace stands at minute 0: the capacity its tracking
    rule holds for minute 0's demand, ``ceil(demand x 100 / target)``, within the policy's bounds at the start."""
    first = next((d for d in demand if d is not None), 0.0)
    low, high = bounds(policy, SimConfig().start)
    return max(low, min(high, math.ceil(first * 100.0 / target - 1e-9)))


def transitions(members: int) -> dict[str, Any]:
    """State transitions of an applied and of a no-op decision, for a policy over ``members`` node groups."""
    policy = yaml.safe_load((EXAMPLES / "policy.yaml").read_text())
    policy.pop("schedules", None)
    policy["nodegroups"] = policy["nodegroups"][:members]
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalCloud(speed=5000.0, parameters={"ScalingFirstWaitSeconds": str(int(EKS_UPDATE_SECONDS))}) as cloud,
    ):
        path = Path(tmp) / "policy.yaml"
        path.write_text(yaml.safe_dump(policy))
        cloud.create_example_nodegroups(path, desired=2)
        counts: dict[str, Any] = {"nodegroups": members}
        # ALARM: a scale-out; back to OK: nothing else in ALARM and the capacity within bounds, a no-op.
        for kind, state in (("applied", "ALARM"), ("noop", "OK")):
            before = {e["executionArn"] for e in cloud.settle_scaling()}
            cloud.client("cloudwatch").set_alarm_state(
                AlarmName="mlcp-scaling-local-gpu-high", StateValue=state, StateReason="bench"
            )
            (execution,) = [e for e in cloud.settle_scaling() if e["executionArn"] not in before]
            history = cloud.history(execution["executionArn"])
            counts[kind] = sum(1 for e in history if e["type"].endswith("StateEntered"))
            counts[f"{kind}_status"] = execution["status"]
        return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: the spike trace only; transitions with one node group only"
    )
    parser.add_argument(
        "--out", type=Path, help="results directory (default bench/results; --quick: a temporary one, removed at exit)"
    )
    parser.add_argument(
        "--cold-start",
        action="store_true",
        help="start every trace at the policy's min_size instead of where the policy holds minute 0's demand",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mlcp-bench-") as scratch:
        out: Path = args.out or (Path(scratch) if args.quick else RESULTS)
        if args.quick:
            replay(QUICK_TRACES, QUICK_NODEGROUPS, out, cold=args.cold_start)
        else:
            replay(TRACES, NODEGROUPS, out, cold=args.cold_start)
    return 0


def replay(traces: tuple[str, ...], nodegroups: tuple[int, ...], out: Path, *, cold: bool = False) -> None:
    policy = parse_policy((EXAMPLES / "policy.yaml").read_bytes())
    target = next((r.track for r in policy.scale_out if r.track is not None), 85.0)
    tracking = target_tracking(policy, target)
    window = flap_window_seconds(policy)
    startup = math.ceil(SimConfig().startup_seconds / 60)
    # Target tracking sized from the metric's latest data point (AWS: the adjustment is "based on the metric and the
    # target value", https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-
    # overview.html; no evaluation-range level), flaps counted in the policy's window.
    tt_config: dict[str, Any] = {"flap_window_seconds": window, "range_levels": False}
    rows: list[dict[str, Any]] = []
    for name in traces:
        demand = parse_trace((EXAMPLES / f"{name}.csv").read_text(), source=name)
        limit = sum(math.ceil(d - 1e-9) for d in demand if d is not None) / 60.0
        # Every controller starts where the example policy holds minute 0's demand (a node group that ran under it
        # before the window), or with --cold-start at min_size.
        start = policy.min_size if cold else initial_nodes(policy, demand, target)
        config = SimConfig(initial_nodes=start)
        static_hours, static_nodes = static_node_hours(demand, config.node_capacity)
        ours = simulate(policy, demand, config)
        out.mkdir(parents=True, exist_ok=True)
        plot(ours, f"{policy.key} on {name}.csv", out / f"scaling_replay_{name}.png")
        results: list[tuple[str, dict[str, Any]]] = [
            ("policy", ours.summary()),
            ("policy chaos", simulate(policy, demand, replace(config, chaos=Chaos())).summary()),
            ("target tracking", simulate(tracking, demand, replace(config, **tt_config)).summary()),
            ("provisioner", provisioner(demand, config, policy.min_size, start, window)),
        ]
        for label, lag in (("floor start-up", startup), ("floor alarm+up", startup + 1)):
            budget = GOAL_RATIO * limit
            results.append((label, reactive_floor(demand, config, policy.min_size, start, lag, budget, window)))
        for strategy, summary in results:
            rows.append({"trace": name, "strategy": strategy, "limit": round(limit, 1), "static_peak": static_nodes,
                         "max_step": policy.max_step, "initial_nodes": start, **summary})  # fmt: skip
        rows.append(
            {
                "trace": name, "strategy": "static peak", "limit": round(limit, 1), "static_peak": static_nodes,
                "max_step": policy.max_step, "initial_nodes": start, "minutes": len(demand),
                "node_hours": round(static_hours, 2),
                "under_capacity_minutes": 0.0, "actions": 0, "flaps": 0, "peak_nodes": static_nodes,
                "overshoot": round(static_nodes / max(1, static_nodes), 2), "runaway": 0,
            }
        )  # fmt: skip
    for r in rows:
        r["ratio"] = round(r["node_hours"] / r["limit"], 3) if r["limit"] else 0.0
        r["under_pct"] = round(100.0 * r["under_capacity_minutes"] / r["minutes"], 2)
        r["peak_ok"] = r["peak_nodes"] <= r["static_peak"] + r["max_step"]
    print(f"{'trace':<8} {'strategy':<16} {'node-h':>7} {'x limit':>7} {'under min':>9} {'under %':>7} "
          f"{'overshoot':>9} {'flaps':>5} {'runaway':>7} {'peak':>4} {'<=static+step':>13}")  # fmt: skip
    for r in rows:
        print(
            f"{r['trace']:<8} {r['strategy']:<16} {r['node_hours']:>7.1f} {r['ratio']:>7.3f} "
            f"{r['under_capacity_minutes']:>9.0f} {r['under_pct']:>7.2f} {r['overshoot']:>9.2f} {r['flaps']:>5} "
            f"{r['runaway']:>7} {r['peak_nodes']:>4} {'yes' if r['peak_ok'] else 'NO':>13}"
        )
    starts = ", ".join(f"{r['trace']} {r['initial_nodes']}" for r in rows if r["strategy"] == "policy")
    how = "min_size (--cold-start)" if cold else "where the policy's tracking holds minute 0's demand"
    print(f"initial nodes: {starts} ({how})")
    floors = "; ".join(
        f"{r['trace']} {r['strategy'].removeprefix('floor ')}: headroom {r['headroom']:.2f} hold {r['hold_minutes']}"
        for r in rows
        if "headroom" in r
    )
    print(f"floor rows (exact demand, Ready start-up or alarm period + start-up after its minute, best of the "
          f"headroom x hold grid within {GOAL_RATIO} x the limit): {floors}")  # fmt: skip
    ours_rows = [r for r in rows if r["strategy"] in ("policy", "policy chaos")]
    static_total = sum(r["node_hours"] for r in rows if r["strategy"] == "static peak")
    policy_total = sum(r["node_hours"] for r in rows if r["strategy"] == "policy")
    summary = {
        "flaps": sum(r["flaps"] for r in ours_rows),
        "runaway": sum(r["runaway"] for r in ours_rows),
        "worst_ratio": max(r["ratio"] for r in ours_rows),
        "under_capacity_pct": max(r["under_pct"] for r in ours_rows),
        "node_hours_saved_pct": round(100.0 * (1 - policy_total / static_total), 1),
        "peak_ok": all(r["peak_ok"] for r in ours_rows),
        "floor_under_pct": max(r["under_pct"] for r in rows if r["strategy"] == "floor start-up"),
    }
    machine = [transitions(members) for members in nodegroups]
    print()
    print(f"{'node groups':>11} {'applied decision':>17} {'no-op decision':>15}   (state transitions, local cloud)")
    for m in machine:
        print(f"{m['nodegroups']:>11} {m['applied']:>17} {m['noop']:>15}   {m['applied_status']}/{m['noop_status']}")
    for m in machine:
        suffix = "" if m["nodegroups"] == 1 else f"_{m['nodegroups']}_nodegroups"
        summary[f"transitions_per_applied_decision{suffix}"] = m["applied"]
    (out / "scaling_replay.json").write_text(
        json.dumps({"rows": rows, "summary": summary, "transitions": machine}, indent=2)
    )
    print(f"results written to {_shown(out / 'scaling_replay.json')}")
    print(f"plots: {', '.join(str(_shown(out / f'scaling_replay_{n}.png')) for n in traces)}")
    print(
        f"RESULT flaps={summary['flaps']} runaway={summary['runaway']} worst_ratio={summary['worst_ratio']} "
        f"under_capacity_pct={summary['under_capacity_pct']} node_hours_saved_pct={summary['node_hours_saved_pct']} "
        f"peak_ok={summary['peak_ok']} floor_under_pct={summary['floor_under_pct']}"
    )


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


if __name__ == "__main__":
    sys.exit(main())

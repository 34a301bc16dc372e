"""Scaling policy vs static peak provisioning vs a no-cooldown threshold policy, on the sample demand traces.

Each trace in examples/scaling/ (diurnal, spike, ramp) is replayed through the what-if simulator
(mlcp.scaling.simulator: CloudWatch alarm evaluation, the controller's own decide(), EKS update time, node start-up
delay) with three strategies:

- policy: examples/scaling/policy.yaml as written;
- static peak: enough nodes for the trace's peak demand, all the time;
- no cooldown (the baseline): the same alarms and steps with cooldowns and the scale-in stabilisation window set
  to 0 and every alarm reduced to 1 of 1 data points (a plain threshold policy).

A flap is a reversal of direction within 15 minutes of the previous action. Then the real template runs in the
embedded local cloud: an alarm set to ALARM resizes a policy's node groups (one, then two balanced by weight) and
the state transitions of that execution are counted from its history (Standard workflows bill per transition),
with a no-op decision's for comparison. Writes bench/results/scaling_replay.json and one PNG per trace. Last line:
RESULT flaps=<int> node_hours_saved_pct=<float> under_capacity_min=<float> baseline_flaps=<int>
(target flaps=0 and node_hours_saved_pct >= 25; totals over the three traces, savings against static peak).

    .venv/bin/python bench/scaling_replay.py [--out DIR]
    .venv/bin/python bench/scaling_replay.py --quick   # smoke run: the spike trace only, one node group only
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from mlcp.scaling.policy import ScalingPolicy, parse_policy
from mlcp.scaling.simulator import SimConfig, parse_trace, simulate, static_node_hours
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


def no_cooldown(policy: ScalingPolicy) -> ScalingPolicy:
    return policy.model_copy(
        update={
            "cooldowns": policy.cooldowns.model_copy(update={"scale_out_seconds": 0, "scale_in_seconds": 0}),
            "scale_in_stabilisation_seconds": 0,
            "alarms": [a.model_copy(update={"evaluation_periods": 1, "datapoints_to_alarm": 1}) for a in policy.alarms],
        }
    )


def transitions(members: int) -> dict[str, Any]:
    """State transitions of an applied and of a no-op decision, for a policy over ``members`` node groups."""
    policy = yaml.safe_load((EXAMPLES / "policy.yaml").read_text())
    policy.pop("schedules")
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
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mlcp-bench-") as scratch:
        out: Path = args.out or (Path(scratch) if args.quick else RESULTS)
        if args.quick:
            replay(QUICK_TRACES, QUICK_NODEGROUPS, out)
        else:
            replay(TRACES, NODEGROUPS, out)
    return 0


def replay(traces: tuple[str, ...], nodegroups: tuple[int, ...], out: Path) -> None:
    policy = parse_policy((EXAMPLES / "policy.yaml").read_bytes())
    baseline = no_cooldown(policy)
    config = SimConfig()
    rows: list[dict[str, Any]] = []
    for name in traces:
        demand = parse_trace((EXAMPLES / f"{name}.csv").read_text(), source=name)
        static_hours, static_nodes = static_node_hours(demand, config.node_capacity)
        ours = simulate(policy, demand, config)
        base = simulate(baseline, demand, config)
        out.mkdir(parents=True, exist_ok=True)
        plot(ours, f"{policy.key} on {name}.csv", out / f"scaling_replay_{name}.png")
        for strategy, result in (("policy", ours), ("no cooldown", base)):
            rows.append({"trace": name, "strategy": strategy, **result.summary()})
        rows.append(
            {
                "trace": name,
                "strategy": "static peak",
                "minutes": len(demand),
                "node_hours": round(static_hours, 2),
                "under_capacity_minutes": 0.0,
                "actions": 0,
                "flaps": 0,
                "peak_nodes": static_nodes,
            }
        )

    print(f"{'trace':<8} {'strategy':<12} {'node-hours':>10} {'saved %':>8} {'under-cap min':>13} "
          f"{'actions':>8} {'flaps':>6} {'peak nodes':>10}")  # fmt: skip
    static = {r["trace"]: r["node_hours"] for r in rows if r["strategy"] == "static peak"}
    for r in rows:
        saved = 100.0 * (1 - r["node_hours"] / static[r["trace"]])
        print(
            f"{r['trace']:<8} {r['strategy']:<12} {r['node_hours']:>10.1f} {saved:>8.1f} "
            f"{r['under_capacity_minutes']:>13.0f} {r['actions']:>8} {r['flaps']:>6} {r['peak_nodes']:>10}"
        )

    def total(strategy: str, key: str) -> float:
        return float(sum(r[key] for r in rows if r["strategy"] == strategy))

    saved_pct = 100.0 * (1 - total("policy", "node_hours") / total("static peak", "node_hours"))
    summary = {
        "flaps": int(total("policy", "flaps")),
        "node_hours_saved_pct": round(saved_pct, 1),
        "under_capacity_min": total("policy", "under_capacity_minutes"),
        "baseline_flaps": int(total("no cooldown", "flaps")),
        "baseline_node_hours_saved_pct": round(
            100.0 * (1 - total("no cooldown", "node_hours") / total("static peak", "node_hours")), 1
        ),
        "baseline_under_capacity_min": total("no cooldown", "under_capacity_minutes"),
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
        f"RESULT flaps={summary['flaps']} node_hours_saved_pct={summary['node_hours_saved_pct']} "
        f"under_capacity_min={summary['under_capacity_min']} baseline_flaps={summary['baseline_flaps']}"
    )


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


if __name__ == "__main__":
    sys.exit(main())

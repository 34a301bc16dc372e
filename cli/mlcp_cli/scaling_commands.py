"""`mlcp scaling ...`: node-group scaling policies offline: `validate`, `schema`, and `simulate` (a what-if replay of
a demand trace).

`scaling get|set` (REST API) live in scaling_api.py; keep each subcommand in its own function.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mlcp.aws.service_models import ServiceModels
from mlcp.scaling.policy import (
    ScalingPolicy,
    from_zero_problems,
    parse_policy,
    policy_json_schema,
    registration_problems,
)
from mlcp.scaling.preflight import check_policy
from mlcp.scaling.scope import NODEGROUPS_PARAMETER, NodegroupScope
from mlcp.scaling.simulator import SimConfig, SimResult, parse_trace, simulate, static_node_hours


def add_scaling_commands(subparsers: Any) -> argparse.ArgumentParser:
    """The `scaling` command group; returns its parser so the API commands (get, set) can join it."""
    scaling: argparse.ArgumentParser = subparsers.add_parser(
        "scaling", help="EKS node-group scaling: validate, schema, simulate; get, set (REST API)"
    )
    sub = scaling.add_subparsers(dest="scaling_command", required=True)
    validate = sub.add_parser(
        "validate",
        help="validate a scaling policy (YAML/JSON); exit 1 with field-level errors",
        description=(
            "Validate a scaling policy: its schema, the EKS limits (preflight), and what the stack's registration "
            "would refuse (a policy that cannot scale out from min_size 0; with --environment, alarm names outside "
            "mlcp-scaling-<environment>-). Exit 0: registration would accept it; 1: invalid, or registration "
            "would refuse it (each reason printed on stderr)."
        ),
    )
    validate.add_argument("file")
    validate.add_argument(
        "--environment",
        metavar="ENV",
        help="the stack's EnvironmentName (e.g. local, dev, prod): check that every alarm is one its rule forwards",
    )
    scope = validate.add_argument_group("the stack's scope (checked when --nodegroup-arns is given)")
    scope.add_argument(
        "--nodegroup-arns",
        help=f"the template parameter {NODEGROUPS_PARAMETER} (a,b): node group ARNs the controller may update; "
        "registration refuses any other node group",
    )
    scope.add_argument("--account-id", help="the stack's account: compare whole ARNs (else only nodegroup/...)")
    scope.add_argument("--region", default="us-east-1", help="the stack's Region (with --account-id)")
    validate.set_defaults(func=cmd_validate)
    schema = sub.add_parser("schema", help="print the JSON Schema of the scaling policy")
    schema.set_defaults(func=cmd_schema)
    sim = sub.add_parser(
        "simulate",
        help="replay a demand trace (CSV, one 'demand' row per minute) through the alarms and the policy",
        description=(
            "Replay a demand trace through CloudWatch alarm evaluation and the policy (the controller's own "
            "decision code), with EKS update time and node start-up delay. Prints node-hours, under-capacity "
            "minutes, actions and flaps, compared with static peak provisioning."
        ),
    )
    sim.add_argument("--policy", required=True, help="scaling policy (YAML/JSON), e.g. examples/scaling/policy.yaml")
    sim.add_argument("--trace", required=True, help="demand trace CSV, e.g. examples/scaling/diurnal.csv")
    sim.add_argument("--plot", metavar="PNG", help="draw demand, capacity and nodes over time (needs matplotlib)")
    sim.add_argument("--json", action="store_true", help="print the summary and the actions as JSON")
    sim.add_argument("--node-capacity", type=float, default=1.0, help="demand units one node serves (default 1)")
    sim.add_argument("--startup-seconds", type=int, default=240, help="scaling request to Ready node (default 240)")
    sim.add_argument("--update-seconds", type=int, default=180, help="EKS update duration (default 180)")
    sim.add_argument("--tick-seconds", type=int, default=60, help="re-evaluation schedule period (default 60)")
    sim.set_defaults(func=cmd_simulate)
    return scaling


def cmd_validate(args: argparse.Namespace) -> int:
    policy = parse_policy(Path(args.file).read_bytes(), source=args.file)
    scope = None
    if args.nodegroup_arns is not None:
        scope = NodegroupScope.parse(args.nodegroup_arns, account=args.account_id, region=args.region)
    check_policy(policy, checker=ServiceModels(), source=args.file, scope=scope)
    groups = ", ".join(f"{m.name} (weight {m.weight})" for m in policy.nodegroups)
    problems = registration_problems(policy, args.environment) if args.environment else from_zero_problems(policy)
    if problems:
        stack = f"the {args.environment!r} stack" if args.environment else "a stack"
        print(f"{args.file}: a valid scaling policy, but {stack} would refuse to register it:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"{args.file}: valid scaling policy {policy.key!r} ({policy.mode} mode) for {groups}")
    return 0


def _warn(policy: ScalingPolicy) -> None:
    """What registration would refuse although the policy is valid (it cannot scale out from its minimum)."""
    for problem in from_zero_problems(policy):
        print(f"warning: {problem}", file=sys.stderr)


def cmd_schema(_: argparse.Namespace) -> int:
    print(json.dumps(policy_json_schema(), indent=2, sort_keys=True))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    if args.node_capacity <= 0 or min(args.startup_seconds, args.update_seconds) < 0 or args.tick_seconds < 60:
        print("mlcp scaling simulate: --node-capacity > 0, --*-seconds >= 0 and --tick-seconds >= 60 please")
        return 2
    policy = parse_policy(Path(args.policy).read_bytes(), source=args.policy)
    _warn(policy)
    demand = parse_trace(Path(args.trace).read_text(), source=args.trace)
    config = SimConfig(
        node_capacity=args.node_capacity,
        startup_seconds=args.startup_seconds,
        update_seconds=args.update_seconds,
        tick_seconds=args.tick_seconds,
    )
    result = simulate(policy, demand, config)
    static_hours, static_nodes = static_node_hours(demand, config.node_capacity)
    summary = result.summary() | {
        "static_peak_nodes": static_nodes,
        "static_node_hours": round(static_hours, 2),
        "node_hours_saved_pct": round(100.0 * (1 - result.node_hours / static_hours), 1) if static_hours else 0.0,
    }
    if args.plot:
        plot(result, f"{policy.key} on {Path(args.trace).name}", Path(args.plot))
    if args.json:
        actions = [a.__dict__ for a in result.actions]
        print(json.dumps({"summary": summary, "actions": actions}, indent=2))
        return 0
    print(f"Simulated {policy.key} ({policy.mode} mode) on {args.trace}: {result.minutes} minutes")
    width = max(len(k) for k in summary)
    for key, value in summary.items():
        print(f"  {key:<{width}}  {value}")
    for action in result.actions[:20]:
        print(f"  t+{action.minute:>5} min  {action.direction:<3}  {action.capacity:>3} -> {action.target:<3}")
    if len(result.actions) > 20:
        print(f"  ... {len(result.actions) - 20} more actions (--json lists them all)")
    if args.plot:
        print(f"plot: {args.plot}")
    return 0


def plot(result: SimResult, title: str, path: Path) -> None:
    """Demand and ready capacity (top) and launched nodes (bottom) per minute, as a PNG."""
    import matplotlib  # noqa: PLC0415 - optional: the `plot` extra

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    hours = [m / 60 for m in range(result.minutes)]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6), sharex=True, height_ratios=[2, 1])
    demand = [float("nan") if d is None else d for d in result.demand]
    top.plot(hours, demand, label="demand", color="tab:red", linewidth=0.8)
    top.plot(hours, result.capacity, label="ready capacity", color="tab:blue", linewidth=1.2, drawstyle="steps-post")
    top.set_ylabel("nodes' worth of work")
    top.set_title(title)
    top.legend(loc="upper left")
    bottom.plot(hours, result.nodes, label="nodes (billed)", color="tab:green", drawstyle="steps-post")
    for action in result.actions:
        bottom.axvline(action.minute / 60, color="tab:gray", alpha=0.3, linewidth=0.6)
    bottom.set_ylabel("nodes")
    bottom.set_xlabel("hours")
    bottom.legend(loc="upper left")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)

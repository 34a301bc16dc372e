"""`mlcp batch ...`: plan AWS Batch array runs offline (`plan`), print the batch spec's JSON Schema (`schema`).

`add_batch_commands(subparsers)` creates the `batch` parser; other commands (`batch start|get`) extend it there.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from mlcp.aws.service_models import ServiceModels
from mlcp.batch.planner import BatchPlan, Problem, hard_range, make_plan, problem_for, sweep
from mlcp.batch.requests import preflight_plan
from mlcp.batch.scope import BatchScope
from mlcp.batch.spec import MAX_ARRAY_SIZE, BatchSpec, batch_spec_schema_text, parse_batch_spec
from mlcp.errors import BatchSpecInvalid, PlanInfeasible
from mlcp_cli.reach import add_reach_arguments, reach_from

PLOT_POINTS = 60


def _spec(args: argparse.Namespace) -> BatchSpec:
    """The spec file, with the command line's overrides; or a spec built from the flags alone."""
    if args.spec:
        document: dict[str, Any] = dict(parse_batch_spec(Path(args.spec).read_bytes(), source=args.spec).model_dump())
    else:
        document = {
            "name": "cli",
            "items": {"count": args.items or 1},
            "job": {"definition": "worker"},
            "queues": [{"name": "queue", "max_vcpus": args.max_vcpus or 64}],
        }
    overrides: dict[str, Any] = {
        "target_child_seconds": args.target,
        "min_items_per_child": args.min_items,
        "max_items_per_child": args.max_items,
        "child_timeout_seconds": args.timeout,
        "budget_usd": args.budget,
    }
    document.update({k: v for k, v in overrides.items() if v is not None})
    if args.no_target:
        document["target_child_seconds"] = None
    estimate = dict(document.get("estimate") or {})
    if args.per_item is not None:
        estimate["per_item_seconds"] = args.per_item
    if args.startup is not None:
        estimate["startup_seconds"] = args.startup
    document["estimate"] = estimate
    if args.vcpus is not None:
        document["job"] = {**document["job"], "vcpus": args.vcpus}
    if args.max_vcpus is not None and args.spec:
        document["queues"] = [{**q, "max_vcpus": args.max_vcpus} for q in document["queues"]]
    return parse_batch_spec(document, source=args.spec or "command line")


def _item_count(args: argparse.Namespace, spec: BatchSpec) -> int | None:
    if args.items is not None:
        return int(args.items)
    return spec.items.count  # a manifest or prefix is counted by the pipeline, not offline


def _fmt_seconds(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:,.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:,.1f} min"
    return f"{seconds / 3600:,.2f} h"


def _table(plan: BatchPlan) -> list[tuple[str, str]]:
    rows = [
        ("queue", f"{plan.queue}{' (Spot)' if plan.spot else ''}"),
        ("items", f"{plan.item_count:,}"),
        ("items per child", f"{plan.items_per_child:,}"),
        ("job", f"array of {plan.array_size:,}" if plan.array_size else "single (non-array) job"),
        ("concurrent children", f"{plan.slots:,} ({plan.waves:,} wave{'s' if plan.waves > 1 else ''})"),
        ("child duration", f"{_fmt_seconds(plan.child_seconds)} (target {plan.target_child_seconds or 'none'} s)"),
        ("expected makespan", _fmt_seconds(plan.makespan_seconds)),
        ("lower bound", _fmt_seconds(plan.lower_bound_seconds)),
        ("expected cost", f"${plan.cost_usd:,.4f}"),
        ("model", f"{plan.per_item_seconds:g} s per item, {plan.startup_seconds:g} s start-up per child"),
    ]
    if plan.resize_max_vcpus is not None:
        rows.append(("resize", f"{plan.compute_environment} maxvCpus -> {plan.resize_max_vcpus} (restored after)"))
    rows.extend(("note", note) for note in plan.notes)
    return rows


def plot(problem: Problem, plan: BatchPlan, path: Path) -> None:
    """Makespan and cost against items per child (log scale), the plan marked."""
    import matplotlib  # noqa: PLC0415 - optional dependency (the `plot` extra)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    k_lo, k_hi = hard_range(problem)
    k_lo = max(k_lo, math.ceil(problem.item_count / MAX_ARRAY_SIZE))
    ratio = (k_hi / k_lo) ** (1 / PLOT_POINTS) if k_hi > k_lo else 1.0
    ks = sorted({round(k_lo * ratio**i) for i in range(PLOT_POINTS + 1)} | {k_lo, k_hi, plan.items_per_child})
    points = sweep(problem, ks)
    fig, left = plt.subplots(figsize=(8, 4.5))
    left.plot([c.items_per_child for c in points], [c.makespan_seconds / 60 for c in points], color="tab:blue")
    left.set_xscale("log")
    left.set_xlabel("items per child")
    left.set_ylabel("makespan (min)", color="tab:blue")
    right = left.twinx()
    right.plot([c.items_per_child for c in points], [c.cost_usd for c in points], color="tab:orange")
    right.set_ylabel("cost (USD)", color="tab:orange")
    left.axvline(plan.items_per_child, color="green", linestyle=":", label=f"plan: {plan.items_per_child:,}/child")
    left.legend(loc="upper center")
    left.set_title(f"{plan.item_count:,} items on {plan.queue} ({plan.slots:,} concurrent children)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cmd_plan(args: argparse.Namespace) -> int:
    spec = _spec(args)
    try:
        plan = make_plan(spec, _item_count(args, spec))
    except PlanInfeasible as exc:
        print(f"mlcp: no plan satisfies the constraints: {exc.reason}", file=sys.stderr)
        return 1
    _check_scope(spec, args)
    # The preflight: the SubmitJob / UpdateComputeEnvironment requests of this plan, as AWS will check them.
    preflight_plan(spec, plan, reach=reach_from(args), checker=ServiceModels(), source=args.spec or "command line")
    if args.plot:
        queue = next(q for q in spec.queues if q.name == plan.queue)
        problem = problem_for(spec, queue, plan.item_count, spec.estimate.per_item_seconds, plan.startup_seconds)
        try:
            plot(problem, plan, Path(args.plot))
        except ImportError:
            print("mlcp: --plot needs matplotlib: pip install 'mlcp[plot]'", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps(plan.model_dump(mode="json"), indent=2))
        return 0
    rows = _table(plan)
    width = max(len(k) for k, _ in rows)
    print(f"Plan for job profile {spec.name!r} (no AWS calls; --json for the whole plan):")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    if len(plan.alternatives) > 1:
        print(f"  queues considered (cost_weight {spec.cost_weight:g}):")
        for option in plan.alternatives:
            print(
                f"    {option.queue:<40} {option.items_per_child:>9,}/child x {option.children:>6,}  "
                f"{_fmt_seconds(option.makespan_seconds):>10}  ${option.cost_usd:,.4f}"
            )
    if args.plot:
        print(f"  plot: {args.plot}")
    return 0


def _check_scope(spec: BatchSpec, args: argparse.Namespace) -> None:
    """The stack's Batch scope (as the deployed functions check it): BatchSpecInvalid naming each resource outside."""
    if not args.stack_name:
        return
    scope = BatchScope.from_parameters(
        f"{args.stack_name}-",
        job_definitions=args.extra_job_definitions,
        job_queues=args.extra_job_queues,
        compute_environments=args.extra_compute_environments,
    )
    problems = scope.problems(spec)
    if problems:
        raise BatchSpecInvalid(args.spec or "command line", problems)


def _add_scope_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("the stack's Batch scope (checked when --stack-name is given)")
    group.add_argument("--stack-name", help="the stack's name: its own job definitions, queues and CEs are <name>-*")
    group.add_argument("--extra-job-definitions", default="", help="the template parameter BatchExtraJobDefinitions")
    group.add_argument("--extra-job-queues", default="", help="the template parameter BatchExtraJobQueues")
    group.add_argument(
        "--extra-compute-environments", default="", help="the template parameter BatchExtraComputeEnvironments"
    )


def cmd_schema(_: argparse.Namespace) -> int:
    print(batch_spec_schema_text(), end="")
    return 0


def add_batch_commands(subparsers: Any) -> argparse.ArgumentParser:
    """The `batch` command group; returns its parser so later commands can add subcommands to it."""
    batch: argparse.ArgumentParser = subparsers.add_parser(
        "batch", help="AWS Batch array runs: plan offline, JSON Schema of the batch spec; start, get (REST API)"
    )
    sub = batch.add_subparsers(dest="batch_command", required=True)
    plan = sub.add_parser(
        "plan",
        help="print the plan (items per child, array size, makespan, cost) for a batch spec or numbers",
        description="Plan an AWS Batch array run without AWS. Give a batch spec (batches/<profile>/batch.yaml) "
        "and/or the numbers; flags override the spec.",
    )
    plan.add_argument("spec", nargs="?", help="batch spec (YAML or JSON); optional when the flags say enough")
    plan.add_argument("--items", type=int, help="number of items (default: the spec's items.count)")
    plan.add_argument("--per-item", type=float, help="seconds per item (default: the spec's estimate)")
    plan.add_argument("--startup", type=float, help="start-up seconds per child (default: the spec's estimate)")
    plan.add_argument("--vcpus", type=float, help="vCPUs per child")
    plan.add_argument("--max-vcpus", type=int, help="usable capacity: the compute environment's maxvCpus")
    plan.add_argument("--target", type=int, help="target child duration in seconds (default 240)")
    plan.add_argument("--no-target", action="store_true", help="no target child duration: minimise makespan only")
    plan.add_argument("--min-items", type=int, help="min items per child")
    plan.add_argument("--max-items", type=int, help="max items per child")
    plan.add_argument("--timeout", type=int, help="child timeout in seconds")
    plan.add_argument("--budget", type=float, help="budget in USD")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.add_argument("--plot", metavar="PNG", help="write makespan and cost against items per child to a PNG")
    add_reach_arguments(plan, roles=False)
    _add_scope_arguments(plan)
    plan.set_defaults(func=cmd_plan)
    schema = sub.add_parser("schema", help="print the JSON Schema of the batch spec")
    schema.set_defaults(func=cmd_schema)
    return batch

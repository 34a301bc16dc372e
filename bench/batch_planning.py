"""Makespan of the batch planner's plans against the lower bound, and against fixed items per child (issue 4).

Suite: items 10 .. 10,000,000; per-item time 10 ms .. 10 s; start-up overhead 30 .. 120 s; capacity 4 .. 4,096
vCPUs (1 vCPU per child, so as many concurrent children). For every case the planner (mlcp.batch.planner.solve, no
target child duration: pure makespan) and the fixed strategies 1 / 100 / 1,000 items per child are evaluated with
the same model (mlcp.batch.planner.evaluate) and divided by the lower bound

    LB = o + t * max(N / S, 1)        (one start-up, then the work spread over the S slots, or one item's time)

The fluid bound is not reachable when items do not split evenly over the slots (N > S and N / S not an integer,
with t not small against o): the busiest slot then runs ceil(N / S) whole items, so no plan beats
LB_int = o + t * ceil(N / S). Cases where LB_int > 1.05 LB are listed; the RESULT line covers the others, and the
planner's ratio to LB_int over all cases is printed too. A fixed strategy that needs more than 10,000 children
(AWS Batch's array limit) is infeasible and counted, not timed. The same suite with the default 240 s target child
duration is summarised (its children are capped at 4 minutes, so long runs pay one start-up per wave).

Writes bench/results/batch_planning.json and batch_planning.png. Last line:
RESULT makespan_ratio_max=<float> makespan_ratio_median=<float>   (target: max <= 1.05)

    .venv/bin/python bench/batch_planning.py [--out DIR]
    .venv/bin/python bench/batch_planning.py --quick   # smoke run: 4 cases
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from mlcp.batch.planner import Problem, evaluate, integer_lower_bound, lower_bound, solve
from mlcp.batch.spec import MAX_ARRAY_SIZE

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ITEMS = (10, 1_000, 100_000, 10_000_000)
PER_ITEM = (0.01, 0.1, 1.0, 10.0)
OVERHEAD = (30.0, 60.0, 120.0)
CAPACITY = (4, 64, 512, 4096)
FIXED = (1, 100, 1000)
# --quick: 4 cases, one of them with an unreachable fluid bound (100 items of 10 s on 64 slots)
QUICK_ITEMS, QUICK_PER_ITEM, QUICK_OVERHEAD, QUICK_CAPACITY = (100, 100_000), (10.0,), (60.0,), (4, 64)
TARGET = 1.05


def case(n: int, t: float, o: float, c: int) -> dict[str, Any]:
    p = Problem(item_count=n, per_item_seconds=t, startup_seconds=o, slots=c)
    lb, lb_int = lower_bound(p), integer_lower_bound(p)
    plan = solve(p)
    targeted = solve(Problem(item_count=n, per_item_seconds=t, startup_seconds=o, slots=c, target_child_seconds=240))
    row: dict[str, Any] = {
        "items": n,
        "per_item_s": t,
        "overhead_s": o,
        "capacity": c,
        "lower_bound_s": lb,
        "integer_lower_bound_s": lb_int,
        "reachable": lb_int <= TARGET * lb,
        "plan": {"items_per_child": plan.items_per_child, "children": plan.children, "waves": plan.waves},
        "planner": plan.makespan_seconds / lb,
        "planner_vs_integer_bound": plan.makespan_seconds / lb_int,
        "planner_240s_target": targeted.makespan_seconds / lb,
    }
    for k in FIXED:
        fixed = evaluate(p, k)
        row[f"fixed_{k}"] = None if fixed.children > MAX_ARRAY_SIZE else fixed.makespan_seconds / lb
    return row


def _stats(values: list[float]) -> str:
    if not values:
        return f"{'n/a':>17}"
    return f"{statistics.median(values):>8.3f} {max(values):>8.2f}"


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib  # noqa: PLC0415 - optional dependency (dev / `plot` extra)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = ["planner", *(f"fixed_{k}" for k in FIXED)]
    data = [[r[name] for r in rows if r[name] is not None] for name in names]
    left.boxplot(data, tick_labels=["planner", *(f"{k}/child" for k in FIXED)])
    left.set_yscale("log")
    left.axhline(TARGET, color="red", linestyle="--", linewidth=0.8, label="1.05")
    left.set_ylabel("makespan / lower bound")
    left.set_title(f"{len(rows)} cases (infeasible fixed plans omitted)")
    left.legend()
    example = Problem(item_count=100_000, per_item_seconds=0.5, startup_seconds=60, slots=64)
    ks = sorted({max(1, int(10 ** (e / 10))) for e in range(0, 51)} | {solve(example).items_per_child})
    cands = [evaluate(example, k) for k in ks if evaluate(example, k).children <= MAX_ARRAY_SIZE]
    right.plot([c.items_per_child for c in cands], [c.makespan_seconds / 3600 for c in cands], label="makespan (h)")
    right.set_xscale("log")
    right.set_xlabel("items per child")
    right.set_ylabel("makespan (h)")
    chosen = solve(example)
    right.axvline(chosen.items_per_child, color="green", linestyle=":", label=f"plan: {chosen.items_per_child}")
    right.set_title("100,000 items x 0.5 s, 60 s start-up, 64 slots")
    right.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke run: 4 cases instead of 192")
    parser.add_argument(
        "--out", type=Path, help="results directory (default bench/results; --quick: a temporary one, removed at exit)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mlcp-bench-") as scratch:
        out: Path = args.out or (Path(scratch) if args.quick else RESULTS)
        if args.quick:
            plan_suite(QUICK_ITEMS, QUICK_PER_ITEM, QUICK_OVERHEAD, QUICK_CAPACITY, out=out)
        else:
            plan_suite(ITEMS, PER_ITEM, OVERHEAD, CAPACITY, out=out)
    return 0


def plan_suite(
    items: tuple[int, ...],
    per_item: tuple[float, ...],
    overhead: tuple[float, ...],
    capacity: tuple[int, ...],
    *,
    out: Path,
) -> None:
    rows = [case(*args) for args in itertools.product(items, per_item, overhead, capacity)]
    columns = ["planner", *(f"fixed_{k}" for k in FIXED)]
    print(f"makespan / lower bound over {len(rows)} cases: median and max per items count")
    header = f"{'items':>10} " + " ".join(f"{c:>17}" for c in columns) + f" {'infeasible fixed':>17}"
    print(header)
    for n in items:
        group = [r for r in rows if r["items"] == n]
        cells = [_stats([r[c] for r in group if r[c] is not None]) for c in columns]
        infeasible = sum(1 for r in group for c in columns[1:] if r[c] is None)
        print(f"{n:>10,} " + " ".join(cells) + f" {infeasible:>17}")
    cells = [_stats([r[c] for r in rows if r[c] is not None]) for c in columns]
    print(f"{'all':>10} " + " ".join(cells))

    reachable = [r for r in rows if r["reachable"]]
    unreachable = [r for r in rows if not r["reachable"]]
    print(
        f"\nfluid bound unreachable (LB_int > {TARGET} x LB: items do not split evenly over the slots): "
        f"{len(unreachable)} cases"
    )
    for r in unreachable:
        print(
            f"  N={r['items']:>8,} t={r['per_item_s']:>5}s o={r['overhead_s']:>4.0f}s S={r['capacity']:>5}: "
            f"LB={r['lower_bound_s']:.1f}s LB_int={r['integer_lower_bound_s']:.1f}s "
            f"plan/LB={r['planner']:.3f} plan/LB_int={r['planner_vs_integer_bound']:.3f}"
        )
    vs_int = [r["planner_vs_integer_bound"] for r in rows]
    targeted = [r["planner_240s_target"] for r in rows]
    print(f"planner / LB_int over all cases: median {statistics.median(vs_int):.4f}, max {max(vs_int):.4f}")
    print(
        f"with the default 240 s target child duration: plan / LB median {statistics.median(targeted):.3f}, "
        f"max {max(targeted):.3f} (children capped at 4 min pay one start-up per wave)"
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "batch_planning.json").write_text(json.dumps(rows, indent=2))
    print(f"wrote {out / 'batch_planning.json'}")
    try:
        plot(rows, out / "batch_planning.png")
        print(f"wrote {out / 'batch_planning.png'}")
    except ImportError:
        print("matplotlib is not installed (pip install '.[plot]'): no PNG")
    ratios = [r["planner"] for r in reachable]
    print(f"RESULT makespan_ratio_max={max(ratios):.4f} makespan_ratio_median={statistics.median(ratios):.4f}")


if __name__ == "__main__":
    sys.exit(main())

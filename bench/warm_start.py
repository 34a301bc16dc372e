"""Warm-start tuning across five successive dataset versions of one pipeline, in the local cloud (issue 15).

The warm-start example (examples/pipelines/churn-warm: Bayesian, 12 trials, 3 in parallel, TransferLearning from
the last 2 successful runs) runs dataset versions v1..v5 one after the other through the real trigger and state
machine, once in a local cloud with warm start and once in another without it (the same pipeline name, versions,
run ids and tuning job names in both, so the two differ only by warm start). The local job backend's objective
landscape shifts a little with each version's data (cli/mlcp_cli/local/backends/landscape.py), and a warm-started
Bayesian job starts from its parents' best trials instead of random draws (tuning_strategies.py).

For each version: the trials each mode needed to come within 1 % of the version's reference objective, and the best
objective each reached. The reference is the best objective reached by either mode on that version: the
landscape's peak is not reachable exactly (integer and categorical ranges), so the best observed value is the one
target both modes can be measured against; "-" means a mode never came within 1 % of it in its 12 trials. The last
column says how soon warm start matched what the cold run found in all its trials (within 1 % of the cold best).

Last line: RESULT versions=<n> cold_trials=<sum> warm_trials=<sum> warm_within_1pct=<k>/<n> cold_within_1pct=<k>/<n>
(a mode that never came within 1 % counts its 12 trials plus one).

    .venv/bin/python bench/warm_start.py [--out DIR] [--versions N] [--compare-html DIR]
    .venv/bin/python bench/warm_start.py --quick    # smoke run: 2 versions
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mlcp_cli.local.cloud import LocalCloud
from mlcp_cli.local.warm_start_runs import run_versions, trial_objectives

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PIPELINE = "churn"
VERSIONS = 5
QUICK_VERSIONS = 2
WITHIN = 0.01  # 1 %


def run_mode(versions: list[str], *, warm: bool, compare: Path | None = None) -> list[dict[str, Any]]:
    """One local cloud: the versions in order; per version its run id, trials' objectives and warm start. With
    ``compare`` (a directory), ``mlcp runs compare --html`` over these runs is written there as
    ``warm-start-compare-<warm|cold>.html`` (through the cloud's local API, as the CLI reads a deployed one)."""
    with LocalCloud(speed=5000.0) as cloud:
        run_ids = run_versions(cloud, PIPELINE, versions, warm=warm)
        if compare is not None:
            from mlcp_cli.report.local import compare_local  # noqa: PLC0415 - plotly only when asked for

            page = compare / f"warm-start-compare-{'warm' if warm else 'cold'}.html"
            compare_local(cloud, PIPELINE, page, run_ids)
            print(f"compare: {page}")
        out = []
        for version, run_id in zip(versions, run_ids, strict=True):
            run = cloud.run(run_id) or {}
            job = (run.get("best") or {}).get("tuning_job_name")
            out.append(
                {
                    "version": version,
                    "run_id": run_id,
                    "status": run.get("status"),
                    "tuning_job": job,
                    "objectives": trial_objectives(cloud, job) if job else [],
                    "warm_start": run.get("warm_start"),
                }
            )
        return out


def trials_needed(objectives: list[float | None], reference: float) -> int | None:
    """1-based index of the first trial within 1 % of ``reference`` (Maximize), None if none is."""
    for index, value in enumerate(objectives, start=1):
        if value is not None and value >= reference - WITHIN * abs(reference):
            return index
    return None


def table(cold: list[dict[str, Any]], warm: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    rows = []
    lines = [
        "| version | warm-start parents | reference (best of both) | trials to 1 %: cold | trials to 1 %: warm "
        "| best: cold | best: warm | warm: trials to 1 % of cold's best |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c, w in zip(cold, warm, strict=True):
        best_cold = max((v for v in c["objectives"] if v is not None), default=None)
        best_warm = max((v for v in w["objectives"] if v is not None), default=None)
        reference = max(v for v in (best_cold, best_warm) if v is not None)
        need_cold, need_warm = trials_needed(c["objectives"], reference), trials_needed(w["objectives"], reference)
        warm_to_cold = trials_needed(w["objectives"], best_cold) if best_cold is not None else None
        record = w["warm_start"] or {}
        parents = ", ".join(record.get("parent_runs") or []) or f"cold: {record.get('cold_reason')}"
        rows.append(
            {
                "version": c["version"],
                "reference": reference,
                "cold": {"trials_to_1pct": need_cold, "best": best_cold, "trials": len(c["objectives"])},
                "warm": {
                    "trials_to_1pct": need_warm,
                    "best": best_warm,
                    "trials": len(w["objectives"]),
                    "trials_to_1pct_of_cold_best": warm_to_cold,
                },
                "warm_start": record,
            }
        )
        lines.append(
            f"| {c['version']} | {parents} | {reference:.6f} | {need_cold or '-'} | {need_warm or '-'} "
            f"| {best_cold:.6f} | {best_warm:.6f} | {warm_to_cold or '-'} |"
        )
    return rows, "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_VERSIONS} versions")
    parser.add_argument("--out", type=Path, help="results directory (default bench/results; --quick: a temporary one)")
    parser.add_argument("--versions", type=int, help=f"dataset versions (default {VERSIONS})")
    parser.add_argument(
        "--compare-html",
        type=Path,
        metavar="DIR",
        help="also write `mlcp runs compare --html` over each mode's runs to DIR (make report)",
    )
    args = parser.parse_args(argv)
    count = args.versions or (QUICK_VERSIONS if args.quick else VERSIONS)
    versions = [f"v{i}" for i in range(1, count + 1)]
    started = time.monotonic()
    cold = run_mode(versions, warm=False, compare=args.compare_html)
    warm = run_mode(versions, warm=True, compare=args.compare_html)
    rows, markdown = table(cold, warm)
    print(markdown)
    with tempfile.TemporaryDirectory(prefix="mlcp-bench-") as scratch:
        out: Path = args.out or (Path(scratch) if args.quick else RESULTS)
        out.mkdir(parents=True, exist_ok=True)
        path = out / "warm_start.json"
        path.write_text(
            json.dumps(
                {
                    "pipeline": "examples/pipelines/churn-warm (as " + PIPELINE + ")",
                    "within": WITHIN,
                    "reference": "best objective of either mode on the version",
                    "rows": rows,
                    "cold_runs": cold,
                    "warm_runs": warm,
                    "seconds": round(time.monotonic() - started, 1),
                    "date": time.strftime("%Y-%m-%d"),
                },
                indent=2,
            )
        )
        print(f"results: {path}")
    limit = max(len(r["objectives"]) for r in [*cold, *warm]) + 1
    cold_sum = sum(r["cold"]["trials_to_1pct"] or limit for r in rows)
    warm_sum = sum(r["warm"]["trials_to_1pct"] or limit for r in rows)
    cold_hit = sum(1 for r in rows if r["cold"]["trials_to_1pct"] is not None)
    warm_hit = sum(1 for r in rows if r["warm"]["trials_to_1pct"] is not None)
    print(
        f"RESULT versions={count} cold_trials={cold_sum} warm_trials={warm_sum} "
        f"warm_within_1pct={warm_hit}/{count} cold_within_1pct={cold_hit}/{count}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""200 training runs started at once through S3 uploads, in the local cloud (issue 3 benchmark).

One pipeline spec is registered, then 200 dataset manifests (datasets/churn/v001..v200/manifest.json) are uploaded
from 16 threads at once. Each upload goes S3 -> EventBridge -> rule -> start_run (asynchronous Lambda) ->
StartExecution -> the training pipeline. "Lost" counts manifests that produced no execution and no dead letter.

Last line: RESULT runs=200 succeeded=<int> lost=<int> seconds=<float>   (target succeeded=200, lost=0)
With --compare-iam the same runs go through a cloud without IAM enforcement first, then one with it (the default),
and the last line is RESULT_IAM off_seconds=<float> on_seconds=<float> ratio=<on/off>.

    .venv/bin/python bench/local_throughput.py [--out DIR] [--compare-iam] [--runs N]
    .venv/bin/python bench/local_throughput.py --quick    # smoke run: 2 manifests from 2 threads
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mlcp_cli.local.cloud import EXAMPLES, LocalCloud

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
RUNS = 200
THREADS = 16
QUICK_RUNS = 2  # --quick


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_RUNS} manifests instead of {RUNS}")
    parser.add_argument(
        "--out", type=Path, help="results directory (default bench/results; --quick: a temporary one, removed at exit)"
    )
    parser.add_argument(
        "--compare-iam", action="store_true", help="run without IAM enforcement, then with it, and print the ratio"
    )
    parser.add_argument("--runs", type=int, help=f"manifests to upload (default {RUNS}; --quick: {QUICK_RUNS})")
    args = parser.parse_args(argv)
    runs = args.runs or (QUICK_RUNS if args.quick else RUNS)
    with tempfile.TemporaryDirectory(prefix="mlcp-bench-") as scratch:
        out: Path = args.out or (Path(scratch) if args.quick else RESULTS)
        if args.compare_iam:
            off = throughput(runs, out / "iam-off", enforce_iam=False)
            on = throughput(runs, out / "iam-on", enforce_iam=True)
            print(f"RESULT_IAM off_seconds={off:.1f} on_seconds={on:.1f} ratio={on / off:.2f}")
        else:
            throughput(runs, out)
    return 0


def throughput(runs_wanted: int, out: Path, *, enforce_iam: bool = True) -> float:
    """Run the benchmark once; the wall seconds from the first upload until everything settled."""
    with LocalCloud(speed=5000.0, enforce_iam=enforce_iam) as cloud:
        cloud.upload_spec("churn", (EXAMPLES / "pipelines" / "churn" / "pipeline.yaml").read_bytes())
        cloud.dispatcher.drain()
        versions = [f"v{i:03d}" for i in range(1, runs_wanted + 1)]
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=min(THREADS, runs_wanted)) as pool:
            list(pool.map(lambda v: cloud.upload_dataset("churn", v, {"description": f"throughput {v}"}), versions))
        uploaded = time.monotonic() - started
        executions = cloud.settle(timeout=1800)
        seconds = time.monotonic() - started
        by_status: dict[str, int] = {}
        for e in executions:
            by_status[e["status"]] = by_status.get(e["status"], 0) + 1
        runs = cloud.runs()
        started_versions = {r.get("dataset_version") for r in runs}
        dead = cloud.dead_letters()
        lost = sum(1 for v in versions if v not in started_versions) - len(dead)
        succeeded = by_status.get("SUCCEEDED", 0)
        recorded = sum(1 for r in runs if r.get("status") == "SUCCEEDED")
    print(f"{'manifests uploaded':<28}{runs_wanted:>8}  ({uploaded:.1f} s to upload)")
    print(f"{'executions':<28}{len(executions):>8}  {by_status}")
    print(f"{'runs table SUCCEEDED':<28}{recorded:>8}")
    print(f"{'dead letters':<28}{len(dead):>8}")
    print(f"{'wall seconds':<28}{seconds:>8.1f}  ({runs_wanted / seconds:.2f} runs/s)")
    out.mkdir(parents=True, exist_ok=True)
    (out / "local_throughput.json").write_text(
        json.dumps(
            {
                "runs": runs_wanted,
                "statuses": by_status,
                "recorded_succeeded": recorded,
                "dead_letters": len(dead),
                "lost": lost,
                "seconds": round(seconds, 2),
            },
            indent=2,
        )
    )
    print(f"results written to {out / 'local_throughput.json'}")
    print(f"RESULT runs={runs_wanted} succeeded={succeeded} lost={max(lost, 0)} seconds={seconds:.1f}")
    return seconds


if __name__ == "__main__":
    sys.exit(main())

"""Preflight time per spec: how long mlcp takes to build and check every request a run of a spec sends.

For each spec in examples/ (the pipeline, the batch profile, the scaling policy) the bench times the preflight as
the functions run it on a parsed spec: build every request with the stages' own builders, and check each against
botocore's service models and the limits table (mlcp.common.preflight). The first call of a process also loads
the service models (cold: what the first registration after a Lambda cold start pays); later calls are warm.
Nothing asserts on time: it prints a table, writes ``preflight.json`` and ends with
``RESULT warm_ms_max=<float> cold_ms=<float>``.

    .venv/bin/python bench/preflight.py [--runs 200] [--out DIR]
    .venv/bin/python bench/preflight.py --quick          # 5 runs per spec, nothing kept
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "mlcp"), str(ROOT / "cli")]

from mlcp.aws.service_models import ServiceModels  # noqa: E402
from mlcp.batch.planner import make_plan  # noqa: E402
from mlcp.batch.requests import preflight_plan  # noqa: E402
from mlcp.batch.spec import parse_batch_spec  # noqa: E402
from mlcp.common.preflight import StackReach  # noqa: E402
from mlcp.scaling.policy import parse_policy  # noqa: E402
from mlcp.scaling.preflight import check_policy  # noqa: E402
from mlcp.training.preflight import preflight_spec  # noqa: E402
from mlcp.training.spec import parse_spec  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BUCKET = "mlcp-artifacts-example"
REACH = StackReach(artifact_bucket=BUCKET, stack_role_arn="arn:aws:iam::123456789012:role/mlcp-sagemaker")


def cases(checker: ServiceModels) -> dict[str, Callable[[], None]]:
    """The preflight of each example, its spec parsed (and its batch plan made) beforehand: parsing YAML is not
    the preflight's cost and is paid anyway."""
    pipeline = parse_spec((ROOT / "examples" / "pipelines" / "churn" / "pipeline.yaml").read_bytes())
    batch = parse_batch_spec((ROOT / "examples" / "batch" / "batch.yaml").read_bytes())
    plan = make_plan(batch, 10_000)
    policy = parse_policy((ROOT / "examples" / "scaling" / "policy.yaml").read_bytes())

    def training() -> None:
        preflight_spec(pipeline, reach=REACH, checker=checker)

    def batch_plan() -> None:
        preflight_plan(batch, plan, reach=REACH, checker=checker, source="bench")

    def scaling() -> None:
        check_policy(policy, checker=checker, source="bench")

    return {"pipelines/churn/pipeline.yaml": training, "batch/batch.yaml": batch_plan, "scaling/policy.yaml": scaling}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200, help="warm runs per spec (default 200)")
    parser.add_argument("--quick", action="store_true", help="5 runs per spec; results in a temporary directory")
    parser.add_argument("--out", type=Path, help="results directory (default bench/results)")
    args = parser.parse_args()
    runs = 5 if args.quick else args.runs
    checker = ServiceModels()
    rows: list[dict[str, Any]] = []
    cold_ms = 0.0
    for name, run in cases(checker).items():
        start = time.perf_counter()
        run()  # the first call loads this capability's service models
        first = (time.perf_counter() - start) * 1000
        cold_ms = max(cold_ms, first)
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            run()
            samples.append((time.perf_counter() - start) * 1000)
        rows.append({"spec": name, "first_ms": round(first, 2), "median_ms": round(statistics.median(samples), 3),
                     "p95_ms": round(sorted(samples)[int(0.95 * (len(samples) - 1))], 3), "runs": runs})  # fmt: skip
    width = max(len(r["spec"]) for r in rows)
    print(f"{'spec':<{width}}  first (ms, loads models)  median (ms)  p95 (ms)")
    for r in rows:
        print(f"{r['spec']:<{width}}  {r['first_ms']:>24.1f}  {r['median_ms']:>11.2f}  {r['p95_ms']:>8.2f}")
    with tempfile.TemporaryDirectory(prefix="mlcp-bench-") as scratch:
        out: Path = args.out or (Path(scratch) if args.quick else RESULTS)
        out.mkdir(parents=True, exist_ok=True)
        (out / "preflight.json").write_text(json.dumps(rows, indent=2) + "\n")
        print(f"wrote {out / 'preflight.json'}")
    print(f"RESULT warm_ms_max={max(r['median_ms'] for r in rows):.3f} cold_ms={cold_ms:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""State transitions of a successful training run, at two simulated job durations (issue 3 benchmark).

Step Functions bills Standard workflows per state transition, and the design says to wait for jobs with the
optimised `.sync` integrations, not with polling loops. So the count must not grow when the jobs take longer. The
example pipeline (augment -> Bayesian tuning -> int8 quantization -> gate -> register) runs in the local cloud
with every job duration at 0.25x and at 2.5x; transitions are counted from the execution history as AWS counts them
(every state entered, retries included).

Last line: RESULT training_run_transitions=<int> grows_with_duration=<true|false>   (target <= 30 and false)
Exits 1 when a run does not succeed (the counts would mean nothing).

    .venv/bin/python bench/transitions.py [--out DIR]
    .venv/bin/python bench/transitions.py --quick   # smoke run: the 0.25x run only (no grows_with_duration in RESULT)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any

from mlcp_cli.local.backends.jobs import JobDurations
from mlcp_cli.local.cloud import LocalCloud

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
# Job durations relative to JobDurations(): 10x apart, the longer still inside the example's MaxRuntimeInSeconds
# (3600 s per training job; at 10x the default the trials would hit it and end Stopped, as on AWS).
SHORT, LONG = 0.25, 2.5
# --quick: the short run only (a run costs ~10 s of CPU, mostly the local cloud's start), on a faster simulated clock
QUICK_SPEEDUP = 10.0


def run(scale: float, speedup: float = 1.0) -> dict[str, Any]:
    base = JobDurations()
    durations = JobDurations(**{f.name: getattr(base, f.name) * scale for f in fields(JobDurations)})
    with LocalCloud(speed=2000.0 * scale * speedup, durations=durations) as cloud:
        cloud.upload_example("churn", "v1")
        (execution,) = cloud.settle(timeout=600)
        history = cloud.history(execution["executionArn"])
        entered = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]
        run = cloud.run(execution["name"]) or {}
        tune_job = run.get("stage_tune__job_name", "")
        tuning = cloud.client("sagemaker").describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=tune_job)
        simulated = (tuning["HyperParameterTuningEndTime"] - tuning["CreationTime"]).total_seconds()
        return {
            "scale": scale,
            "status": execution["status"],
            "transitions": len(entered),
            "states": entered,
            "history_events": len(history),
            "tuning_seconds_simulated": simulated,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: the {SHORT:g}x run only, simulated clock {QUICK_SPEEDUP:g}x faster",
    )
    parser.add_argument(
        "--out", type=Path, help="results directory (default bench/results; --quick: a temporary one, removed at exit)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mlcp-bench-") as scratch:
        out: Path = args.out or (Path(scratch) if args.quick else RESULTS)
        if args.quick:
            return report([run(SHORT, QUICK_SPEEDUP)], out)
        return report([run(SHORT), run(LONG)], out)


def report(rows: list[dict[str, Any]], out: Path) -> int:
    print(f"{'job durations':>14} {'status':>10} {'tuning (sim s)':>15} {'transitions':>12} {'history events':>15}")
    for r in rows:
        print(
            f"{str(r['scale']) + 'x':>14} {r['status']:>10} {r['tuning_seconds_simulated']:>15.0f} "
            f"{r['transitions']:>12} {r['history_events']:>15}"
        )
    print("states entered:", " -> ".join(rows[0]["states"]))
    out.mkdir(parents=True, exist_ok=True)
    (out / "transitions.json").write_text(json.dumps(rows, indent=2))
    print(f"results written to {out / 'transitions.json'}")
    ok = all(r["status"] == "SUCCEEDED" for r in rows)
    if not ok:
        print("a run did not succeed:", [r["status"] for r in rows])
    result = f"RESULT training_run_transitions={rows[0]['transitions']}"
    if len(rows) > 1:
        grows = rows[-1]["transitions"] > rows[0]["transitions"]
        result += f" grows_with_duration={str(grows).lower()}"
    print(result)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

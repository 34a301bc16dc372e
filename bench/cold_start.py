"""Cold-start benchmark of every Lambda handler, relative to a bare ``import boto3`` + one client.

Each sample is a fresh interpreter (``sys.executable -c SNIPPET``) in a Lambda-like environment that times, with
``time.perf_counter`` inside the child:

* a handler: importing ``functions/<name>/app.py`` (``import``) and initialising it as Lambda would before the first
  request, i.e. calling its ``deps()`` if it has one (``init``: settings validated from the environment; the AWS
  clients themselves are lazy);
* the baseline: ``import boto3`` (``import``) and ``boto3.client("s3")`` (``init``).

Baseline and handler runs alternate, so that machine noise hits both; every child runs once, discarded, before the
measured runs so that the OS file cache is warm for all. The ratio ``handler median / baseline median`` does not
depend much on the machine; the target is ``max_ratio <= 1.5``. This is a benchmark, not a test: it asserts nothing
on time, prints a table, writes ``bench/results/cold_start.json`` and ends with the line
``RESULT max_ratio=<float> worst=<handler>``.

    .venv/bin/python bench/cold_start.py [--runs 9]
    .venv/bin/python bench/cold_start.py --profile start_run   # top imports (python -X importtime)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
RESULTS = ROOT / "bench" / "results" / "cold_start.json"
MIN_RUNS = 7
DEFAULT_RUNS = 9
TARGET = 1.5
MARKER = "BENCH_JSON "

# What is imported before the clock starts is the same in both kinds of child, so neither is favoured.
_PRELUDE = "import importlib.util, json, sys, time\n"

# argv: [-c, path of app.py, unique module name]
HANDLER_SNIPPET = (
    _PRELUDE
    + """
c0, t0 = time.process_time(), time.perf_counter()
spec = importlib.util.spec_from_file_location(sys.argv[2], sys.argv[1])
assert spec is not None and spec.loader is not None
module = importlib.util.module_from_spec(spec)
sys.modules[sys.argv[2]] = module
spec.loader.exec_module(module)
t1 = time.perf_counter()
deps = getattr(module, "deps", None)
if callable(deps):
    deps()
t2, c2 = time.perf_counter(), time.process_time()
print("BENCH_JSON " + json.dumps({"import_ms": (t1 - t0) * 1e3, "init_ms": (t2 - t1) * 1e3, "cpu_ms": (c2 - c0) * 1e3}))
"""
)

BASELINE_SNIPPET = (
    _PRELUDE
    + """
c0, t0 = time.process_time(), time.perf_counter()
import boto3
t1 = time.perf_counter()
boto3.client("s3")
t2, c2 = time.perf_counter(), time.process_time()
print("BENCH_JSON " + json.dumps({"import_ms": (t1 - t0) * 1e3, "init_ms": (t2 - t1) * 1e3, "cpu_ms": (c2 - c0) * 1e3}))
"""
)

BASELINE = "baseline"


@dataclass
class Samples:
    import_ms: list[float] = field(default_factory=list)
    init_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # process time of the same span: less hit by other loads

    def add(self, measure: dict[str, float]) -> None:
        self.import_ms.append(measure["import_ms"])
        self.init_ms.append(measure["init_ms"])
        self.total_ms.append(measure["import_ms"] + measure["init_ms"])
        self.cpu_ms.append(measure["cpu_ms"])

    def medians(self) -> dict[str, float]:
        return {
            "import_ms": statistics.median(self.import_ms),
            "init_ms": statistics.median(self.init_ms),
            "total_ms": statistics.median(self.total_ms),
            "cpu_ms": statistics.median(self.cpu_ms),
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "samples": {
                "import_ms": self.import_ms,
                "init_ms": self.init_ms,
                "total_ms": self.total_ms,
                "cpu_ms": self.cpu_ms,
            },
            "median": self.medians(),
            "min_total_ms": min(self.total_ms),
            "max_total_ms": max(self.total_ms),
        }


def handlers() -> list[str]:
    return sorted(p.name for p in FUNCTIONS.iterdir() if (p / "app.py").is_file())


def lambda_env(handler: str) -> dict[str, str]:
    """A Lambda-like environment: only what the runtime and template.yaml set, none of the caller's variables.

    LAMBDA_TASK_ROOT matters: Powertools enables its Tracer (aws_xray_sdk, patching of botocore) only inside Lambda.
    PYTHONDONTWRITEBYTECODE is left unset: a Lambda package may ship its bytecode caches.
    """
    task_root = FUNCTIONS / handler
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        # the Lambda runtime
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": handler,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",  # fake credentials: nothing is sent
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        # no user ~/.aws files may change what botocore loads; no instance metadata look-ups
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        # template.yaml, Globals.Function.Environment
        "POWERTOOLS_SERVICE_NAME": "mlcp",
        "POWERTOOLS_METRICS_NAMESPACE": "mlcp",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_LOGGER_LOG_EVENT": "false",
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        "MLCP_ENVIRONMENT": "bench",
        "RUNS_TABLE": "mlcp-bench-runs",
        "PIPELINES_TABLE": "mlcp-bench-pipelines",
        "ARTIFACT_BUCKET": "mlcp-bench-artifacts",
        "SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/x",
        "NOTIFICATION_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t",
        "TRAINING_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:m",
        "NEO_POLL_SECONDS": "30",
        "NEO_MAX_POLLS": "120",
    }


def child_command(handler: str, *, baseline: bool, python_flags: tuple[str, ...] = ()) -> list[str]:
    if baseline:
        return [sys.executable, *python_flags, "-c", BASELINE_SNIPPET]
    app = FUNCTIONS / handler / "app.py"
    return [sys.executable, *python_flags, "-c", HANDLER_SNIPPET, str(app), f"mlcp_bench_handler_{handler}"]


def run_child(handler: str, *, baseline: bool) -> dict[str, float]:
    """One fresh interpreter; the baseline runs in the handler's environment and directory too."""
    proc = subprocess.run(
        child_command(handler, baseline=baseline),
        env=lambda_env(handler),
        cwd=FUNCTIONS / handler,
        capture_output=True,
        text=True,
        check=False,
    )
    what = BASELINE if baseline else handler
    if proc.returncode != 0:
        raise RuntimeError(f"{what}: child exited {proc.returncode}\n{proc.stderr}")
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARKER):
            data: dict[str, float] = json.loads(line[len(MARKER) :])
            return data
    raise RuntimeError(f"{what}: no measurement in the child's output\n{proc.stdout}\n{proc.stderr}")


@dataclass
class Measurements:
    baseline: Samples
    handlers: dict[str, Samples]
    # per handler, the baseline run of the same pair (adjacent in time): the ratios of pairs share their noise
    paired_baseline: dict[str, Samples]

    def ratio(self, name: str) -> float:
        """The benchmark's figure: handler median / median of all the baseline runs."""
        return self.handlers[name].medians()["total_ms"] / self.baseline.medians()["total_ms"]

    def paired_ratio(self, name: str) -> float:
        """Median of the per-pair ratios (a noise check of ``ratio``)."""
        pairs = zip(self.handlers[name].total_ms, self.paired_baseline[name].total_ms, strict=True)
        return statistics.median(h / b for h, b in pairs)

    def cpu_ratio(self, name: str) -> float:
        """Like ``ratio`` with the children's process time instead of wall time."""
        return self.handlers[name].medians()["cpu_ms"] / self.baseline.medians()["cpu_ms"]


def measure(names: list[str], runs: int) -> Measurements:
    for name in names:  # warm-up, discarded: the OS file cache (and bytecode caches) are warm for both kinds
        run_child(name, baseline=True)
        run_child(name, baseline=False)
    result = Measurements(Samples(), {name: Samples() for name in names}, {name: Samples() for name in names})
    for round_ in range(runs):
        for name in names:
            # alternate which goes first, so that neither always runs right after the other
            order = (True, False) if round_ % 2 == 0 else (False, True)
            for is_baseline in order:
                sample = run_child(name, baseline=is_baseline)
                if is_baseline:
                    result.baseline.add(sample)
                    result.paired_baseline[name].add(sample)
                else:
                    result.handlers[name].add(sample)
        print(f"  round {round_ + 1}/{runs} done", file=sys.stderr, flush=True)
    return result


def report(measured: Measurements, runs: int, output: Path) -> tuple[float, str]:
    results = measured.handlers
    base = measured.baseline.medians()
    ratios = {name: measured.ratio(name) for name in results}
    width = max(len(BASELINE), *(len(name) for name in results))
    header = (
        f"{'handler':<{width}}  {'import ms':>9}  {'init ms':>7}  {'total ms':>8}  {'ratio':>6}"
        f"  {'paired':>6}  {'cpu ratio':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, samples in results.items():
        m = samples.medians()
        flag = "  > target" if ratios[name] > TARGET else ""
        print(
            f"{name:<{width}}  {m['import_ms']:>9.1f}  {m['init_ms']:>7.1f}  {m['total_ms']:>8.1f}"
            f"  {ratios[name]:>6.3f}  {measured.paired_ratio(name):>6.3f}  {measured.cpu_ratio(name):>9.3f}{flag}"
        )
    print("-" * len(header))
    print(
        f"{BASELINE:<{width}}  {base['import_ms']:>9.1f}  {base['init_ms']:>7.1f}  {base['total_ms']:>8.1f}"
        f"  {1.0:>6.3f}  {'':>6}  {1.0:>9.3f}"
    )
    print(
        f"medians of {runs} fresh interpreters per handler and of {len(measured.baseline.total_ms)} baseline runs"
        " (import boto3 + boto3.client('s3'));\n"
        "ratio = handler total / baseline total (the figure); paired = median of the ratios of adjacent"
        " baseline/handler pairs;\ncpu ratio = the same as ratio with the children's process time"
        " (both only show how noisy the run was)"
    )

    worst = max(ratios, key=lambda name: ratios[name])
    document = {
        "benchmark": "cold_start",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version,
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "runs": runs,
        "target_max_ratio": TARGET,
        "baseline": {"what": "import boto3; boto3.client('s3')", **measured.baseline.as_json()},
        "handlers": {
            name: {
                **samples.as_json(),
                "paired_baseline_total_ms": measured.paired_baseline[name].total_ms,
                "ratio": ratios[name],
                "paired_ratio": measured.paired_ratio(name),
                "cpu_ratio": measured.cpu_ratio(name),
            }
            for name, samples in results.items()
        },
        "max_ratio": ratios[worst],
        "worst": worst,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n")
    try:
        shown = output.relative_to(ROOT)
    except ValueError:
        shown = output
    print(f"results written to {shown}")
    return ratios[worst], worst


def importtime(handler: str, *, baseline: bool) -> tuple[list[tuple[int, int, str]], dict[str, float]]:
    """One child under ``python -X importtime``: (self us, cumulative us, module) per import, and its measure."""
    proc = subprocess.run(
        child_command(handler, baseline=baseline, python_flags=("-X", "importtime")),
        env=lambda_env(handler),
        cwd=FUNCTIONS / handler,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{handler}: child exited {proc.returncode}\n{proc.stderr}")
    rows: list[tuple[int, int, str]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        rows.append((int(parts[0]), int(parts[1]), parts[2].rstrip()))
    measured: dict[str, float] = {}
    for line in proc.stdout.splitlines():
        if line.startswith(MARKER):
            measured = json.loads(line[len(MARKER) :])
    return rows, measured


def profile(handler: str, top: int) -> None:
    """``python -X importtime`` of one handler (import + init), after a warm-up run: the costliest imports."""
    run_child(handler, baseline=True)
    run_child(handler, baseline=False)
    rows, measured = importtime(handler, baseline=False)
    base_rows, _ = importtime(handler, baseline=True)
    print(
        f"{handler}: import {measured['import_ms']:.1f} ms + init {measured['init_ms']:.1f} ms"
        " (under -X importtime, which inflates it)"
    )
    for title, key in (("cumulative", 1), ("self", 0)):
        print(f"\ntop {top} imports by {title} time (us), of {len(rows)} modules:")
        print(f"{'self':>9}  {'cumulative':>10}  module")
        for self_us, cumulative_us, module in sorted(rows, key=lambda row: row[key], reverse=True)[:top]:
            print(f"{self_us:>9}  {cumulative_us:>10}  {module}")

    # What the handler adds to the baseline: the modules that `import boto3; boto3.client("s3")` does not load.
    in_baseline = {module.strip() for _, _, module in base_rows}
    packages: dict[str, list[int]] = {}
    for self_us, _, module in rows:
        name = module.strip()
        if name not in in_baseline:
            entry = packages.setdefault(name.split(".", 1)[0], [0, 0])
            entry[0] += self_us
            entry[1] += 1
    added = sum(us for us, _ in packages.values())
    print(f"\ntop {top} packages by self time (us) of the modules the baseline does not import ({added} us in all):")
    print(f"{'self':>9}  {'modules':>7}  package")
    for package, (self_us, count) in sorted(packages.items(), key=lambda item: item[1][0], reverse=True)[:top]:
        print(f"{self_us:>9}  {count:>7}  {package}")


def runs_option(text: str) -> int:
    value = int(text)
    if value < MIN_RUNS:
        raise argparse.ArgumentTypeError(f"at least {MIN_RUNS} runs (got {value})")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument(
        "--runs", type=runs_option, default=DEFAULT_RUNS, help=f"fresh interpreters per handler, >= {MIN_RUNS}"
    )
    parser.add_argument("--profile", metavar="HANDLER", help="print the costliest imports of one handler and stop")
    parser.add_argument("--top", type=int, default=15, help="how many imports --profile prints (default 15)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)

    names = handlers()
    if args.profile is not None:
        if args.profile not in names:
            parser.error(f"unknown handler {args.profile!r}; one of: {', '.join(names)}")
        profile(args.profile, args.top)
        return 0

    print(f"cold start of {len(names)} handlers, {args.runs} runs each, python {platform.python_version()}")
    max_ratio, worst = report(measure(names, args.runs), args.runs, args.output)
    print(f"RESULT max_ratio={max_ratio:.3f} worst={worst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

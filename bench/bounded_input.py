"""Bounded work per request (issue 18): the worst accepted document's validation time and the rejection time of
hostile ones, for the three document types and API request bodies (mlcp.common.documents + the models).

Worst accepted inputs (each is accepted): every bounded list and map of a pipeline spec filled to its limit
(30 ranges, 20 metric definitions, 100 hyperparameters in all, 100-entry environments, 40 tags, 19 channels), as
JSON and as YAML, padded with comments to just under the 256 KiB document limit; a batch spec and a scaling policy
likewise (20 rules of each kind, 40 alarms). Rejected inputs: 10 MB as text, as an API body and as an S3 object
(refused from its ContentLength, the body unread), 60,000 ranges (33 s before: quadratic list.count), a YAML
"billion laughs", JSON nested 5,000 deep and a 4,301-digit integer.

Prints a table (median of --repeat runs, ms) and writes bench/results/bounded_input.json. Last line:
RESULT worst_accepted_ms=<float> reject_10mb_ms=<float> ...   (goal: worst_accepted_ms < 100)

    .venv/bin/python bench/bounded_input.py [--out DIR] [--repeat N]
    .venv/bin/python bench/bounded_input.py --quick   # one run of each case, results to a temporary directory
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from mlcp.batch.spec import parse_batch_spec
from mlcp.common.documents import MAX_DOCUMENT_BYTES, json_body, read_document
from mlcp.errors import DocumentTooLarge, InputInvalid, SpecInvalid
from mlcp.scaling.policy import MAX_RULES, parse_policy
from mlcp.training.spec import parse_spec

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TEN_MB = 10 * 1024 * 1024


def _pad(text: str, comment: str = "#") -> str:
    """YAML comments up to just under the document limit (the scanner still reads every byte)."""
    line = f"{comment} " + "p" * 1000 + "\n"
    room = MAX_DOCUMENT_BYTES - len(text.encode()) - 16
    return text + line * max(room // len(line), 0)


def worst_spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "pipelines" / "churn" / "pipeline.yaml").read_text())
    env = {f"V{i:03d}": "e" * 256 for i in range(100)}
    spec["augment"]["environment"] = env
    spec["augment"]["arguments"] = ["a" * 256] * 256
    names = ["train", "validation"] + [f"c{i}" for i in range(17)]  # 19: the compression job adds 'model'
    spec["dataset"]["channels"] = [{"name": n, "content_type": "text/csv"} for n in names]
    tuning = spec["tuning"]
    tuning["parameter_ranges"] = {
        "continuous": [{"name": f"r{i}", "min": 0.1, "max": 0.9} for i in range(10)],
        "integer": [{"name": f"i{i}", "min": 1, "max": 9} for i in range(10)],
        "categorical": [{"name": f"k{i}", "values": [f"v{j}" for j in range(30)]} for i in range(10)],
    }
    tuning["metric_definitions"] = [{"name": "validation:auc", "regex": "validation-auc:([0-9\\.]+)"}] + [
        {"name": f"m{i}", "regex": f"m{i}:([0-9\\.]+)"} for i in range(19)
    ]
    tuning["static_hyperparameters"] = {f"h{i}": "x" * 100 for i in range(70)}
    tuning["training"]["environment"] = {f"T{i:02d}": "t" * 512 for i in range(48)}
    spec["tags"] = {f"tag{i}": "v" * 256 for i in range(40)}
    return spec


def worst_batch() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "batch" / "batch.yaml").read_text())
    spec["job"]["environment"] = {f"V{i:03d}": "e" * 256 for i in range(100)}
    spec["job"]["command"] = ["worker"] + ["--n={items_per_child}"] * 99
    return spec


def worst_policy() -> dict[str, Any]:
    policy: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "scaling" / "policy.yaml").read_text())
    policy["scale_out"] = [{"alarm": f"mlcp-scaling-o{i}", "add": 1} for i in range(MAX_RULES)]
    policy["scale_in"] = [{"alarm": f"mlcp-scaling-i{i}", "remove": 1} for i in range(MAX_RULES)]
    policy["schedules"] = [{"name": f"s{i}", "cron": "cron(0 7 ? * MON-FRI *)", "floor": 2} for i in range(MAX_RULES)]
    alarm = policy["alarms"][0]
    policy["alarms"] = [{**alarm, "name": f"mlcp-scaling-o{i}"} for i in range(2 * MAX_RULES)]
    return policy


class _BigObject:
    """An object store whose object is 10 MB: read_document must refuse it from the size, not read it."""

    def read(self, uri: str, version_id: str | None = None, *, max_bytes: int | None = None) -> bytes:  # noqa: ARG002
        if max_bytes is not None and max_bytes < TEN_MB:
            raise DocumentTooLarge(uri, TEN_MB, max_bytes)
        return b"x" * TEN_MB

    def size(self, uri: str) -> int:  # noqa: ARG002
        return TEN_MB

    def exists(self, uri: str, version_id: str | None = None) -> bool:  # noqa: ARG002
        return True


def _timed(action: Callable[[], Any], repeat: int, *, refused: bool) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            action()
            ok = True
        except InputInvalid:
            ok = False
        samples.append((time.perf_counter() - started) * 1000)
        if ok == refused:
            raise SystemExit(f"expected {'a refusal' if refused else 'acceptance'}")
    return statistics.median(samples)


def cases() -> tuple[dict[str, Callable[[], Any]], dict[str, Callable[[], Any]]]:
    spec, batch, policy = worst_spec(), worst_batch(), worst_policy()
    spec_json, spec_yaml = json.dumps(spec), _pad(yaml.safe_dump(spec, sort_keys=False))
    batch_yaml, policy_yaml = _pad(yaml.safe_dump(batch)), _pad(yaml.safe_dump(policy))
    ranges = copy.deepcopy(spec)
    ranges["tuning"]["parameter_ranges"] = {"integer": [{"name": f"p{i}", "min": 1, "max": 2} for i in range(60_000)]}
    ranges_text = json.dumps(ranges)
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
    )
    accepted = {
        "pipeline spec, every list full (JSON)": lambda: parse_spec(spec_json),
        f"pipeline spec, every list full, YAML padded to {len(spec_yaml) // 1024} KiB": lambda: parse_spec(spec_yaml),
        "batch spec, every list full (YAML, padded)": lambda: parse_batch_spec(batch_yaml),
        "scaling policy, every list full (YAML, padded)": lambda: parse_policy(policy_yaml),
        "API body: the full spec as POST /runs JSON": lambda: json_body(json.dumps({"spec": spec})),
    }
    ten_mb = "x" * TEN_MB
    rejected = {
        "10 MB document (text)": lambda: parse_spec(ten_mb),
        "10 MB API request body": lambda: json_body(ten_mb),
        "10 MB S3 object (from ContentLength)": lambda: read_document(
            _BigObject(), "s3://b/pipelines/x/pipeline.yaml", source="s3", error=SpecInvalid
        ),
        f"60,000 ranges ({len(ranges_text) / 2**20:.1f} MiB JSON)": lambda: parse_spec(ranges_text),
        "60,000 ranges as a dict (in-process; an API body is capped first)": lambda: parse_spec(ranges),
        "billion laughs (YAML aliases)": lambda: parse_spec(laughs),
        "JSON nested 5,000 deep": lambda: parse_spec('{"a": ' + "[" * 5000 + "]" * 5000 + "}"),
        "4,301-digit integer": lambda: parse_spec('{"a": ' + "9" * 4301 + "}"),
    }
    return accepted, rejected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="one run of each case")
    parser.add_argument("--repeat", type=int, default=7, help="runs per case (median reported)")
    parser.add_argument("--out", type=Path, help="results directory (default bench/results; --quick: temporary)")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    accepted, rejected = cases()
    rows: list[dict[str, Any]] = []
    print(f"{'case':<62} {'outcome':>9} {'median ms':>10}")
    for group, refused in ((accepted, False), (rejected, True)):
        for name, action in group.items():
            ms = _timed(action, repeat, refused=refused)
            rows.append({"case": name, "refused": refused, "ms": round(ms, 3)})
            print(f"{name:<62} {'refused' if refused else 'accepted':>9} {ms:>10.2f}")
    worst = max(r["ms"] for r in rows if not r["refused"])
    ten = max(r["ms"] for r in rows if r["case"].startswith("10 MB"))
    worst_refusal = max(r["ms"] for r in rows if r["refused"])
    with tempfile.TemporaryDirectory(prefix="mlcp-bench-") as scratch:
        out: Path = args.out or (Path(scratch) if args.quick else RESULTS)
        out.mkdir(parents=True, exist_ok=True)
        summary = {"repeat": repeat, "rows": rows, "worst_accepted_ms": worst, "reject_10mb_ms": ten}
        (out / "bounded_input.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"RESULT worst_accepted_ms={worst:.2f} reject_10mb_ms={ten:.2f} worst_refusal_ms={worst_refusal:.2f} "
        f"goal_worst_accepted_ms=100"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

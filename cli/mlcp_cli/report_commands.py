"""`mlcp runs report RUN_ID --html out.html` and `mlcp runs compare --pipeline NAME [--html out.html]`: run reports
through the REST API (deployed, --endpoint, or --local), rendered by mlcp_cli.report.

compare shows one row per dataset version: the latest run of that version (a retrain of the same data replaces
the earlier run in the table; `mlcp runs list --pipeline NAME` lists them all).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mlcp_cli import api_commands
from mlcp_cli.api_client import run_id_argument
from mlcp_cli.report import write_compare, write_run_report
from mlcp_cli.report.shape import DASH, compare_money, size

EXIT_USAGE = 2
PLOT_HINT = "reports need plotly: pip install 'mlcp[plot]'  (in a clone, `make bootstrap` installs it)"


def _plotly_missing() -> int | None:
    try:
        import plotly  # noqa: F401, PLC0415 - the `plot` extra
    except ImportError:
        print(f"mlcp: {PLOT_HINT}", file=sys.stderr)
        return EXIT_USAGE
    return None


def cmd_runs_report(args: argparse.Namespace) -> int:
    missing = _plotly_missing()
    if missing is not None:
        return missing
    path = Path(args.html)
    report = write_run_report(api_commands.client(args), args.run_id, path, args.pipeline)
    trials = report.trials
    count = len(trials.get("trials") or [])
    if args.json:
        print(json.dumps({"run_id": args.run_id, "html": str(path), "trials": count}, indent=2, sort_keys=True))
    else:
        print(f"wrote {path}: run {args.run_id} ({report.record.get('status')}), {count} trials")
    if trials.get("reason"):
        print(f"mlcp: note: {trials['reason']}", file=sys.stderr)
    return 0


def _text_row(row: dict[str, Any]) -> dict[str, Any]:
    best = row["best_objective"]
    return {
        "dataset_version": row["dataset_version"],
        "run_id": row["run_id"],
        "status": row["status"],
        "best_objective": DASH if best is None else f"{best:.6g}",
        "size_after": DASH if row["size_after"] is None else size(row["size_after"]),
        "cost": compare_money(row["cost_total"], row["currency"]),
    }


def cmd_runs_compare(args: argparse.Namespace) -> int:
    if args.html:
        missing = _plotly_missing()
        if missing is not None:
            return missing
    rows = write_compare(api_commands.client(args), args.pipeline, Path(args.html) if args.html else None)
    if args.json:
        print(json.dumps({"pipeline": args.pipeline, "rows": rows}, indent=2, sort_keys=True))
    else:
        columns = ["dataset_version", "run_id", "status", "best_objective", "size_after", "cost"]
        api_commands._table([_text_row(r) for r in rows], columns)
    if args.html:
        print(f"wrote {args.html}: {len(rows)} dataset versions", file=sys.stderr if args.json else sys.stdout)
    return 0


def add_report_parsers(sub: Any) -> None:
    """`report` and `compare` join the `runs` group (api_commands.add_parsers)."""
    runs_sub = api_commands._subcommands(sub.choices["runs"])
    report = api_commands._command(
        runs_sub,
        "report",
        cmd_runs_report,
        "write one run's report as a self-contained HTML file (stages, trials, compression, gate, cost)",
    )
    report.add_argument("run_id", type=run_id_argument)
    report.add_argument("--pipeline", help="the run's pipeline (default: found from the run id)")
    report.add_argument("--html", required=True, metavar="FILE", help="the HTML file to write (directories created)")
    compare = api_commands._command(
        runs_sub,
        "compare",
        cmd_runs_compare,
        "a pipeline's runs across dataset versions (each version's latest SUCCEEDED run, else its latest): objective, "
        "model size, cost",
    )
    compare.add_argument("--pipeline", required=True)
    compare.add_argument("--html", metavar="FILE", help="also write an HTML page with the charts")

"""Run reports people can look at: `mlcp runs report` (one run) and `mlcp runs compare` (a pipeline's runs across
dataset versions), each one self-contained HTML file with plotly charts.

In-process (the local demo, benches): pass the API client of `mlcp runs get`, e.g. on a LocalCloud::

    api = serve_api(cloud)                      # mlcp_cli.local.api_server
    client = ApiClient(api.url, sign=False)
    write_run_report(client, run_id, Path("build/report/run.html"))
    rows = write_compare(client, "churn", Path("build/report/compare.html"), run_ids=ids)
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

from mlcp_cli.api_client import ApiClient
from mlcp_cli.report.gather import RunReport, gather_compare, gather_run


def _write(path: Path, text: str) -> Path:
    """Write the page (its directory created); OSError names the path (mlcp_cli.errors: one line, exit 1)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:  # a file where a directory of the path should be
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), exc.filename) from exc
    path.write_text(text, encoding="utf-8")
    return path


def write_run_report(client: ApiClient, run_id: str, path: Path, pipeline: str | None = None) -> RunReport:
    """Gather the run and its trials through ``client`` and write its HTML report to ``path``."""
    from mlcp_cli.report.render import run_html  # noqa: PLC0415 - plotly loads only when a page is written

    report = gather_run(client, run_id, pipeline)
    _write(path, run_html(report.record, report.trials))
    return report


def write_compare(
    client: ApiClient, pipeline: str, path: Path | None = None, run_ids: list[str] | None = None
) -> list[dict[str, Any]]:
    """The compare rows (one per dataset version: its latest run, of ``run_ids`` when given); with ``path``, the
    HTML page with its charts written there."""
    rows = gather_compare(client, pipeline, run_ids)
    if path is not None:
        from mlcp_cli.report.render import compare_html  # noqa: PLC0415

        _write(path, compare_html(pipeline, rows))
    return rows


__all__ = ["RunReport", "gather_compare", "gather_run", "write_compare", "write_run_report"]

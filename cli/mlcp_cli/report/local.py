"""Reports of runs on an in-process local cloud (`mlcp local demo --report`, `make report`, benches): the same
API client as `mlcp runs get --local`, on the cloud's own local API (real HTTP on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlcp_cli.api_client import ApiClient
from mlcp_cli.report import write_compare, write_run_report


@contextmanager
def local_client(cloud: Any) -> Iterator[ApiClient]:
    """An API client on a started LocalCloud's local API (unsigned: the local operator), for the block's time."""
    from mlcp_cli.local.api_server import serve_api  # noqa: PLC0415 - the local cloud's own module

    api = serve_api(cloud)
    try:
        yield ApiClient(api.url, sign=False)
    finally:
        api.stop()


def report_after(path: Path) -> Callable[[Any, str], str]:
    """For run_demo(after=...): write the run's report to ``path``; returns the summary's line."""

    def write(cloud: Any, run_id: str) -> str:
        with local_client(cloud) as client:
            report = write_run_report(client, run_id, path)
        return f"report          {path} ({len(report.trials.get('trials') or [])} trials)"

    return write


def compare_local(cloud: Any, pipeline: str, path: Path, run_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """`mlcp runs compare --html` over a local cloud's runs of ``pipeline`` (only ``run_ids`` when given, e.g. the
    warm-start bench's run_versions(...)): one row per dataset version; the page written to ``path``."""
    with local_client(cloud) as client:
        return write_compare(client, pipeline, path, run_ids)

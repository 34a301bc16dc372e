"""What a report reads, through the same API client as `mlcp runs get` (deployed API, `--local`, or an in-process
local cloud's API: :func:`mlcp_cli.local.api_server.serve_api`): the run record and its trials; for compare, the
pipeline's runs (every page) and the record of each dataset version's latest run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlcp.common.api_models import MAX_PAGE
from mlcp_cli.api_client import ApiClient
from mlcp_cli.report import shape


@dataclass(frozen=True)
class RunReport:
    record: dict[str, Any]
    trials: dict[str, Any]


def gather_run(client: ApiClient, run_id: str, pipeline: str | None = None) -> RunReport:
    """The run record (GET .../runs/{run_id}) and its trials (GET .../runs/{run_id}/trials). Without a pipeline,
    found from the run id as `mlcp runs get` does. Raises ApiError (404: no such run)."""
    record = client.owned(run_id, pipeline, lambda name: client.get_run(name, run_id))
    trials = client.get_run_trials(str(record["pipeline"]), run_id)
    return RunReport(record, trials)


def list_all_runs(client: ApiClient, pipeline: str) -> list[dict[str, Any]]:
    """Every run of the pipeline (every page of GET /pipelines/{name}/runs)."""
    page = client.list_runs(pipeline, limit=MAX_PAGE)
    items = list(page.get("items") or [])
    while page.get("next_token"):
        page = client.list_runs(pipeline, limit=MAX_PAGE, next_token=page["next_token"])
        items += page.get("items") or []
    return items


def compare_row(record: dict[str, Any]) -> dict[str, Any]:
    """One row of compare: run id, dataset version, status, best objective, model size after compression, cost."""
    compression = shape.compression(record) or {}
    total, currency, _ = shape.cost_rows(record)
    return {
        "run_id": record["run_id"],
        "dataset_version": record.get("dataset_version"),
        "status": record.get("status"),
        "created_at": record.get("created_at"),
        "objective_metric": (record.get("best") or {}).get("objective_metric"),
        "best_objective": shape.best_objective(record),
        "size_after": compression.get("size_after"),
        "cost_total": total,
        "currency": currency,
    }


def gather_compare(client: ApiClient, pipeline: str, run_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per dataset version, its latest run (of ``run_ids`` only, when given), versions oldest first.
    A pipeline with no run that is not registered either is the API's 404 (GET /pipelines/{name}), not an empty
    table: the list route answers an unknown pipeline with no items."""
    runs = list_all_runs(client, pipeline)
    if not runs:
        client.get_pipeline(pipeline)
    if run_ids is not None:
        wanted = set(run_ids)
        runs = [r for r in runs if r["run_id"] in wanted]
    return [compare_row(client.get_run(pipeline, str(r["run_id"]))) for r in shape.latest_per_version(runs)]

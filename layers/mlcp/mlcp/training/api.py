"""The use cases behind /runs and /pipelines (functions/api): data in, data out, errors as mlcp exceptions.

The HTTP layer (mlcp.rest) parses requests into models, calls one of these, and maps the exceptions to statuses
(InputInvalid 400, NotFound 404, Conflict 409, Throttled 429) in one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlcp.common import naming
from mlcp.common.notifications import iso
from mlcp.common.pagination import decode_token, encode_token, read_pages
from mlcp.common.payloads import Trigger, TriggerType
from mlcp.common.ports import ExecutionControl
from mlcp.errors import (
    ArtifactMissing,
    Conflict,
    FieldError,
    InputInvalid,
    NotFound,
    SpecInvalid,
)
from mlcp.training import stages, trials, use_cases
from mlcp.training.api_models import (
    PipelinePage,
    PipelineSummary,
    PipelineView,
    RunActionResponse,
    RunPage,
    RunSummary,
    RunTrials,
    RunView,
    StartRunRequest,
    StartRunResponse,
)
from mlcp.training.payloads import DatasetRef, RunInput, RunStatus
from mlcp.training.ports import PipelineCatalog, RunIndex

CANCEL_ERROR = "mlcp.Cancelled"
_RUN_KEYS = {"run_id"}
_RUN_INDEX_KEYS = {"run_id", "pipeline", "created_at"}
_PIPELINE_KEYS = {"name"}


@dataclass
class RunsApi:
    """What /runs and /pipelines need: the pipeline's ports, execution control, the run index and the catalogue."""

    core: use_cases.Deps
    control: ExecutionControl
    run_index: RunIndex
    catalog: PipelineCatalog


# --- runs --------------------------------------------------------------------------------------------------------
def run_id_for(pipeline: str, dataset_version: str, caller: str, idempotency_key: str | None, request_id: str) -> str:
    """The execution name of an API run: from the caller's Idempotency-Key (a retry maps to the same run), else
    from the API Gateway request id (every request is a new run)."""
    if idempotency_key:
        return naming.execution_name(pipeline, dataset_version, "api", caller, idempotency_key)
    return naming.execution_name(pipeline, dataset_version, "api-request", request_id)


def _inline_spec(document: dict[str, Any], pipeline: str, deps: use_cases.Deps) -> str:
    """Validate an inline spec and run its preflight (errors named ``spec.<field>``); its name must be the
    pipeline of the path (POST /pipelines/{name}/runs), so a grant on one pipeline never runs another's name."""
    try:
        spec = stages.checked_spec(document, deps, source="inline spec")
    except SpecInvalid as exc:
        errors = [FieldError(f"spec.{e.field}".rstrip("."), e.message) for e in exc.errors]
        raise InputInvalid("request body", errors) from exc
    if pipeline != spec.name:
        raise InputInvalid(
            "request body", [FieldError("spec.name", f"is {spec.name!r} but the path names pipeline {pipeline!r}")]
        )
    return spec.name


def _dataset(pipeline: str, version: str | None, deps: RunsApi) -> DatasetRef:
    if version is None:
        latest = deps.core.pipelines.latest_dataset(pipeline)
        if latest is None:
            raise NotFound(
                f"pipeline {pipeline!r} has no dataset version yet: upload datasets/{pipeline}/<version>/manifest.json "
                "or give dataset_version"
            )
        return latest
    uri = f"s3://{deps.core.settings.artifact_bucket}/datasets/{pipeline}/{version}/manifest.json"
    try:
        deps.core.objects.size(uri)
    except ArtifactMissing as exc:
        raise NotFound(f"dataset version {version!r} of pipeline {pipeline!r}: {uri} does not exist") from exc
    return DatasetRef(name=pipeline, version=version, manifest_uri=uri)


def start_run(
    pipeline: str,
    request: StartRunRequest,
    *,
    caller: str,
    idempotency_key: str | None,
    request_id: str,
    deps: RunsApi,
) -> StartRunResponse:
    """POST /pipelines/{name}/runs: the registered spec (or an inline one of that name) on a dataset version, under
    a deterministic name. Raises InputInvalid (400), NotFound (404: no such pipeline or dataset version)."""
    if request.spec is not None:
        _inline_spec(request.spec, pipeline, deps.core)
    elif deps.core.pipelines.get_spec(pipeline) is None:
        raise NotFound(
            f"pipeline {pipeline!r} is not registered: PUT /pipelines/{pipeline} or upload "
            f"pipelines/{pipeline}/pipeline.yaml, or send an inline spec"
        )
    dataset = _dataset(pipeline, request.dataset_version, deps)
    run_input = RunInput(
        run_id=run_id_for(pipeline, dataset.version, caller, idempotency_key, request_id),
        pipeline=pipeline,
        dataset=dataset,
        trigger=Trigger(type=TriggerType.API, source=caller[:2048]),
        spec=request.spec,
    )
    result = use_cases.start_run_execution(run_input, deps.core)
    return StartRunResponse(
        run_id=result.run_id,
        pipeline=result.pipeline,
        execution_arn=result.execution_arn,
        started=result.started,
        dataset_version=dataset.version,
    )


def _record(pipeline: str, run_id: str, deps: RunsApi) -> dict[str, Any]:
    """The run, addressed under its pipeline: a run of another pipeline is answered exactly as a missing one (404),
    so a caller granted one pipeline's routes learns nothing about another's runs."""
    record = deps.core.runs.get(run_id)
    if record is None or record.get("pipeline") != pipeline:
        raise NotFound(f"pipeline {pipeline!r} has no run {run_id!r}")
    return record


def get_run(pipeline: str, run_id: str, deps: RunsApi) -> RunView:
    """GET /pipelines/{name}/runs/{run_id}: the run record, with who started, cancelled and redrove it."""
    return RunView.model_validate(_record(pipeline, run_id, deps))


def get_run_trials(pipeline: str, run_id: str, deps: RunsApi) -> RunTrials:
    """GET /pipelines/{name}/runs/{run_id}/trials: the trials of the run's tuning job, oldest first, with its
    objective and ranges (mlcp.training.trials). Raises NotFound (404: no such run of this pipeline); a run with no
    tuning job yet has no trials and a ``reason``."""
    return trials.run_trials(_record(pipeline, run_id, deps), deps.core.sagemaker)


def _arn(record: dict[str, Any], deps: RunsApi) -> str:
    """The run's execution: recorded when it started, else where StartExecution puts an execution of that name."""
    if record.get("execution_arn"):
        return str(record["execution_arn"])
    machine = deps.core.settings.training_state_machine_arn
    return machine.replace(":stateMachine:", ":execution:", 1) + f":{record['run_id']}"


def _execution(record: dict[str, Any], deps: RunsApi) -> tuple[str, dict[str, Any]]:
    arn = _arn(record, deps)
    described = deps.control.describe(arn)
    if described is None:
        raise Conflict(f"run {record['run_id']!r} has no execution yet (status {record.get('status')})")
    return arn, dict(described)


def _actor(run_id: str, action: str, caller: str, deps: RunsApi) -> None:
    """Keep who did ``action`` (cancelled, redriven) and when on the run record (``<action>_by``/``<action>_at``),
    whatever status the run recorder has set meanwhile."""
    deps.core.runs.update(run_id, {f"{action}_by": caller[:2048], f"{action}_at": iso(deps.core.clock())}, {})


def cancel_run(pipeline: str, run_id: str, *, caller: str, deps: RunsApi) -> RunActionResponse:
    """POST /pipelines/{name}/runs/{run_id}/cancel: StopExecution; Step Functions stops the running SageMaker job
    with it. The record keeps the caller (``cancelled_by``). Raises NotFound (404), Conflict (409: not RUNNING)."""
    record = _record(pipeline, run_id, deps)
    arn, described = _execution(record, deps)
    status = str(described.get("status"))
    if status != "RUNNING":
        raise Conflict(f"run {run_id!r} is {status}; only RUNNING runs can be cancelled")
    reason = f"cancelled by {caller} through the API"
    deps.control.stop(arn, CANCEL_ERROR, reason)
    deps.core.runs.set_status(
        run_id,
        RunStatus.ABORTED,
        deps.core.clock(),
        {"failure": {"stage": "execution", "error": CANCEL_ERROR, "reason": reason}},
    )
    _actor(run_id, "cancelled", caller, deps)
    return RunActionResponse(run_id=run_id, execution_arn=arn, status=RunStatus.ABORTED)


def redrive_run(pipeline: str, run_id: str, *, caller: str, deps: RunsApi) -> RunActionResponse:
    """POST /pipelines/{name}/runs/{run_id}/redrive: RedriveExecution of a failed, timed-out or aborted run (AWS:
    within 14 days).

    Step Functions continues from the unsuccessful state. The clientToken makes a retried redrive request (same
    redrive count) a no-op instead of a second redrive. The record keeps the caller (``redriven_by``).
    """
    record = _record(pipeline, run_id, deps)
    arn, described = _execution(record, deps)
    status = str(described.get("status"))
    if status in ("RUNNING", "SUCCEEDED", "PENDING_REDRIVE"):
        raise Conflict(f"run {run_id!r} is {status}; only FAILED, TIMED_OUT or ABORTED runs can be redriven")
    if described.get("redriveStatus") == "NOT_REDRIVABLE":
        why = described.get("redriveStatusReason") or "Step Functions says it is not redrivable"
        raise Conflict(f"run {run_id!r} cannot be redriven: {why}")
    count = int(described.get("redriveCount") or 0) + 1
    deps.control.redrive(arn, naming.digest(arn, str(count), length=32))
    deps.core.runs.reopen(run_id, deps.core.clock(), count)
    _actor(run_id, "redriven", caller, deps)
    return RunActionResponse(run_id=run_id, execution_arn=arn, status=RunStatus.RUNNING, redrive_count=count)


def list_runs(
    *, pipeline: str | None, status: RunStatus | None, limit: int, next_token: str | None, deps: RunsApi
) -> RunPage:
    """GET /pipelines/{name}/runs (``pipeline``), newest first (the by_pipeline index), or GET /runs (every
    pipeline's runs); optionally by status."""
    scope = f"runs:{pipeline or '*'}:{status.value if status else '*'}"
    start = decode_token(next_token, scope, _RUN_INDEX_KEYS if pipeline else _RUN_KEYS)
    if start is not None and pipeline is not None and start["pipeline"]["S"] != pipeline:
        raise InputInvalid("query", [FieldError("next_token", "belongs to another pipeline's listing")])
    items, key = read_pages(
        lambda n, k: deps.run_index.page(pipeline, status.value if status else None, n, k), limit, start
    )
    summaries = [
        RunSummary.model_validate(
            {
                **item,
                "pipeline": item.get("pipeline") or "unknown",
                "trigger_type": (item.get("trigger") or {}).get("type"),
                "cost_usd": (item.get("cost") or {}).get("total"),
            }
        )
        for item in items
    ]
    return RunPage(items=summaries, next_token=encode_token(scope, key))


# --- pipelines -----------------------------------------------------------------------------------------------------
def put_pipeline(name: str, document: dict[str, Any], *, caller: str, deps: RunsApi) -> tuple[PipelineView, bool]:
    """PUT /pipelines/{name}: validate and register a spec; returns (the pipeline, whether it is new)."""
    spec = stages.checked_spec(document, deps.core, source=f"PUT /pipelines/{name}")
    if spec.name != name:
        raise InputInvalid("request body", [FieldError("name", f"is {spec.name!r} but the path names {name!r}")])
    existing = deps.catalog.item(name)
    stored = spec.model_dump(mode="json")
    version = "api-" + naming.digest(json.dumps(stored, sort_keys=True), length=12)
    deps.core.pipelines.put_spec(name, stored, version=version, source=f"api:{caller}", order="")
    deps.core.meter.add("SpecsRegistered", 1, "Count")
    return get_pipeline(name, deps), existing is None or "spec_json" not in existing


def _pipeline_view(item: dict[str, Any]) -> PipelineView:
    spec = json.loads(item["spec_json"]) if "spec_json" in item else None
    return PipelineView.model_validate({**item, "spec": spec})


def get_pipeline(name: str, deps: RunsApi) -> PipelineView:
    item = deps.catalog.item(name)
    if item is None:
        raise NotFound(f"pipeline {name!r} does not exist")
    return _pipeline_view(item)


def list_pipelines(*, limit: int, next_token: str | None, deps: RunsApi) -> PipelinePage:
    start = decode_token(next_token, "pipelines", _PIPELINE_KEYS)
    items, key = read_pages(deps.catalog.page, limit, start)
    summaries = [
        PipelineSummary(
            name=str(item["name"]),
            spec_version=item.get("spec_version"),
            spec_updated_at=item.get("spec_updated_at"),
            latest_dataset_version=(item.get("latest_dataset") or {}).get("version"),
        )
        for item in items
    ]
    return PipelinePage(items=summaries, next_token=encode_token("pipelines", key))

"""The use cases behind /runs and /pipelines (functions/api): data in, data out, errors as mlcp exceptions.

The HTTP layer (mlcp.rest) parses requests into models, calls one of these, and maps the exceptions to statuses
(InputInvalid 400, NotFound 404, Conflict 409, Throttled 429) in one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlcp.common import naming
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
from mlcp.training import stages, use_cases
from mlcp.training.api_models import (
    PipelinePage,
    PipelineSummary,
    PipelineView,
    RunActionResponse,
    RunPage,
    RunSummary,
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


def _inline_spec(document: dict[str, Any], pipeline: str | None, deps: use_cases.Deps) -> str:
    """Validate an inline spec and run its preflight (errors named ``spec.<field>``); return its pipeline name."""
    try:
        spec = stages.checked_spec(document, deps, source="inline spec")
    except SpecInvalid as exc:
        errors = [FieldError(f"spec.{e.field}".rstrip("."), e.message) for e in exc.errors]
        raise InputInvalid("request body", errors) from exc
    if pipeline is not None and pipeline != spec.name:
        raise InputInvalid(
            "request body", [FieldError("pipeline", f"is {pipeline!r} but the inline spec names {spec.name!r}")]
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
    request: StartRunRequest, *, caller: str, idempotency_key: str | None, request_id: str, deps: RunsApi
) -> StartRunResponse:
    """POST /runs: a registered pipeline or an inline spec on a dataset version, under a deterministic name."""
    if request.spec is not None:
        pipeline = _inline_spec(request.spec, request.pipeline, deps.core)
    elif request.pipeline is not None:
        pipeline = request.pipeline
        if deps.core.pipelines.get_spec(pipeline) is None:
            raise NotFound(
                f"pipeline {pipeline!r} is not registered: PUT /pipelines/{pipeline} or upload "
                f"pipelines/{pipeline}/pipeline.yaml, or send an inline spec"
            )
    else:
        raise InputInvalid("request body", [FieldError("pipeline", "give a registered pipeline or an inline spec")])
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


def _record(run_id: str, deps: RunsApi) -> dict[str, Any]:
    record = deps.core.runs.get(run_id)
    if record is None:
        raise NotFound(f"run {run_id!r} does not exist")
    return record


def get_run(run_id: str, deps: RunsApi) -> RunView:
    record = _record(run_id, deps)
    return RunView.model_validate({**record, "pipeline": record.get("pipeline") or "unknown"})


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


def cancel_run(run_id: str, *, caller: str, deps: RunsApi) -> RunActionResponse:
    """POST /runs/{id}/cancel: StopExecution; Step Functions stops the running SageMaker job with it."""
    record = _record(run_id, deps)
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
    return RunActionResponse(run_id=run_id, execution_arn=arn, status=RunStatus.ABORTED)


def redrive_run(run_id: str, deps: RunsApi) -> RunActionResponse:
    """POST /runs/{id}/redrive: RedriveExecution of a failed, timed-out or aborted run (AWS: within 14 days).

    Step Functions continues from the unsuccessful state. The clientToken makes a retried redrive request (same
    redrive count) a no-op instead of a second redrive.
    """
    record = _record(run_id, deps)
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
    return RunActionResponse(run_id=run_id, execution_arn=arn, status=RunStatus.RUNNING, redrive_count=count)


def list_runs(
    *, pipeline: str | None, status: RunStatus | None, limit: int, next_token: str | None, deps: RunsApi
) -> RunPage:
    """GET /runs: newest first for one pipeline (the by_pipeline index), else every run; optionally by status."""
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

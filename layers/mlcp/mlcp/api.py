"""The use cases behind the REST API (functions/api): data in, data out, errors as mlcp exceptions.

The HTTP layer (mlcp.rest) parses requests into models, calls one of these, and maps the exceptions to statuses
(InputInvalid 400, NotFound 404, Conflict 409, Throttled 429) in one place.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlcp import batch_service, naming, scaling_service, service
from mlcp.batch_service import BatchDeps
from mlcp.errors import (
    ArtifactMissing,
    BatchSpecInvalid,
    Conflict,
    FieldError,
    InputInvalid,
    NotFound,
    SpecInvalid,
)
from mlcp.models.api import (
    BatchStartResponse,
    BatchView,
    PipelinePage,
    PipelineSummary,
    PipelineView,
    RunActionResponse,
    RunPage,
    RunSummary,
    RunView,
    ScalingActionRequest,
    ScalingActionResponse,
    ScalingView,
    StartBatchRequest,
    StartRunRequest,
    StartRunResponse,
)
from mlcp.models.batch import BatchRunInput, parse_batch_spec
from mlcp.models.run import DatasetRef, RunInput, RunStatus, Trigger, TriggerType
from mlcp.models.scaling import ControllerState, parse_policy
from mlcp.models.spec import parse_spec
from mlcp.ports import DecisionHistory, ExecutionControl, Page, PipelineCatalog, RunIndex, ScalingPolicyIndex
from mlcp.scaling_service import ScalingDeps

# How many DynamoDB pages one list request reads at most (a status filter may leave pages short).
MAX_READS_PER_PAGE = 5
CANCEL_ERROR = "mlcp.Cancelled"
_RUN_KEYS = {"run_id"}
_RUN_INDEX_KEYS = {"run_id", "pipeline", "created_at"}
_PIPELINE_KEYS = {"name"}


@dataclass
class ScalingApi:
    """What /scaling needs: the controller's ports, the node group -> policy lookup and the decision history."""

    controller: ScalingDeps
    index: ScalingPolicyIndex
    history: DecisionHistory


@dataclass
class ApiDeps:
    core: service.Deps
    control: ExecutionControl
    run_index: RunIndex
    catalog: PipelineCatalog
    batch: BatchDeps | None = None  # /batches (the batch pipeline's ports)
    scaling: ScalingApi | None = None  # /scaling (the scaling controller's ports)


# --- runs --------------------------------------------------------------------------------------------------------
def run_id_for(pipeline: str, dataset_version: str, caller: str, idempotency_key: str | None, request_id: str) -> str:
    """The execution name of an API run: from the caller's Idempotency-Key (a retry maps to the same run), else
    from the API Gateway request id (every request is a new run)."""
    if idempotency_key:
        return naming.execution_name(pipeline, dataset_version, "api", caller, idempotency_key)
    return naming.execution_name(pipeline, dataset_version, "api-request", request_id)


def _inline_spec(document: dict[str, Any], pipeline: str | None) -> str:
    """Validate an inline spec (errors named ``spec.<field>``); return its pipeline name."""
    try:
        spec = parse_spec(document, source="inline spec")
    except SpecInvalid as exc:
        errors = [FieldError(f"spec.{e.field}".rstrip("."), e.message) for e in exc.errors]
        raise InputInvalid("request body", errors) from exc
    if pipeline is not None and pipeline != spec.name:
        raise InputInvalid(
            "request body", [FieldError("pipeline", f"is {pipeline!r} but the inline spec names {spec.name!r}")]
        )
    return spec.name


def _dataset(pipeline: str, version: str | None, deps: ApiDeps) -> DatasetRef:
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
    request: StartRunRequest, *, caller: str, idempotency_key: str | None, request_id: str, deps: ApiDeps
) -> StartRunResponse:
    """POST /runs: a registered pipeline or an inline spec on a dataset version, under a deterministic name."""
    if request.spec is not None:
        pipeline = _inline_spec(request.spec, request.pipeline)
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
    result = service.start_run(run_input, deps.core)
    return StartRunResponse(
        run_id=result.run_id,
        pipeline=result.pipeline,
        execution_arn=result.execution_arn,
        started=result.started,
        dataset_version=dataset.version,
    )


def _record(run_id: str, deps: ApiDeps) -> dict[str, Any]:
    record = deps.core.runs.get(run_id)
    if record is None:
        raise NotFound(f"run {run_id!r} does not exist")
    return record


def get_run(run_id: str, deps: ApiDeps) -> RunView:
    record = _record(run_id, deps)
    return RunView.model_validate({**record, "pipeline": record.get("pipeline") or "unknown"})


def _arn(record: dict[str, Any], deps: ApiDeps) -> str:
    """The run's execution: recorded when it started, else where StartExecution puts an execution of that name."""
    if record.get("execution_arn"):
        return str(record["execution_arn"])
    machine = deps.core.settings.training_state_machine_arn
    return machine.replace(":stateMachine:", ":execution:", 1) + f":{record['run_id']}"


def _execution(record: dict[str, Any], deps: ApiDeps) -> tuple[str, dict[str, Any]]:
    arn = _arn(record, deps)
    described = deps.control.describe(arn)
    if described is None:
        raise Conflict(f"run {record['run_id']!r} has no execution yet (status {record.get('status')})")
    return arn, dict(described)


def cancel_run(run_id: str, *, caller: str, deps: ApiDeps) -> RunActionResponse:
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


def redrive_run(run_id: str, deps: ApiDeps) -> RunActionResponse:
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


# --- pagination ----------------------------------------------------------------------------------------------------
def encode_token(scope: str, key: dict[str, Any] | None) -> str | None:
    """An opaque continuation token: the DynamoDB key to continue from and the listing it belongs to."""
    if key is None:
        return None
    raw = json.dumps({"scope": scope, "key": key}, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None, scope: str, keys: set[str]) -> dict[str, Any] | None:
    if not token:
        return None
    problem = FieldError("next_token", "is not a token this listing returned (pass next_token back unchanged)")
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise InputInvalid("query", [problem]) from exc
    key = data.get("key") if isinstance(data, dict) else None
    valid = (
        isinstance(data, dict)
        and data.get("scope") == scope
        and isinstance(key, dict)
        and set(key) == keys
        and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) and v["S"] for v in key.values())
    )
    if not valid:
        raise InputInvalid("query", [problem])
    assert isinstance(key, dict)
    return key


def _read_pages(read: Callable[[int, dict[str, Any] | None], Page], limit: int, start: dict[str, Any] | None) -> Page:
    items: list[dict[str, Any]] = []
    key = start
    for _ in range(MAX_READS_PER_PAGE):
        found, key = read(limit - len(items), key)
        items.extend(found)
        if key is None or len(items) >= limit:
            break
    return items, key


def list_runs(
    *, pipeline: str | None, status: RunStatus | None, limit: int, next_token: str | None, deps: ApiDeps
) -> RunPage:
    """GET /runs: newest first for one pipeline (the by_pipeline index), else every run; optionally by status."""
    scope = f"runs:{pipeline or '*'}:{status.value if status else '*'}"
    start = decode_token(next_token, scope, _RUN_INDEX_KEYS if pipeline else _RUN_KEYS)
    if start is not None and pipeline is not None and start["pipeline"]["S"] != pipeline:
        raise InputInvalid("query", [FieldError("next_token", "belongs to another pipeline's listing")])
    items, key = _read_pages(
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
def put_pipeline(name: str, document: dict[str, Any], *, caller: str, deps: ApiDeps) -> tuple[PipelineView, bool]:
    """PUT /pipelines/{name}: validate and register a spec; returns (the pipeline, whether it is new)."""
    spec = parse_spec(document, source=f"PUT /pipelines/{name}")
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


def get_pipeline(name: str, deps: ApiDeps) -> PipelineView:
    item = deps.catalog.item(name)
    if item is None:
        raise NotFound(f"pipeline {name!r} does not exist")
    return _pipeline_view(item)


def list_pipelines(*, limit: int, next_token: str | None, deps: ApiDeps) -> PipelinePage:
    start = decode_token(next_token, "pipelines", _PIPELINE_KEYS)
    items, key = _read_pages(deps.catalog.page, limit, start)
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


# --- batches -------------------------------------------------------------------------------------------------------
def _batch(deps: ApiDeps) -> BatchDeps:
    if deps.batch is None or not deps.batch.settings.batch_state_machine_arn:
        raise RuntimeError("the API function has no batch pipeline settings (PROFILES_TABLE, BATCH_STATE_MACHINE_ARN)")
    return deps.batch


def _execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def _batch_prefix(batch: BatchDeps, profile: str) -> str:
    return f"s3://{batch.settings.artifact_bucket}/batches/{profile}/"


def _read_json(batch: BatchDeps, uri: str) -> dict[str, Any] | None:
    try:
        document = json.loads(batch.objects.read(uri))
    except ArtifactMissing:
        return None
    return document if isinstance(document, dict) else None


def _retry_input(request: StartBatchRequest, batch: BatchDeps) -> BatchRunInput:
    extra = [
        FieldError(name, "is not allowed with retry_of (a retry keeps the original run's items and plan)")
        for name in ("manifest_uri", "item_count", "spec")
        if getattr(request, name) is not None
    ]
    if extra:
        raise InputInvalid("request body", extra)
    assert request.retry_of is not None
    stats = _read_json(batch, f"{_batch_prefix(batch, request.profile)}runs/{request.retry_of}/stats.json")
    if stats is None:
        raise NotFound(
            f"batch run {request.retry_of!r} of profile {request.profile!r} has no stats.json "
            "(it does not exist, or has not finished)"
        )
    shards = stats.get("shards") or {}
    total = math.ceil(int(shards.get("item_count", 0)) / max(1, int(shards.get("items_per_child", 1))))
    if request.indices is not None:
        wrong = [
            FieldError(f"indices.{n}", f"shard {i} is out of range 0..{total - 1}")
            for n, i in enumerate(request.indices)
            if i >= total
        ]
        if wrong:
            raise InputInvalid("request body", wrong)
    elif not stats.get("failed_indices"):
        raise Conflict(f"batch run {request.retry_of!r} has no failed shards to retry")
    return batch_service.retry_input(
        {"profile": request.profile, "retry_of": request.retry_of, "indices": request.indices}
    )


def _new_batch_input(
    request: StartBatchRequest, *, caller: str, idempotency_key: str | None, request_id: str, batch: BatchDeps
) -> tuple[BatchRunInput, bytes | None]:
    """A new run's input, and the inline spec to register (validated, not yet written)."""
    if request.indices is not None:
        raise InputInvalid("request body", [FieldError("indices", "is only allowed with retry_of")])
    if request.manifest_uri is not None and request.item_count is not None:
        raise InputInvalid("request body", [FieldError("item_count", "give manifest_uri or item_count, not both")])
    spec_body = None
    if request.spec is not None:
        try:
            spec = parse_batch_spec(request.spec, source="inline batch spec")
        except BatchSpecInvalid as exc:
            errors = [FieldError(f"spec.{e.field}".rstrip("."), e.message) for e in exc.errors]
            raise InputInvalid("request body", errors) from exc
        if spec.name != request.profile:
            raise InputInvalid(
                "request body", [FieldError("spec.name", f"is {spec.name!r} but profile is {request.profile!r}")]
            )
        spec_body = json.dumps(request.spec, sort_keys=True, indent=1).encode()
    else:
        try:
            batch_service.load_spec(batch, request.profile)
        except ArtifactMissing as exc:
            raise NotFound(f"{exc.reason}, or send an inline spec") from exc
    if request.manifest_uri is not None:
        bucket = f"s3://{batch.settings.artifact_bucket}/"
        if not request.manifest_uri.startswith(bucket):
            raise InputInvalid(
                "request body", [FieldError("manifest_uri", f"must be in the artifact bucket ({bucket})")]
            )
        try:
            batch.objects.size(request.manifest_uri)
        except ArtifactMissing as exc:
            raise NotFound(f"manifest {request.manifest_uri} does not exist") from exc
    if idempotency_key:
        run_id = naming.execution_name(request.profile, "api", caller, idempotency_key)
    else:
        run_id = naming.execution_name(request.profile, "api-request", request_id)
    run_input = BatchRunInput(
        run_id=run_id,
        profile=request.profile,
        manifest_uri=request.manifest_uri,
        item_count=request.item_count,
        trigger=Trigger(type=TriggerType.API, source=caller[:2048]),
    )
    return run_input, spec_body


def start_batch(
    request: StartBatchRequest, *, caller: str, idempotency_key: str | None, request_id: str, deps: ApiDeps
) -> BatchStartResponse:
    """POST /batches: batch_service.start_batch_run under a deterministic name (Idempotency-Key, else the request
    id; a shard retry is named after the run and the indices). A retried request answers started=false; the same
    key with another request is a conflict."""
    batch = _batch(deps)
    spec_body = None
    if request.retry_of is not None:
        run_input = _retry_input(request, batch)
    else:
        run_input, spec_body = _new_batch_input(
            request, caller=caller, idempotency_key=idempotency_key, request_id=request_id, batch=batch
        )
    machine = batch.settings.batch_state_machine_arn or ""
    existing = deps.control.describe(_execution_arn(machine, run_input.run_id))
    if existing is not None:
        if json.loads(str(existing.get("input") or "null")) != run_input.model_dump(mode="json"):
            raise Conflict(
                f"batch run {run_input.run_id!r} exists with another request: use a new Idempotency-Key for a new run"
            )
        return BatchStartResponse(
            run_id=run_input.run_id,
            profile=run_input.profile,
            execution_arn=str(existing["executionArn"]),
            started=False,
        )
    if spec_body is not None:
        batch.objects.write(f"{_batch_prefix(batch, request.profile)}batch.yaml", spec_body)
    result = batch_service.start_batch_run(run_input, batch)
    return BatchStartResponse.model_validate(result.model_dump(mode="json"))


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def get_batch(run_id: str, deps: ApiDeps) -> BatchView:
    """GET /batches/{id}: DescribeExecution, plus the run's plan.json and stats.json when written."""
    batch = _batch(deps)
    arn = _execution_arn(batch.settings.batch_state_machine_arn or "", run_id)
    described = deps.control.describe(arn)
    if described is None:
        raise NotFound(f"batch run {run_id!r} does not exist")
    run_input = json.loads(str(described.get("input") or "{}"))
    profile = run_input.get("profile") if isinstance(run_input, dict) else None
    planned = stats = None
    if isinstance(profile, str) and profile:
        run_prefix = f"{_batch_prefix(batch, profile)}runs/{run_id}/"
        planned = _read_json(batch, f"{run_prefix}plan.json")
        stats = _read_json(batch, f"{run_prefix}stats.json")
    return BatchView(
        run_id=run_id,
        profile=profile,
        status=str(described.get("status")),
        execution_arn=arn,
        started_at=_iso(described.get("startDate")),
        stopped_at=_iso(described.get("stopDate")),
        input=run_input if isinstance(run_input, dict) else None,
        plan=(planned or {}).get("plan"),
        shards=(planned or {}).get("shards"),
        stats=stats,
        error=described.get("error"),
        cause=described.get("cause"),
    )


# --- scaling -------------------------------------------------------------------------------------------------------
def _scaling(deps: ApiDeps) -> ScalingApi:
    if deps.scaling is None:
        raise RuntimeError("the API function has no scaling controller settings (SCALING_*_TABLE)")
    return deps.scaling


def _policy_key(cluster: str, nodegroup: str, scaling: ScalingApi) -> str:
    key = scaling.index.policy_for_nodegroup(cluster, nodegroup)
    if key is None:
        raise NotFound(
            f"no scaling policy covers node group {nodegroup!r} of cluster {cluster!r}: upload "
            f"scaling/{cluster}/<name>/policy.yaml listing it"
        )
    return key


def get_scaling(cluster: str, nodegroup: str, *, limit: int, deps: ApiDeps) -> ScalingView:
    """GET /scaling/{cluster}/{nodegroup}: the policy covering it, the node group now, the controller state and
    the policy's last decisions (newest first)."""
    scaling = _scaling(deps)
    controller = scaling.controller
    key = _policy_key(cluster, nodegroup, scaling)
    policy = controller.policies.get_policy(key) or {}
    described = controller.nodegroups.describe_nodegroup(cluster, nodegroup)
    config = None
    if described is not None:
        config = {"status": described.get("status"), **dict(described.get("scalingConfig") or {})}
    stored = controller.state.get_state(key)
    state = ControllerState.model_validate(stored) if stored else ControllerState(policy=key)
    return ScalingView(
        cluster=cluster,
        nodegroup=nodegroup,
        policy_key=key,
        policy=policy,
        nodegroup_config=config,
        state=state.model_dump(mode="json"),
        decisions=scaling.history.recent(key, limit),
    )


def _action_errors(request: ScalingActionRequest) -> list[FieldError]:
    errors = []
    if request.desired is None and request.min is None and request.max is None:
        errors.append(FieldError("desired", "give at least one of desired, min, max"))
    if request.min is not None and request.max is not None and request.min > request.max:
        errors.append(FieldError("min", f"must be <= max ({request.max})"))
    if request.desired is not None:
        if request.min is not None and request.desired < request.min:
            errors.append(FieldError("desired", f"must be >= min ({request.min})"))
        if request.max is not None and request.desired > request.max:
            errors.append(FieldError("desired", f"must be <= max ({request.max})"))
    return errors


def scaling_action(
    cluster: str,
    nodegroup: str,
    request: ScalingActionRequest,
    *,
    caller: str,
    idempotency_key: str | None,
    request_id: str,
    deps: ApiDeps,
) -> ScalingActionResponse:
    """POST /scaling/{cluster}/{nodegroup}/actions: start nodegroup_scaling with a manual trigger, so the change
    goes through the controller (decide: clamp to the policy, take the lease; the decisions table; the update
    loop; record). Refused up front (409) while an update is in flight; decide re-checks under the lease."""
    errors = _action_errors(request)
    if errors:
        raise InputInvalid("request body", errors)
    scaling = _scaling(deps)
    controller = scaling.controller
    machine = controller.settings.scaling_state_machine_arn
    if not machine:
        raise RuntimeError("the API function has no SCALING_STATE_MACHINE_ARN")
    key = _policy_key(cluster, nodegroup, scaling)
    stored = controller.policies.get_policy(key)
    if stored is None:
        raise NotFound(f"scaling policy {key!r} is not registered")
    policy = parse_policy(stored, source=f"registered scaling policy {key}")
    described = controller.nodegroups.describe_nodegroup(cluster, nodegroup)
    if described is None:
        raise NotFound(f"node group {nodegroup!r} does not exist in cluster {cluster!r}")
    if described.get("status", "ACTIVE") != "ACTIVE":
        raise Conflict(f"node group {nodegroup!r} is {described.get('status')}: an update is running; retry later")
    now = deps.core.clock()
    state_item = controller.state.get_state(key)
    state = ControllerState.model_validate(state_item) if state_item else ControllerState(policy=key)
    if state.lease is not None and state.lease.expires_at > now:
        raise Conflict(
            f"an update of {key} is in flight ({state.lease.holder}, lease until {state.lease.expires_at:%H:%M:%S}Z)"
        )
    identity = ("key", caller, idempotency_key) if idempotency_key else ("request", request_id)
    decision_id = naming.execution_name(f"{policy.name}-manual", nodegroup, cluster, *identity)
    fields = request.model_dump(include={"desired", "min", "max"}, exclude_none=True)
    event = {
        "source": scaling_service.MANUAL_SOURCE,
        "kind": "manual",
        "policy": key,
        "nodegroup": nodegroup,
        **fields,
        "requested_by": caller[:2048],
        "note": request.reason or "",
        "request_id": decision_id,
        "at": now.isoformat(),
    }
    arn = _execution_arn(machine, decision_id)
    existing = deps.control.describe(arn)
    if existing is not None:
        sent = json.loads(str(existing.get("input") or "{}"))
        if not isinstance(sent, dict) or {k: v for k, v in sent.items() if k != "at"} != {
            k: v for k, v in event.items() if k != "at"
        }:
            raise Conflict(f"decision {decision_id!r} exists with another request: use a new Idempotency-Key")
        return ScalingActionResponse(decision_id=decision_id, policy_key=key, execution_arn=arn, started=False)
    arn, started = deps.core.executions.start(machine, decision_id, event)
    deps.core.meter.add("ScalingManualActions", 1, "Count")
    return ScalingActionResponse(decision_id=decision_id, policy_key=key, execution_arn=arn, started=started)

"""The use cases behind /batches (functions/api): data in, data out, errors as mlcp exceptions."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from mlcp.batch import use_cases
from mlcp.batch.api_models import BatchStartResponse, BatchView, StartBatchRequest
from mlcp.batch.payloads import BatchRunInput
from mlcp.batch.scope import check_scope
from mlcp.batch.spec import BatchSpec, parse_batch_spec
from mlcp.batch.use_cases import BatchDeps
from mlcp.common import naming
from mlcp.common.causes import public_cause
from mlcp.common.payloads import Trigger, TriggerType
from mlcp.common.ports import ExecutionControl
from mlcp.errors import (
    ArtifactMissing,
    BatchSpecInvalid,
    Conflict,
    FieldError,
    InputInvalid,
    NotFound,
)


@dataclass
class BatchApi:
    """What /batches needs: the batch pipeline's ports and execution control."""

    pipeline: BatchDeps
    control: ExecutionControl


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
    return use_cases.retry_input({"profile": request.profile, "retry_of": request.retry_of, "indices": request.indices})


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
            check_scope(spec, batch.settings, source="inline batch spec")
        except BatchSpecInvalid as exc:
            errors = [FieldError(f"spec.{e.field}".rstrip("."), e.message) for e in exc.errors]
            raise InputInvalid("request body", errors) from exc
        if spec.name != request.profile:
            raise InputInvalid(
                "request body", [FieldError("spec.name", f"is {spec.name!r} but profile is {request.profile!r}")]
            )
        spec_body = None if _same_as_registered(spec, batch) else json.dumps(request.spec, sort_keys=True, indent=1)
    else:
        try:
            use_cases.load_spec(batch, request.profile)
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
    return run_input, spec_body.encode() if spec_body is not None else None


def _same_as_registered(spec: BatchSpec, batch: BatchDeps) -> bool:
    """True when the profile's registered spec equals ``spec``; False when it has none.

    An inline spec registers a new profile; it never replaces another spec (Conflict): changing a profile is an
    upload of batches/<profile>/batch.yaml, which the operator's bucket policy controls.
    """
    try:
        registered = use_cases.load_spec(batch, spec.name)
    except ArtifactMissing:
        return False
    except BatchSpecInvalid:
        registered = None
    if registered is None or registered.model_dump(mode="json") != spec.model_dump(mode="json"):
        raise Conflict(
            f"job profile {spec.name!r} already has a different spec ({_batch_prefix(batch, spec.name)}batch.yaml); "
            "an inline spec does not replace it: upload the new spec there, or omit spec to use the registered one"
        )
    return True


def start_batch(
    request: StartBatchRequest, *, caller: str, idempotency_key: str | None, request_id: str, api: BatchApi
) -> BatchStartResponse:
    """POST /batches/{profile}: use_cases.start_batch_run under a deterministic name (Idempotency-Key, else the request
    id; a shard retry is named after the run and the indices). A retried request answers started=false; the same
    key with another request is a conflict."""
    batch = api.pipeline
    spec_body = None
    if request.retry_of is not None:
        run_input = _retry_input(request, batch)
    else:
        run_input, spec_body = _new_batch_input(
            request, caller=caller, idempotency_key=idempotency_key, request_id=request_id, batch=batch
        )
    machine = batch.settings.batch_state_machine_arn or ""
    existing = api.control.describe(naming.execution_arn(machine, run_input.run_id))
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
    result = use_cases.start_batch_run(run_input, batch)
    return BatchStartResponse.model_validate(result.model_dump(mode="json"))


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def get_batch(profile: str, run_id: str, api: BatchApi) -> BatchView:
    """GET /batches/{profile}/{batch_id}: DescribeExecution, plus the run's plan.json and stats.json when written.

    The run is addressed under its profile (the execution input's ``profile``): a run of another profile is
    answered exactly as a missing one (NotFound, 404), so a grant on one profile reveals nothing of another's."""
    batch = api.pipeline
    arn = naming.execution_arn(batch.settings.batch_state_machine_arn or "", run_id)
    described = api.control.describe(arn)
    run_input = json.loads(str((described or {}).get("input") or "{}"))
    if described is None or not isinstance(run_input, dict) or run_input.get("profile") != profile:
        raise NotFound(f"job profile {profile!r} has no batch run {run_id!r}")
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
        input=run_input,
        plan=(planned or {}).get("plan"),
        shards=(planned or {}).get("shards"),
        stats=stats,
        error=described.get("error"),
        cause=public_cause(described.get("cause")),
    )

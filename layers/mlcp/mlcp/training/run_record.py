"""The run record and the words mlcp says about runs (notifications, failure reasons). Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mlcp.common.notifications import iso, subject
from mlcp.common.payloads import Notification, TriggerType
from mlcp.training.cost import cost_line
from mlcp.training.payloads import BestModel, GateResult, RunInput, RunRef, RunStatus, StageName, StageStatus

_ERROR_STAGE = {
    "SpecInvalid": StageName.VALIDATE,
    "ManifestInvalid": StageName.VALIDATE,
    "PipelineNotFound": StageName.VALIDATE,
    "DatasetNotFound": StageName.VALIDATE,
    "TuningFailed": StageName.TUNE,
    "CompressionFailed": StageName.COMPRESS,
    "GateFailed": StageName.GATE,
}
_STAGE_ORDER = list(StageName)
# The run's validated spec on its record (JSON): every later stage and warm start's parent checks read it.
SPEC_ATTRIBUTE = "run_spec_json"


def new_run_item(run_input: RunInput, at: datetime) -> dict[str, Any]:
    """The PENDING record of a new run; an API run keeps the caller's IAM identity (requestContext.identity
    userArn) as ``started_by``, other triggers say who started them in ``trigger``."""
    trigger = run_input.trigger
    return {
        "run_id": run_input.run_id,
        "pipeline": run_input.pipeline,
        "status": RunStatus.PENDING.value,
        "trigger": trigger.model_dump(mode="json"),
        "started_by": trigger.source if trigger.type == TriggerType.API else None,
        "dataset_version": run_input.dataset.version if run_input.dataset else None,
        "dataset_object": _dataset_object(run_input),
        "created_at": iso(at),
        "updated_at": iso(at),
        "stages": {},
    }


def _dataset_object(run_input: RunInput) -> dict[str, Any] | None:
    """The manifest object the run reads: bucket, key, version id and ETag (None: the current version)."""
    dataset = run_input.dataset
    if dataset is None or not dataset.manifest_uri.startswith("s3://"):
        return None
    bucket, _, key = dataset.manifest_uri.removeprefix("s3://").partition("/")
    return {"bucket": bucket, "key": key, "version_id": dataset.manifest_version_id, "etag": dataset.manifest_etag}


def stage(
    status: StageStatus,
    at: datetime,
    *,
    started: datetime | None = None,
    job_name: str | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    """A partial stage record: ``ended_at`` is set for terminal statuses, ``started_at`` when given."""
    record: dict[str, Any] = {"status": status.value}
    if started is not None:
        record["started_at"] = iso(started)
    if status in (StageStatus.SUCCEEDED, StageStatus.FAILED, StageStatus.SKIPPED):
        record["ended_at"] = iso(at)
    if job_name:
        record["job_name"] = job_name
    if detail:
        record["detail"] = detail
    return record


def ended_stages(item: Mapping[str, Any], updated: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """Durations (s) of the stages that this update ended, read from the record after the update."""
    out: dict[str, float] = {}
    stages = item.get("stages") or {}
    for name, change in updated.items():
        if change.get("status") not in (StageStatus.SUCCEEDED.value, StageStatus.FAILED.value):
            continue
        record = stages.get(str(name)) or {}
        start, end = record.get("started_at"), record.get("ended_at")
        if start and end:
            out[str(name)] = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    return out


def failed_stage(record: Mapping[str, Any], error: str) -> str:
    """The stage a failure belongs to: the one still RUNNING in the record, else the error's stage."""
    stages = record.get("stages") or {}
    running = [s for s in _STAGE_ORDER if (stages.get(s.value) or {}).get("status") == StageStatus.RUNNING.value]
    if running:
        return running[-1].value
    return _ERROR_STAGE.get(error, StageName.VALIDATE).value


def failure_reason(error: Mapping[str, Any]) -> tuple[str, str]:
    """(error name, readable reason) from a Step Functions Catch result ``{"Error": ..., "Cause": ...}``.

    Lambda errors carry a JSON Cause with errorMessage; SageMaker .sync failures carry the Describe* response
    with FailureReason; anything else is passed through, shortened.
    """
    name = str(error.get("Error") or "UnknownError")
    cause = error.get("Cause") or ""
    reason = str(cause)
    try:
        parsed = json.loads(cause) if isinstance(cause, str) and cause.startswith("{") else cause
    except ValueError:
        parsed = None
    if isinstance(parsed, Mapping):
        if "errorMessage" in parsed:
            reason = str(parsed["errorMessage"])
            name = str(parsed.get("errorType") or name)
        elif "FailureReason" in parsed:
            job = next(
                (str(parsed[k]) for k in parsed if k.endswith("JobName") and isinstance(parsed[k], str)),
                "job",
            )
            reason = f"{job}: {parsed['FailureReason']}"
    if not reason:
        reason = name
    return name, reason[:2000]


def success_notification(
    run: RunRef, best: BestModel, result: GateResult, package_arn: str, *, cost: Mapping[str, Any] | None = None
) -> Notification:
    hyper = ", ".join(f"{k}={v}" for k, v in sorted(best.hyperparameters.items()))
    after = f"{result.metric_after:.6g}" if result.metric_after is not None else "not measured (Neo)"
    lines = [
        f"Run {run.run_id} of pipeline {run.pipeline} succeeded (dataset {run.dataset_version}).",
        f"Best trial: {best.training_job_name} ({hyper})",
        f"Objective {best.objective_metric}: {best.objective_value:.6g} -> after compression {after}",
        f"Size: {result.size_before} -> {result.size_after} bytes ({result.size_reduction:.1%} smaller)",
        f"Model package: {package_arn}",
    ]
    if cost:
        lines.append(cost_line(cost))
    return Notification(subject=subject(f"run {run.run_id} SUCCEEDED"), message="\n".join(lines))


def failure_notification(
    run_id: str, pipeline: str, stage_name: str, error: str, reason: str, *, cost: Mapping[str, Any] | None = None
) -> Notification:
    message = f"Run {run_id} of pipeline {pipeline} FAILED at stage {stage_name} ({error}).\n\nReason: {reason}"
    if cost:
        message += "\n" + cost_line(cost)
    return Notification(subject=subject(f"run {run_id} FAILED at {stage_name}"), message=message)


def execution_notification(
    what: str,
    owner: str,
    status: str,
    *,
    stage_name: str,
    error: str,
    reason: str,
    cost: Mapping[str, Any] | None = None,
) -> Notification:
    """The run recorder's notice of an execution that ended FAILED, TIMED_OUT or ABORTED with no Catch path
    notifying it (``what``: "run <id>" or "execution <name>"; ``owner``: the pipeline or the state machine)."""
    message = f"{what.capitalize()} of {owner} {status} at stage {stage_name} ({error}).\n\nReason: {reason}"
    if cost:
        message += "\n" + cost_line(cost)
    return Notification(subject=subject(f"{what} {status} at {stage_name}"), message=message)

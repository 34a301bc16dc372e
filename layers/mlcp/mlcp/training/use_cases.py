"""The training pipeline's use cases: one function per training handler (same name), data in, data out.

Each function takes a parsed input and :class:`Deps` (the ports). The handlers in functions/ only parse, call
one of these, and return the result as JSON. Those that need the spec models (registration and the stages) are in
mlcp.training.stages; this module does not import them (a shorter cold start for the others).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from mlcp.common.payloads import Notification
from mlcp.common.ports import Executions, Meter, Notifier, ObjectStore, RequestChecker
from mlcp.common.pricing import sagemaker_prices
from mlcp.common.s3_events import KeyAction, parse_s3_event, refuse, resolve_key
from mlcp.errors import EventIgnored
from mlcp.training import cost, run_record, triggers
from mlcp.training.events import ExecutionStatusChange, event_kind
from mlcp.training.payloads import (
    FailureInput,
    RunInput,
    RunStatus,
    StageName,
    StageStatus,
    SuccessInput,
)
from mlcp.training.ports import NoticeLedger, PipelineStore, RunIndex, RunStore, SageMaker
from mlcp.training.settings import TrainingSettings


@dataclass
class Deps:
    settings: TrainingSettings
    objects: ObjectStore
    sagemaker: SageMaker
    executions: Executions
    notifier: Notifier
    runs: RunStore
    pipelines: PipelineStore
    meter: Meter
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    # AWS's request rules (botocore's service models, mlcp.aws.service_models); None: the limits table only
    requests: RequestChecker | None = None
    notices: NoticeLedger | None = None  # the run recorder's exactly-once ledger of failure notices
    run_index: RunIndex | None = None  # the pipeline's runs, newest first (warm start's last_successful parents)


class UseCaseResult(BaseModel):
    model_config = ConfigDict(frozen=True)


def ignored(deps: Deps, what: str) -> str:
    """Count a trigger this function does not handle (another event type or key); returns ``what``."""
    deps.meter.add("TriggersIgnored", 1, "Count")
    return what


class StartResult(UseCaseResult):
    run_id: str
    pipeline: str
    execution_arn: str
    started: bool
    status: str = "started"  # started | duplicate | refused (not a valid manifest key) | ignored (not its event)
    reason: str = ""


def start_run_execution(run_input: RunInput, deps: Deps) -> StartResult:
    """Start a training run under its deterministic name; a duplicate trigger finds the run already started.

    The API (POST /runs) reuses this with a name derived from its idempotency key.
    """
    now = deps.clock()
    created = deps.runs.create(run_input.run_id, run_record.new_run_item(run_input, now))
    try:
        arn, accepted = deps.executions.start(
            deps.settings.training_state_machine_arn,
            run_input.run_id,
            run_input.model_dump(mode="json", exclude_none=True),
        )
    except Exception:
        # Throttled, refused, or the Lambda's retry will try again: the record this call created must not stay
        # PENDING forever (the retry, or the execution's first state, creates it again).
        if created:
            deps.runs.discard_unstarted(run_input.run_id)
        raise
    # StartExecution returns the running execution for a same-name, same-input retry, so "accepted" alone does not
    # tell a new run from a duplicate trigger; the run record does.
    started = deps.runs.mark_started(run_input.run_id, arn) and accepted
    deps.meter.add("RunsStarted" if started else "DuplicateTriggers", 1, "Count")
    return StartResult(
        run_id=run_input.run_id,
        pipeline=run_input.pipeline,
        execution_arn=arn,
        started=started,
        status="started" if started else "duplicate",
    )


def _not_started(pipeline: str, status: str, reason: str) -> StartResult:
    return StartResult(run_id="", pipeline=pipeline, execution_arn="", started=False, status=status, reason=reason)


def start_run(event: Mapping[str, Any], deps: Deps) -> StartResult:
    """A dataset manifest upload (S3 via EventBridge) or a schedule firing (EventBridge Scheduler).

    The run reads the manifest at the event's version; "the latest dataset" (for schedules and the API) moves to
    this upload only if its event is later (:func:`mlcp.training.triggers.dataset_order`).
    """
    if event_kind(event) == "schedule":
        schedule = triggers.parse_schedule_input(event)
        run_input = triggers.run_input_for_schedule(schedule, deps.pipelines.latest_dataset(schedule.pipeline))
        return start_run_execution(run_input, deps)
    try:
        obj = parse_s3_event(event)
    except EventIgnored as exc:
        return _not_started("", "ignored", ignored(deps, exc.reason))
    decision = triggers.classify_manifest_key(obj.key)
    if decision.action == KeyAction.ACCEPT and deps.pipelines.get_spec(decision.parts["name"]) is None:
        decision = triggers.unregistered_pipeline(decision)  # refused before StartExecution, not a failed run
    if decision.action == KeyAction.IGNORE:
        return _not_started("", "ignored", ignored(deps, decision.reason))
    if decision.action == KeyAction.REFUSE:
        refuse(
            obj,
            decision,
            trigger="dataset manifest",
            refusals=deps.pipelines,
            notifier=deps.notifier,
            meter=deps.meter,
            at=deps.clock(),
        )
        return _not_started(decision.name, "refused", decision.reason)
    run_input = triggers.run_input_for_manifest(resolve_key(obj, deps.objects))
    if run_input.dataset is not None:
        deps.pipelines.set_latest_dataset(run_input.pipeline, run_input.dataset, triggers.dataset_order(obj))
    return start_run_execution(run_input, deps)


def record_success(inp: SuccessInput, deps: Deps) -> Notification:
    arn = str(inp.registered.get("model_package_arn", ""))
    update_stages(
        deps,
        inp.run.run_id,
        {"model_package_arn": arn},
        {StageName.REGISTER: run_record.stage(StageStatus.SUCCEEDED, deps.clock())},
    )
    spent = record_cost(deps, inp.run.run_id)
    return run_record.success_notification(inp.run, inp.best, inp.gate, arn, cost=spent)


def record_failure(inp: FailureInput, deps: Deps) -> Notification:
    """Catch target: mark the run FAILED with a readable reason (and the stage), and say so."""
    now = deps.clock()
    error, reason = run_record.failure_reason(inp.error)
    record = deps.runs.get(inp.execution_name) or {}
    stage = run_record.failed_stage(record, error)
    pipeline = str(record.get("pipeline") or inp.execution_input.get("pipeline") or "unknown")
    failure = {"stage": stage, "error": error, "reason": reason}
    changed = deps.runs.set_status(
        inp.execution_name, RunStatus.FAILED, now, {"failure": failure, "pipeline": pipeline}
    )
    spent = record.get("cost")
    if changed:
        deps.runs.update(
            inp.execution_name, {}, {stage: run_record.stage(StageStatus.FAILED, now, detail=reason[:1000])}
        )
        deps.meter.add("RunsFailed", 1, "Count")
        spent = record_cost(deps, inp.execution_name)  # what the failed run's jobs ran for costs too
    return run_record.failure_notification(inp.execution_name, pipeline, stage, error, reason, cost=spent)


def record_cost(deps: Deps, run_id: str) -> dict[str, Any] | None:
    """Put the run's ``cost`` on its record (mlcp.training.cost: every job it ran x the shipped price table, in the
    stack's Region) and return it; None when the run ran no job. Called where a run ends: record_success,
    record_failure (the Catch path), and the run recorder for an execution that ended with no Catch path
    (aborted, timed out, States.Runtime)."""
    record = deps.runs.get(run_id) or {}
    spent = cost.collect(record, deps.sagemaker, sagemaker_prices(), deps.settings.stack_region)
    if spent is not None:
        deps.runs.update(run_id, {"cost": spent}, {})
        deps.meter.add("RunCost", float(spent["total"]), "None")
    return spent


# --- the run recorder (Step Functions execution status changes) ---------------------------------------------
class RecordResult(UseCaseResult):
    run_id: str
    status: str
    changed: bool
    notified: bool = False


_FAILED = (RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.ABORTED)


def record_execution(event: ExecutionStatusChange, deps: Deps) -> RecordResult:
    """Keep the run record of a training execution current, and notify every failed, timed-out or aborted
    execution of any state machine of the stack exactly once (the notices ledger: a Catch path that already
    notified has claimed it). The backstop for what no Catch can catch: States.DataLimitExceeded, States.Runtime,
    execution timeouts, StopExecution, and a Catch path that failed itself."""
    detail = event.detail
    if detail.stateMachineArn not in deps.settings.stack_state_machine_arns():
        # The rule names the stack's state machines; a direct invocation with another one's event is not ours.
        deps.meter.add("TriggersIgnored", 1, "Count")
        return RecordResult(run_id=detail.name, status="ignored", changed=False)
    if detail.status == "PENDING_REDRIVE":
        return RecordResult(run_id=detail.name, status=detail.status, changed=False)
    status = RunStatus(detail.status)
    at = _epoch_ms(detail.stopDate or detail.startDate) or event.time
    training = detail.stateMachineArn == deps.settings.training_state_machine_arn
    if status == RunStatus.RUNNING and detail.redriveCount > 0 and deps.notices is not None:
        deps.notices.release(detail.executionArn)  # a redriven execution may fail, and be notified, again
    changed = _record_run(event, status, at, deps) if training else False
    notified = status in _FAILED and _notify_failure(event, status, at, training, deps)
    return RecordResult(run_id=detail.name, status=status.value, changed=changed, notified=notified)


def _record_run(event: ExecutionStatusChange, status: RunStatus, at: datetime, deps: Deps) -> bool:
    detail = event.detail
    fields: dict[str, Any] = {"execution_arn": detail.executionArn}
    if detail.input:
        fields["pipeline"] = _input_pipeline(detail.input)
    if status == RunStatus.RUNNING and detail.redriveCount > 0:
        # A redrive (the API's, the console's, the CLI's): the run is RUNNING again whatever it ended as.
        return deps.runs.reopen(detail.name, at, detail.redriveCount)
    if status in _FAILED:
        error, reason = run_record.failure_reason({"Error": detail.error or status.value, "Cause": detail.cause or ""})
        fields["failure"] = {"stage": "execution", "error": error, "reason": reason or status.value.lower()}
    changed = deps.runs.set_status(detail.name, status, at, fields, redrive_count=detail.redriveCount)
    if changed and status.terminal:
        metric = {RunStatus.SUCCEEDED: "RunsSucceeded"}.get(status, "RunsFailed")
        deps.meter.add(metric, 1, "Count")
    if status.terminal and "cost" not in (deps.runs.get(detail.name) or {"cost": None}):
        record_cost(deps, detail.name)  # no Catch path ran (aborted, timed out): the recorder counts the cost
    return changed


def _notify_failure(event: ExecutionStatusChange, status: RunStatus, at: datetime, training: bool, deps: Deps) -> bool:
    detail = event.detail
    if deps.notices is None or not deps.notices.claim(detail.executionArn, "recorder", at):
        return False
    error, reason = run_record.failure_reason({"Error": detail.error or status.value, "Cause": detail.cause or ""})
    state_machine = detail.stateMachineArn.rsplit(":", 1)[-1]
    if training:
        record = deps.runs.get(detail.name) or {}
        failure = record.get("failure") or {}
        note = run_record.execution_notification(
            f"run {detail.name}",
            str(record.get("pipeline") or _input_pipeline(detail.input or "")),
            status.value,
            stage_name=str(failure.get("stage") or "execution"),
            error=str(failure.get("error") or error),
            reason=str(failure.get("reason") or reason),
            cost=record.get("cost"),
        )
    else:
        note = run_record.execution_notification(
            f"execution {detail.name}", state_machine, status.value, stage_name="execution", error=error, reason=reason
        )
    deps.notifier.publish(
        subject=note.subject,
        message=note.message,
        attributes={"event": "execution_failed", "state_machine": state_machine},
    )
    deps.meter.add("FailuresNotifiedByRecorder", 1, "Count")
    return True


def _input_pipeline(document: str) -> str:
    try:
        return str(json.loads(document).get("pipeline", "unknown"))
    except (ValueError, AttributeError):
        return "unknown"


def _epoch_ms(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, tz=UTC) if value is not None else None


def update_stages(deps: Deps, run_id: str, fields: Mapping[str, Any], stages: Mapping[str, Mapping[str, Any]]) -> None:
    """Update the run record and report the duration of every stage this update ends."""
    item = deps.runs.update(run_id, fields, stages)
    for name, record in run_record.ended_stages(item, stages).items():
        deps.meter.add(f"{name.capitalize()}Duration", record, "Seconds")

"""The training pipeline's use cases: one function per training handler (same name), data in, data out.

Each function takes a parsed input and :class:`Deps` (the ports). The handlers in functions/ only parse, call
one of these, and return the result as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from mlcp.common import notifications
from mlcp.common.payloads import Notification
from mlcp.common.ports import Executions, Meter, Notifier, ObjectStore
from mlcp.common.s3_events import parse_s3_event
from mlcp.errors import (
    ArtifactMissing,
    DatasetNotFound,
    FieldError,
    GateFailed,
    PipelineNotFound,
    SpecInvalid,
)
from mlcp.training import compression, gate, run_record, triggers, tuning
from mlcp.training.events import ExecutionStatusChange, event_kind
from mlcp.training.payloads import (
    BestModel,
    CompressionInput,
    CompressionPlan,
    FailureInput,
    GateInput,
    GateResult,
    RunContext,
    RunInput,
    RunRef,
    RunStatus,
    SelectBestInput,
    StageInput,
    StageName,
    StageStatus,
    SuccessInput,
    ValidateInput,
    ValidateResult,
)
from mlcp.training.ports import NoticeLedger, PipelineStore, RunStore, SageMaker
from mlcp.training.preparation import parse_manifest, prepare_run, processing_request
from mlcp.training.settings import TrainingSettings
from mlcp.training.spec import PipelineSpec, parse_spec


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
    notices: NoticeLedger | None = None  # the run recorder's exactly-once ledger of failure notices


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- triggers ------------------------------------------------------------------------------------------------
class RegistrationResult(_Result):
    pipeline: str
    status: str  # registered | rejected | stale
    source: str
    errors: list[dict[str, str]] = []


def register_pipeline(event: Mapping[str, Any], deps: Deps) -> RegistrationResult:
    """S3 ``pipelines/<name>/pipeline.yaml`` uploaded: validate and register it, or reject it with a
    notification naming the fields. A rejected upload leaves the registered version in place."""
    obj = parse_s3_event(event)
    name = triggers.pipeline_name_from_key(obj.key)
    try:
        spec = parse_spec(deps.objects.read(obj.uri, obj.version_id), source=obj.source)
        if spec.name != name:
            raise SpecInvalid(obj.source, [FieldError("name", f"is {spec.name!r} but the object key names {name!r}")])
    except SpecInvalid as exc:
        errors = [e.as_dict() for e in exc.errors]
        deps.pipelines.record_rejection(name, obj.source, errors, deps.clock())
        deps.notifier.publish(
            subject=notifications.subject(f"pipeline spec {name} rejected"),
            message=notifications.rejection_message(
                "pipeline spec", obj.source, exc.errors, f"pipeline {name!r} keeps its previous version"
            ),
            attributes={"event": "spec_rejected", "pipeline": name},
        )
        deps.meter.add("SpecsRejected", 1, "Count")
        return RegistrationResult(pipeline=name, status="rejected", source=obj.source, errors=errors)
    stored = deps.pipelines.put_spec(
        name,
        spec.model_dump(mode="json"),
        version=obj.version_id or obj.etag or "unversioned",
        source=obj.source,
        order=obj.sequencer or "",
    )
    deps.meter.add("SpecsRegistered", 1 if stored else 0, "Count")
    return RegistrationResult(pipeline=name, status="registered" if stored else "stale", source=obj.source)


class StartResult(_Result):
    run_id: str
    pipeline: str
    execution_arn: str
    started: bool


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
    return StartResult(run_id=run_input.run_id, pipeline=run_input.pipeline, execution_arn=arn, started=started)


def start_run(event: Mapping[str, Any], deps: Deps) -> StartResult:
    """A dataset manifest upload (S3 via EventBridge) or a schedule firing (EventBridge Scheduler)."""
    if event_kind(event) == "schedule":
        schedule = triggers.parse_schedule_input(event)
        run_input = triggers.run_input_for_schedule(schedule, deps.pipelines.latest_dataset(schedule.pipeline))
    else:
        obj = parse_s3_event(event)
        run_input = triggers.run_input_for_manifest(obj)
        if run_input.dataset is not None:
            deps.pipelines.set_latest_dataset(run_input.pipeline, run_input.dataset, obj.sequencer or "")
    return start_run_execution(run_input, deps)


# --- training pipeline stages --------------------------------------------------------------------------------
def validate_spec(inp: ValidateInput, deps: Deps) -> ValidateResult:
    """First state: load and re-validate the spec, read the manifest, name every job, prepare augment."""
    run_input = inp.input
    now = deps.clock()
    deps.runs.create(run_input.run_id, run_record.new_run_item(run_input, now))
    if run_input.spec is not None:
        spec, spec_version = parse_spec(run_input.spec, source="inline spec"), "inline"
    else:
        stored = deps.pipelines.get_spec(run_input.pipeline)
        if stored is None:
            raise PipelineNotFound(
                f"pipeline {run_input.pipeline!r} is not registered: upload "
                f"pipelines/{run_input.pipeline}/pipeline.yaml first"
            )
        document, spec_version = stored
        spec = parse_spec(document, source=f"registered spec of {run_input.pipeline}")
    if run_input.dataset is None:
        raise DatasetNotFound(
            f"pipeline {run_input.pipeline!r} has no dataset version yet: upload "
            f"datasets/{run_input.pipeline}/<version>/manifest.json"
        )
    manifest_uri = run_input.dataset.manifest_uri
    manifest = parse_manifest(deps.objects.read(manifest_uri), source=manifest_uri, spec=spec)
    run = prepare_run(
        run_input,
        execution_arn=inp.execution_arn,
        spec=spec,
        spec_version=spec_version,
        manifest=manifest,
        default_role_arn=deps.settings.sagemaker_role_arn,
        artifact_bucket=deps.settings.artifact_bucket,
    )
    deps.sagemaker.ensure_model_package_group(
        spec.registry.model_package_group,
        f"Models of the mlcp pipeline {spec.name}",
        {"mlcp:pipeline": spec.name},
    )
    augment = processing_request(run)
    deps.runs.set_status(run.run_id, RunStatus.RUNNING, now, {"execution_arn": inp.execution_arn})
    deps.runs.update(
        run.run_id,
        {
            "spec_version": spec_version,
            # The run's spec, by reference for every later stage (RunRef): the state never carries it.
            SPEC_ATTRIBUTE: spec.model_dump_json(exclude_none=True),
            "dataset_version": run.dataset_version,
            "channels": run.channels,
        },
        {
            StageName.VALIDATE: run_record.stage(StageStatus.SUCCEEDED, now, started=now),
            StageName.AUGMENT: (
                run_record.stage(StageStatus.RUNNING, now, started=now, job_name=run.names.processing)
                if augment
                else run_record.stage(StageStatus.SKIPPED, now)
            ),
        },
    )
    return ValidateResult(run=run.ref(), augment_request=augment)


SPEC_ATTRIBUTE = "run_spec_json"


def run_context(ref: RunRef, deps: Deps) -> RunContext:
    """The run with its spec, loaded by reference from the run's record (one read per invocation).

    Raises ArtifactMissing when the record has no spec (a run that validate_spec did not prepare).
    """
    record = deps.runs.get(ref.run_id) or {}
    document = record.get(SPEC_ATTRIBUTE)
    if not isinstance(document, str):
        raise ArtifactMissing(f"run {ref.run_id} has no validated spec in its record: was it started by validate_spec?")
    return RunContext(**dict(ref), spec=PipelineSpec.model_validate_json(document))


def build_tuning(inp: StageInput, deps: Deps) -> dict[str, Any]:
    run = run_context(inp.run, deps)
    now = deps.clock()
    stages: dict[str, dict[str, Any]] = {
        StageName.TUNE: run_record.stage(StageStatus.RUNNING, now, started=now, job_name=run.names.tuning)
    }
    if run.spec.augment is not None:
        stages[StageName.AUGMENT] = run_record.stage(StageStatus.SUCCEEDED, now)
    _update(deps, run.run_id, {}, stages)
    return tuning.tuning_request(run)


def select_best(inp: SelectBestInput, deps: Deps) -> BestModel:
    run, summary = run_context(inp.run, deps), inp.tuning
    description = deps.sagemaker.describe_tuning_job(summary.name)
    training = deps.sagemaker.describe_training_job(tuning.best_training_job_name(description))
    best = tuning.best_model(run, description, training)
    _update(
        deps,
        run.run_id,
        {
            "best": best.model_dump(mode="json"),
            "trials": dict(description.get("TrainingJobStatusCounters", {})),
        },
        {StageName.TUNE: run_record.stage(StageStatus.SUCCEEDED, deps.clock(), job_name=summary.name)},
    )
    return best


def build_compression(inp: CompressionInput, deps: Deps) -> CompressionPlan:
    run, best = run_context(inp.run, deps), inp.best
    plan = compression.compression_plan(
        run, best, poll_seconds=deps.settings.neo_poll_seconds, max_polls=deps.settings.neo_max_polls
    )
    now = deps.clock()
    _update(
        deps,
        run.run_id,
        {},
        {StageName.COMPRESS: run_record.stage(StageStatus.RUNNING, now, started=now, job_name=plan.job_name)},
    )
    return plan


def evaluate_gate(inp: GateInput, deps: Deps) -> GateResult:
    """Measure the compressed model against the best one; raise GateFailed (with the numbers) if it fails."""
    run, best, ref = run_context(inp.run, deps), inp.best, inp.compressed
    if ref.kind == "neo":
        description = deps.sagemaker.describe_compilation_job(ref.job_name)
    else:
        description = deps.sagemaker.describe_training_job(ref.job_name)
    artifact, metrics = compression.compressed_result(ref, description)
    result = gate.evaluate(
        run,
        best,
        metric_after=metrics.get(best.objective_metric) if ref.kind == "training" else None,
        size_before=deps.objects.size(best.model_artifact),
        size_after=deps.objects.size(artifact),
        compressed_artifact=artifact,
    )
    now = deps.clock()
    verdict = StageStatus.SUCCEEDED if result.passed else StageStatus.FAILED
    stages: dict[str, dict[str, Any]] = {
        StageName.COMPRESS: run_record.stage(StageStatus.SUCCEEDED, now, job_name=ref.job_name),
        StageName.GATE: run_record.stage(verdict, now, started=now, detail="; ".join(result.reasons) or "passed"),
    }
    if result.passed:
        stages[StageName.REGISTER] = run_record.stage(StageStatus.RUNNING, now, started=now)
    _update(deps, run.run_id, {"gate": result.model_dump(mode="json", exclude={"registration_request"})}, stages)
    if not result.passed:
        raise GateFailed(
            "gate failed: " + "; ".join(result.reasons),
            **result.model_dump(mode="json", exclude={"registration_request"}),
        )
    return result


def record_success(inp: SuccessInput, deps: Deps) -> Notification:
    arn = str(inp.registered.get("model_package_arn", ""))
    _update(
        deps,
        inp.run.run_id,
        {"model_package_arn": arn},
        {StageName.REGISTER: run_record.stage(StageStatus.SUCCEEDED, deps.clock())},
    )
    return run_record.success_notification(inp.run, inp.best, inp.gate, arn)


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
    if changed:
        deps.runs.update(
            inp.execution_name, {}, {stage: run_record.stage(StageStatus.FAILED, now, detail=reason[:1000])}
        )
        deps.meter.add("RunsFailed", 1, "Count")
    return run_record.failure_notification(inp.execution_name, pipeline, stage, error, reason)


# --- the run recorder (Step Functions execution status changes) ---------------------------------------------
class RecordResult(_Result):
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
            str(failure.get("stage") or "execution"),
            str(failure.get("error") or error),
            str(failure.get("reason") or reason),
        )
    else:
        note = run_record.execution_notification(
            f"execution {detail.name}", state_machine, status.value, "execution", error, reason
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


def _update(deps: Deps, run_id: str, fields: Mapping[str, Any], stages: Mapping[str, Mapping[str, Any]]) -> None:
    """Update the run record and report the duration of every stage this update ends."""
    item = deps.runs.update(run_id, fields, stages)
    for name, record in run_record.ended_stages(item, stages).items():
        deps.meter.add(f"{name.capitalize()}Duration", record, "Seconds")

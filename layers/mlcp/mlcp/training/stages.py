"""The training use cases that need the spec: registering a spec, and the pipeline's stages (one function per
handler, same name). The spec models are imported here only, so that the handlers that do not use them (start_run,
record_success, record_failure, the run recorder, in mlcp.training.use_cases) start without loading them.

Every later stage gets the run by reference (:class:`RunRef`) and loads the run's spec from its record
(:func:`run_context`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from mlcp.common import notifications
from mlcp.common.documents import read_document
from mlcp.common.s3_events import KeyAction, S3Object, parse_s3_event, refuse, resolve_key
from mlcp.errors import (
    ArtifactMissing,
    DatasetNotFound,
    EventIgnored,
    FieldError,
    GateFailed,
    PipelineNotFound,
    SpecInvalid,
)
from mlcp.training import compression, gate, run_record, triggers, tuning, warm_start
from mlcp.training.context import RunContext
from mlcp.training.payloads import (
    BestModel,
    CompressionInput,
    CompressionPlan,
    GateInput,
    GateResult,
    RunRef,
    RunStatus,
    SelectBestInput,
    StageInput,
    StageName,
    StageStatus,
    ValidateInput,
    ValidateResult,
)
from mlcp.training.preparation import parse_manifest, prepare_run, processing_request
from mlcp.training.spec import PipelineSpec, parse_spec
from mlcp.training.use_cases import Deps, UseCaseResult, ignored, update_stages


def checked_spec(document: str | bytes | dict[str, Any], deps: Deps, *, source: str) -> PipelineSpec:
    """Parse a spec and run the preflight (every request a run sends, the stack's reach); SpecInvalid names the
    spec fields. Used wherever a spec enters: S3 registration, PUT /pipelines, POST /runs, validate_spec."""
    # The preflight (and the service models it reads) loads with the first spec it checks: most stages never do.
    from mlcp.training.preflight import preflight_spec  # noqa: PLC0415

    spec = parse_spec(document, source=source)
    preflight_spec(
        spec, reach=deps.settings.reach(), checker=deps.requests, source=source, region=deps.settings.stack_region
    )
    return spec


# --- triggers ------------------------------------------------------------------------------------------------
class RegistrationResult(UseCaseResult):
    pipeline: str
    status: str  # registered | rejected | stale | refused (not a pipeline spec key) | ignored (not its event/key)
    source: str
    errors: list[dict[str, str]] = Field(default_factory=list)


def register_pipeline(event: Mapping[str, Any], deps: Deps) -> RegistrationResult:
    """S3 ``pipelines/<name>/pipeline.yaml`` uploaded: validate and register it, or reject it with a
    notification naming the fields. A rejected upload leaves the registered version in place; the spec is read at
    the event's version, and a late re-delivery of an older upload leaves the newer one registered."""
    try:
        obj = parse_s3_event(event)
    except EventIgnored as exc:
        return RegistrationResult(pipeline="", status="ignored", source=ignored(deps, exc.reason))
    decision = triggers.classify_pipeline_key(obj.key)
    if decision.action == KeyAction.IGNORE:
        return RegistrationResult(pipeline="", status="ignored", source=ignored(deps, obj.source))
    if decision.action == KeyAction.REFUSE:
        refuse(
            obj,
            decision,
            trigger="pipeline spec",
            refusals=deps.pipelines,
            notifier=deps.notifier,
            meter=deps.meter,
            at=deps.clock(),
        )
        return RegistrationResult(
            pipeline=decision.name,
            status="refused",
            source=obj.source,
            errors=[{"field": "detail.object.key", "message": decision.reason}],
        )
    obj = resolve_key(obj, deps.objects)
    name = triggers.pipeline_name_from_key(obj.key)
    return _register_spec(obj, name, deps)


def _register_spec(obj: S3Object, name: str, deps: Deps) -> RegistrationResult:
    try:
        body = read_document(deps.objects, obj.uri, obj.version_id, source=obj.source, error=SpecInvalid)
        spec = checked_spec(body, deps, source=obj.source)
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
        version=obj.version_id or obj.identity or "unversioned",
        source=obj.source,
        order=obj.sequencer or "",
    )
    deps.meter.add("SpecsRegistered", 1 if stored else 0, "Count")
    return RegistrationResult(pipeline=name, status="registered" if stored else "stale", source=obj.source)


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
    dataset = run_input.dataset
    source = f"{dataset.manifest_uri}?versionId={dataset.manifest_version_id}" if dataset.manifest_version_id else ""
    manifest = parse_manifest(
        deps.objects.read(dataset.manifest_uri, dataset.manifest_version_id),
        source=source or dataset.manifest_uri,
        spec=spec,
    )
    run = prepare_run(
        run_input,
        execution_arn=inp.execution_arn,
        spec=spec,
        spec_version=spec_version,
        manifest=manifest,
        default_role_arn=deps.settings.sagemaker_role_arn,
        artifact_bucket=deps.settings.artifact_bucket,
        kms_key_id=deps.settings.kms_key_arn or None,
    )
    # The preflight on the run itself (its manifest's channels, its names): nothing launches if AWS would refuse it.
    from mlcp.training.preflight import check_run  # noqa: PLC0415 - loaded on first use, see checked_spec

    check_run(run, reach=deps.settings.reach(), checker=deps.requests, source=f"spec of pipeline {spec.name}")
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


SPEC_ATTRIBUTE = run_record.SPEC_ATTRIBUTE  # tests and callers import it from here too


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
    """The CreateHyperParameterTuningJob request; with ``tuning.warm_start``, the parents it resolves (or the
    reason it starts cold) go on the run record (``warm_start``), the tune stage's detail and the log."""
    run = run_context(inp.run, deps)
    now = deps.clock()
    plan = warm_start.plan(run, deps.runs, deps.run_index)
    stages: dict[str, dict[str, Any]] = {
        StageName.TUNE: run_record.stage(
            StageStatus.RUNNING,
            now,
            started=now,
            job_name=run.names.tuning,
            detail=plan.detail() if plan is not None else None,
        )
    }
    if run.spec.augment is not None:
        stages[StageName.AUGMENT] = run_record.stage(StageStatus.SUCCEEDED, now)
    update_stages(deps, run.run_id, {"warm_start": plan.record()} if plan is not None else {}, stages)
    if plan is not None:
        warm_start.log(run.run_id, plan)
    return tuning.tuning_request(run, plan.config() if plan is not None else None)


def select_best(inp: SelectBestInput, deps: Deps) -> BestModel:
    run, summary = run_context(inp.run, deps), inp.tuning
    description = deps.sagemaker.describe_tuning_job(summary.name)
    training = deps.sagemaker.describe_training_job(tuning.best_training_job_name(description))
    best = tuning.best_model(run, description, training)
    update_stages(
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
    update_stages(
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
    update_stages(deps, run.run_id, {"gate": result.model_dump(mode="json", exclude={"registration_request"})}, stages)
    if not result.passed:
        raise GateFailed(
            "gate failed: " + "; ".join(result.reasons),
            **result.model_dump(mode="json", exclude={"registration_request"}),
        )
    return result

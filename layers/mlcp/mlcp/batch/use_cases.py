"""The batch pipeline's use cases: start a run from a trigger, plan it, collect what its children took.

Layout in the artifact bucket (``batches/<profile>/``): ``batch.yaml`` (the job profile's spec), any
``…/manifest.json`` upload starts a run, and ``runs/<run id>/`` holds the run's ``plan.json``, ``index-map.json``
(a shard retry) and ``stats.json`` (per-child times, failed shard indices).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from mlcp.batch.payloads import (
    BatchRunInput,
    BatchScheduleInput,
    BatchStartResult,
    BatchStats,
    CollectInput,
    PlanInput,
    PlannedRun,
    Shards,
)
from mlcp.batch.planner import BatchPlan, ChildRun, Profile, initial_profile, items_of, make_plan, update_profile
from mlcp.batch.ports import BatchJobs, ProfileStore
from mlcp.batch.preflight import check_requests
from mlcp.batch.requests import resize_request, submit_request
from mlcp.batch.scope import check_scope
from mlcp.batch.settings import BatchSettings
from mlcp.batch.spec import MAX_ARRAY_SIZE, BatchSpec, parse_batch_spec
from mlcp.batch.triggers import classify_batch_key, run_input_for_manifest
from mlcp.common import naming
from mlcp.common.documents import read_document
from mlcp.common.payloads import Trigger, TriggerType
from mlcp.common.ports import Executions, Meter, Notifier, Objects, RequestChecker
from mlcp.common.pricing import SECONDS_PER_HOUR, rounded
from mlcp.common.s3_events import KeyAction, parse_s3_event, refuse, resolve_key
from mlcp.common.validation import field_errors
from mlcp.errors import (
    ArtifactMissing,
    BatchSpecInvalid,
    ConcurrentUpdate,
    EventIgnored,
    EventInvalid,
    FieldError,
    InputInvalid,
)

SPEC_NAMES = ("batch.yaml", "batch.yml", "batch.json")
PAYLOAD_INDICES = 100  # failed indices carried in the state payload; stats.json has all of them


@dataclass
class BatchDeps:
    settings: BatchSettings
    objects: Objects
    batch: BatchJobs
    profiles: ProfileStore
    executions: Executions
    notifier: Notifier
    meter: Meter
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    requests: RequestChecker | None = None  # AWS's request rules (mlcp.aws.service_models); None: limits only


# --- triggers -----------------------------------------------------------------------------------------------------
def run_input_for_schedule(schedule: BatchScheduleInput) -> BatchRunInput:
    at = schedule.scheduled_time
    stamp = naming.schedule_stamp(at)
    return BatchRunInput(
        run_id=naming.execution_name(schedule.profile, stamp, schedule.schedule_arn),
        profile=schedule.profile,
        manifest_uri=schedule.manifest_uri,
        trigger=Trigger(type=TriggerType.SCHEDULE, source=f"{schedule.schedule_arn}@{stamp}"),
    )


def start_batch_run(run_input: BatchRunInput, deps: BatchDeps) -> BatchStartResult:
    arn_of_machine = deps.settings.batch_state_machine_arn
    if arn_of_machine is None:
        raise InputInvalid("function environment", [FieldError("BATCH_STATE_MACHINE_ARN", "is not set")])
    payload = run_input.model_dump(mode="json")
    arn, accepted = deps.executions.start(arn_of_machine, run_input.run_id, payload)
    deps.meter.add("BatchRunsStarted" if accepted else "DuplicateTriggers", 1, "Count")
    return BatchStartResult(
        run_id=run_input.run_id,
        profile=run_input.profile,
        execution_arn=arn,
        started=accepted,
        status="started" if accepted else "duplicate",
    )


def start_batch(event: Mapping[str, Any], deps: BatchDeps) -> BatchStartResult:
    """A ``batches/<profile>/…/manifest.json`` upload (S3 via EventBridge), a batch schedule, or a shard retry."""
    if isinstance(event, Mapping) and event.get("source") == "mlcp.batch-schedule":
        try:
            schedule = BatchScheduleInput.model_validate(event)
        except ValidationError as exc:
            raise EventInvalid("batch schedule input", field_errors(exc)) from exc
        return start_batch_run(run_input_for_schedule(schedule), deps)
    if isinstance(event, Mapping) and "retry_of" in event:
        return start_batch_run(retry_input(event), deps)
    try:
        obj = parse_s3_event(event)
    except EventIgnored as exc:
        deps.meter.add("TriggersIgnored", 1, "Count")
        return BatchStartResult(
            run_id="", profile="", execution_arn="", started=False, status="ignored", reason=exc.reason
        )
    decision = classify_batch_key(obj.key)
    if decision.action == KeyAction.IGNORE:
        deps.meter.add("TriggersIgnored", 1, "Count")
        return BatchStartResult(
            run_id="", profile="", execution_arn="", started=False, status="ignored", reason=decision.reason
        )
    if decision.action == KeyAction.REFUSE:
        refuse(
            obj,
            decision,
            trigger="batch manifest",
            refusals=deps.profiles,
            notifier=deps.notifier,
            meter=deps.meter,
            at=deps.clock(),
        )
        return BatchStartResult(
            run_id="", profile=decision.name, execution_arn="", started=False, status="refused", reason=decision.reason
        )
    return start_batch_run(run_input_for_manifest(resolve_key(obj, deps.objects)), deps)


def retry_input(request: Mapping[str, Any]) -> BatchRunInput:
    """A shard retry request ({profile, retry_of, indices?}) as an execution input under a deterministic name."""
    try:
        profile, retry_of = str(request["profile"]), str(request["retry_of"])
        indices = request.get("indices")
        label = f"retry-{naming.digest(*(str(i) for i in (indices or [])), length=6)}"
        return BatchRunInput(
            run_id=naming.execution_name(profile, label, retry_of),
            profile=profile,
            trigger=Trigger(type=TriggerType.MANUAL, source=f"retry of {retry_of}"),
            retry_of=retry_of,
            indices=indices,
        )
    except KeyError as exc:
        raise EventInvalid("shard retry request", [FieldError(str(exc.args[0]), "is required")]) from exc
    except ValidationError as exc:
        raise EventInvalid("shard retry request", field_errors(exc)) from exc


# --- plan_batch ---------------------------------------------------------------------------------------------------
def _prefix(deps: BatchDeps, profile: str) -> str:
    return f"s3://{deps.settings.artifact_bucket}/batches/{profile}/"


def load_spec(deps: BatchDeps, profile: str) -> BatchSpec:
    for name in SPEC_NAMES:
        uri = _prefix(deps, profile) + name
        try:
            body = read_document(deps.objects, uri, source=uri, error=BatchSpecInvalid)
        except ArtifactMissing:
            continue
        return check_scope(parse_batch_spec(body, source=uri), deps.settings, source=uri)
    raise ArtifactMissing(f"job profile {profile!r} has no spec: upload {_prefix(deps, profile)}batch.yaml")


def count_manifest(body: bytes, source: str) -> int:
    """A manifest is a JSON list of item keys, {"items": [...]} or {"count": n}."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise InputInvalid(source, [FieldError("", f"is not valid JSON: {exc}")]) from exc
    if isinstance(document, list):
        return len(document)
    if isinstance(document, dict) and isinstance(document.get("items"), list):
        return len(document["items"])
    if isinstance(document, dict) and isinstance(document.get("count"), int) and document["count"] >= 0:
        return int(document["count"])
    raise InputInvalid(source, [FieldError("items", 'expected a JSON list of keys, {"items": [...]} or {"count": n}')])


def _item_count(inp: BatchRunInput, spec: BatchSpec, deps: BatchDeps) -> tuple[int, str | None]:
    """The item count and the manifest it came from (a triggering manifest is read at the event's version)."""
    if inp.item_count is not None:
        return inp.item_count, inp.manifest_uri
    manifest = inp.manifest_uri or spec.items.manifest
    if manifest is not None:
        version = inp.manifest_version_id if manifest == inp.manifest_uri else None
        return count_manifest(deps.objects.read(manifest, version), manifest), manifest
    if spec.items.prefix is not None:
        return deps.objects.count(spec.items.prefix), None
    return spec.items.count or 0, None  # ItemsSource holds exactly one of the three; 0 is reported as invalid


def load_profile(deps: BatchDeps, spec: BatchSpec) -> Profile:
    stored = deps.profiles.get(spec.name)
    if stored is None:
        return initial_profile(spec)
    return Profile.model_validate(stored)


PROFILE_WRITE_ATTEMPTS = 5


def learn(deps: BatchDeps, spec: BatchSpec, children: Sequence[ChildRun]) -> Profile:
    """Blend a run's children into the stored profile. Concurrent runs of one profile re-read and blend again
    when another run stored first (optimistic concurrency on ``runs``), so no run's observations are lost."""
    for _ in range(PROFILE_WRITE_ATTEMPTS):
        stored = deps.profiles.get(spec.name)
        profile = initial_profile(spec) if stored is None else Profile.model_validate(stored)
        updated = update_profile(profile, children, spec.target_child_seconds)
        if deps.profiles.put(spec.name, updated.model_dump(mode="json"), None if stored is None else profile.runs):
            return updated
    raise ConcurrentUpdate(
        f"batch profile {spec.name} kept changing under {PROFILE_WRITE_ATTEMPTS} attempts to update it"
    )


def _retry_shards(inp: BatchRunInput, retry_of: str, deps: BatchDeps, run_prefix: str) -> tuple[Shards, dict[str, Any]]:
    stats_uri = f"{_prefix(deps, inp.profile)}runs/{retry_of}/stats.json"
    try:
        previous = json.loads(deps.objects.read(stats_uri))
    except ArtifactMissing as exc:
        raise InputInvalid(
            "shard retry", [FieldError("retry_of", f"run {retry_of!r} of {inp.profile!r} has no stats")]
        ) from exc
    shards = Shards.model_validate(previous["shards"])
    total = math.ceil(shards.item_count / shards.items_per_child)
    indices = sorted(set(inp.indices if inp.indices is not None else previous["failed_indices"]))
    errors = [FieldError("indices", f"shard {i} is out of range 0..{total - 1}") for i in indices if i >= total]
    if not indices:
        errors.append(FieldError("indices", f"run {retry_of!r} has no failed shards to retry"))
    if errors:
        raise InputInvalid("shard retry", errors)
    index_map = f"{run_prefix}index-map.json"
    deps.objects.write(index_map, json.dumps(indices).encode())
    retried = Shards(
        item_count=shards.item_count,
        items_per_child=shards.items_per_child,
        children=len(indices),
        manifest_uri=shards.manifest_uri,
        manifest_version_id=shards.manifest_version_id,
        output_uri=shards.output_uri,
        index_map_uri=index_map,
        indices=indices,
    )
    return retried, previous["plan"]


def plan_batch(inp: PlanInput, deps: BatchDeps) -> PlannedRun:
    """plan_batch: the spec, the item count and the profile's estimate -> the Batch request (module docstring)."""
    run = inp.input
    spec = load_spec(deps, run.profile)
    if spec.name != run.profile:
        raise InputInvalid(
            f"spec of job profile {run.profile!r}", [FieldError("name", f"is {spec.name!r}, not {run.profile!r}")]
        )
    run_prefix = f"{_prefix(deps, run.profile)}runs/{run.run_id}/"
    if run.retry_of is not None:
        shards, previous_plan = _retry_shards(run, run.retry_of, deps, run_prefix)
        plan = BatchPlan.model_validate(previous_plan)
    else:
        count, manifest = _item_count(run, spec, deps)
        plan = make_plan(spec, count, load_profile(deps, spec))
        shards = Shards(
            item_count=count,
            items_per_child=plan.items_per_child,
            children=plan.children,
            manifest_uri=manifest,
            manifest_version_id=run.manifest_version_id if manifest == run.manifest_uri else None,
            output_uri=spec.output or f"{run_prefix}results/",
        )
    request = submit_request(spec, plan, run.run_id, shards, children=shards.children)
    resize = resize_request(plan)
    # The preflight: nothing is resized or submitted that AWS (or the stack's reach) would refuse.
    check_requests(
        spec,
        request,
        resize,
        reach=deps.settings.reach(),
        checker=deps.requests,
        source=f"spec of job profile {run.profile!r}",
    )
    planned = PlannedRun(
        run_id=run.run_id,
        profile=run.profile,
        array=shards.children > 1,
        submit=request,
        resize=resize,
        shards=shards,
        plan=plan.model_dump(mode="json"),
        run_prefix=run_prefix,
    )
    deps.objects.write(f"{run_prefix}plan.json", planned.model_dump_json(indent=2).encode())
    deps.meter.add("BatchChildrenPlanned", shards.children, "Count")
    return planned


# --- collect_batch_stats ------------------------------------------------------------------------------------------
def _job_id(inp: CollectInput) -> str | None:
    if inp.job is not None:
        found = inp.job.get("JobId") or inp.job.get("jobId")
        return str(found) if found else None
    cause = (inp.job_error or {}).get("Cause")
    if isinstance(cause, str):
        try:
            described = json.loads(cause)
        except ValueError:
            return None
        if isinstance(described, dict):
            found = described.get("JobId") or described.get("jobId")
            return str(found) if found else None
    return None


def child_runs(shards: Shards, array: bool, job_id: str, described: Sequence[Mapping[str, Any]]) -> list[ChildRun]:
    """Children as DescribeJobs reports them, with their item counts from the shard contract."""
    by_id = {str(job["jobId"]): job for job in described}
    original = shards.indices or list(range(shards.children))
    runs: list[ChildRun] = []
    for i, shard in enumerate(original):
        job = by_id.get(f"{job_id}:{i}" if array else job_id, {})
        runs.append(
            ChildRun(
                index=shard,
                items=len(items_of(shard, shards.items_per_child, shards.item_count)),
                started_at_ms=job.get("startedAt"),
                stopped_at_ms=job.get("stoppedAt"),
                succeeded=job.get("status") == "SUCCEEDED",
            )
        )
    return runs


def collect_batch_stats(inp: CollectInput, deps: BatchDeps) -> BatchStats:
    """collect_batch_stats: DescribeJobs on the children, the failed shards, and the profile's new estimate."""
    run, planned = inp.input, inp.planned
    shards = planned.shards
    spec = load_spec(deps, run.profile)
    profile = load_profile(deps, spec)
    job_id = _job_id(inp)
    children: list[ChildRun] = []
    if job_id is not None:
        ids = [f"{job_id}:{i}" for i in range(shards.children)] if planned.array else [job_id]
        children = child_runs(shards, planned.array, job_id, deps.batch.describe_jobs(ids))
    updated = learn(deps, spec, children) if children else profile
    succeeded = [c for c in children if c.succeeded]
    failed = sorted(c.index for c in children if not c.succeeded)
    durations = [s for c in succeeded if (s := c.seconds) is not None]
    if job_id is None:
        status = "FAILED"
        failed = list(shards.indices or range(shards.children))
    elif not failed:
        status = "SUCCEEDED"
    else:
        status = "PARTIAL" if succeeded else "FAILED"
    stats_uri = f"{planned.run_prefix}stats.json"
    retry = {"profile": run.profile, "retry_of": run.run_id} if failed and job_id is not None else None
    median = round(statistics.median(durations), 3) if durations else None
    cost = batch_cost(spec, str(planned.plan.get("queue") or ""), children, deps.settings.stack_region)
    subject, message = _notification(run, planned, status, len(children), failed, median, inp, retry)
    message += f"\ncost: ${cost['total']:.4f} ({cost['stages']['batch']['vcpu_seconds']:.0f} vCPU-s on " + (
        f"{cost['stages']['batch']['queue']} at ${cost['stages']['batch']['price_per_vcpu_hour']}/vCPU-h)"
    )
    stats = BatchStats(
        run_id=run.run_id,
        profile=run.profile,
        status=status,
        job_id=job_id,
        children=shards.children,
        succeeded=len(succeeded),
        failed=len(failed),
        failed_indices=failed[:PAYLOAD_INDICES],
        median_child_seconds=median,
        target_child_seconds=spec.target_child_seconds,
        per_item_seconds_before=profile.per_item_seconds,
        per_item_seconds_after=updated.per_item_seconds,
        stats_uri=stats_uri,
        retry=retry,
        subject=subject,
        message=message,
        cost=cost,
    )
    document = {
        **stats.model_dump(mode="json"),
        "failed_indices": failed,
        "shards": shards.model_dump(mode="json"),
        "plan": planned.plan,
        "child_runs": [c.__dict__ for c in children],
    }
    deps.objects.write(stats_uri, json.dumps(document, indent=1).encode())
    deps.meter.add("BatchChildrenFailed", len(failed), "Count")
    deps.meter.add("BatchChildrenSucceeded", len(succeeded), "Count")
    return stats


def batch_cost(spec: BatchSpec, queue: str, children: list[ChildRun], region: str) -> dict[str, Any]:
    """The batch run's ``cost``: the children's run time (startedAt to stoppedAt, failed children too) x the job's
    vCPUs x the queue's ``price_per_vcpu_hour`` (the job profile's own figure: Fargate's, or the operator's for an
    EC2 queue). Not counted: EC2 instances idle in the compute environment, EBS, S3, data transfer."""
    chosen = next((q for q in spec.queues if q.name == queue), None)
    price = chosen.price_per_vcpu_hour if chosen is not None else None
    vcpu_seconds = sum((c.seconds or 0.0) * spec.job.vcpus for c in children)
    usd = rounded(vcpu_seconds * price / SECONDS_PER_HOUR) if price is not None else 0.0
    entry: dict[str, Any] = {
        "usd": usd,
        "jobs": len(children),
        "vcpu_seconds": round(vcpu_seconds, 3),
        "queue": queue,
        "price_per_vcpu_hour": price,
    }
    if price is None:
        entry["unpriced"] = [queue]
    return {
        "currency": "USD",
        "total": usd,
        "stages": {"batch": entry},
        "price_table": {
            "source": f"job profile {spec.name}: queues[].price_per_vcpu_hour",
            "as_of": "",
            "region": region,
        },
    }


def _notification(  # noqa: PLR0917 - one private formatter, called once
    run: BatchRunInput,
    planned: PlannedRun,
    status: str,
    described: int,
    failed: list[int],
    median: float | None,
    inp: CollectInput,
    retry: dict[str, Any] | None,
) -> tuple[str, str]:
    plan = planned.plan
    lines = [
        f"Batch run {run.run_id} of profile {run.profile}: {status}",
        f"children: {planned.shards.children} x {planned.shards.items_per_child} items "
        f"({planned.shards.item_count} items) on {plan.get('queue')}",
        f"median child: {median if median is not None else 'n/a'} s (target {plan.get('target_child_seconds')} s)",
    ]
    if failed:
        shown = ", ".join(str(i) for i in failed[:20]) + (" ..." if len(failed) > 20 else "")
        lines.append(f"failed shards ({len(failed)}): {shown}")
    if retry is not None:
        lines.append("retry just those shards: start the batch pipeline with " + json.dumps(retry))
    if inp.job_error is not None and described == 0:
        lines.append(f"error: {inp.job_error.get('Error')}: {str(inp.job_error.get('Cause', ''))[:500]}")
    if inp.restore_error is not None:
        lines.append(f"WARNING: the compute environment was not restored: {inp.restore_error.get('Error')}")
    return f"[mlcp] batch {run.profile} {status.lower()}"[:100], "\n".join(lines)


__all__ = [
    "MAX_ARRAY_SIZE",
    "BatchDeps",
    "collect_batch_stats",
    "count_manifest",
    "plan_batch",
    "start_batch",
]

"""The batch pipeline's use cases (mlcp.batch.use_cases) with fake ports: item counts, shard retries, child stats."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import pytest

from mlcp.batch import use_cases
from mlcp.batch.payloads import BatchRunInput, CollectInput, PlanInput, Shards
from mlcp.batch.settings import BatchSettings
from mlcp.batch.use_cases import BatchDeps, child_runs, collect_batch_stats, count_manifest, plan_batch
from mlcp.common.payloads import Trigger, TriggerType
from mlcp.errors import ArtifactMissing, ConcurrentUpdate, DocumentTooLarge, InputInvalid

BUCKET = "mlcp-artifacts-123456789012"
PREFIX = f"s3://{BUCKET}/batches/scoring/"
SPEC: dict[str, Any] = {
    "name": "scoring",
    "items": {"prefix": "s3://data-bucket/images/"},
    "job": {"definition": "worker", "vcpus": 1},
    "queues": [{"name": "spot", "max_vcpus": 4}],
    "estimate": {"per_item_seconds": 1.0, "startup_seconds": 30},
}


class Objects:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.counted: list[str] = []

    def read(self, uri: str, version_id: str | None = None, *, max_bytes: int | None = None) -> bytes:
        if uri not in self.objects:
            raise ArtifactMissing(f"{uri} does not exist")
        body = self.objects[uri]
        if max_bytes is not None and len(body) > max_bytes:
            raise DocumentTooLarge(uri, len(body), max_bytes)
        return body

    def size(self, uri: str) -> int:
        return len(self.read(uri))

    def exists(self, uri: str, version_id: str | None = None) -> bool:
        return uri in self.objects

    def write(self, uri: str, body: bytes, content_type: str = "application/json") -> None:
        self.objects[uri] = body

    def count(self, prefix_uri: str) -> int:
        self.counted.append(prefix_uri)
        return 1234


class Jobs:
    def __init__(self, jobs: list[Mapping[str, Any]]) -> None:
        self.jobs = jobs

    def describe_jobs(self, job_ids: list[str]) -> list[Mapping[str, Any]]:
        return [j for j in self.jobs if j["jobId"] in job_ids]


class Profiles:
    """The profiles table with its conditional put; ``interleave`` runs just before a put (another run's write)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.interleave: list[Callable[[], None]] = []
        self.refused = 0

    def get(self, profile: str) -> dict[str, Any] | None:
        return self.items.get(profile)

    def put(self, profile: str, item: Mapping[str, Any], expected_runs: int | None) -> bool:
        if self.interleave:
            self.interleave.pop(0)()
        stored = self.items.get(profile)
        if (stored is None) != (expected_runs is None) or (stored is not None and stored["runs"] != expected_runs):
            self.refused += 1
            return False
        self.items[profile] = dict(item)
        return True

    def record_refusal(self, name: str, source: str, reason: str, at: datetime) -> bool:
        raise AssertionError(f"no trigger is refused here ({name}, {source}: {reason} at {at})")


class Unused:
    def start(self, *_: Any) -> tuple[str, bool]:
        raise AssertionError("not expected")

    def publish(self, *_: Any) -> None:
        raise AssertionError("not expected")

    def add(self, *_: Any) -> None:
        return None


def _deps(objects: dict[str, bytes], jobs: list[Mapping[str, Any]] | None = None) -> BatchDeps:
    settings = BatchSettings.model_validate(
        {
            "RUNS_TABLE": "runs",
            "PIPELINES_TABLE": "pipelines",
            "ARTIFACT_BUCKET": BUCKET,
            "SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/sagemaker",
            "NOTIFICATION_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:mlcp",
            "TRAINING_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:training",
            "PROFILES_TABLE": "profiles",
            "DATA_BUCKET_NAMES": "data-bucket",  # the operator granted the items' bucket (template DataBucketNames)
        }
    )
    return BatchDeps(
        settings=settings,
        objects=Objects(objects),
        batch=Jobs(jobs or []),
        profiles=Profiles(),
        executions=Unused(),
        notifier=Unused(),
        meter=Unused(),
    )


def _run(**extra: Any) -> BatchRunInput:
    return BatchRunInput(
        run_id="scoring-r1", profile="scoring", trigger=Trigger(type=TriggerType.MANUAL, source="t"), **extra
    )


def _plan(deps: BatchDeps, run: BatchRunInput) -> Any:
    return plan_batch(PlanInput(input=run, execution_arn="arn:aws:states:::execution:x:y"), deps)


@pytest.mark.parametrize(
    ("body", "count"),
    [(b'["a", "b"]', 2), (b'{"items": ["a"]}', 1), (b'{"count": 7}', 7)],
)
def test_manifests_count_their_items(body: bytes, count: int) -> None:
    assert count_manifest(body, "m") == count


@pytest.mark.parametrize("body", [b"{", b'{"count": -1}', b'{"other": 1}', b'"text"'])
def test_a_manifest_without_items_is_a_field_error(body: bytes) -> None:
    with pytest.raises(InputInvalid) as exc:
        count_manifest(body, "s3://b/m.json")
    assert exc.value.subject == "s3://b/m.json"


def test_a_prefix_is_counted_and_an_explicit_count_wins() -> None:
    deps = _deps({PREFIX + "batch.yaml": json.dumps(SPEC).encode()})
    planned = _plan(deps, _run())
    assert planned.shards.item_count == 1234
    assert planned.shards.manifest_uri is None
    assert _plan(deps, _run(item_count=5)).shards.item_count == 5


def test_a_spec_for_another_profile_is_rejected_on_its_name() -> None:
    deps = _deps({PREFIX + "batch.json": json.dumps({**SPEC, "name": "other"}).encode()})
    with pytest.raises(InputInvalid) as exc:
        _plan(deps, _run())
    assert exc.value.errors[0].field == "name"


def test_a_shard_retry_needs_the_stats_of_its_run_and_valid_indices() -> None:
    deps = _deps({PREFIX + "batch.yaml": json.dumps(SPEC).encode()})
    with pytest.raises(InputInvalid, match="has no stats"):
        _plan(deps, _run(retry_of="scoring-r0"))
    shards = Shards(
        item_count=100, items_per_child=10, children=10, manifest_uri=None, output_uri=f"s3://{BUCKET}/out/"
    )
    first = _plan(deps, _run(item_count=100))
    stats = {"shards": shards.model_dump(), "plan": first.plan, "failed_indices": []}
    deps.objects.write(PREFIX + "runs/scoring-r0/stats.json", json.dumps(stats).encode())
    with pytest.raises(InputInvalid, match="no failed shards"):
        _plan(deps, _run(retry_of="scoring-r0"))
    with pytest.raises(InputInvalid, match=r"out of range 0\.\.9"):
        _plan(deps, _run(retry_of="scoring-r0", indices=[3, 12]))
    retry = _plan(deps, _run(retry_of="scoring-r0", indices=[7, 3, 3]))
    assert retry.shards.indices == [3, 7]
    assert retry.submit["ArrayProperties"] == {"Size": 2}
    assert json.loads(deps.objects.read(PREFIX + "runs/scoring-r1/index-map.json")) == [3, 7]


def test_children_map_back_to_their_shards_and_item_counts() -> None:
    shards = Shards(
        item_count=25, items_per_child=10, children=2, manifest_uri=None, output_uri="s3://b/o/", indices=[0, 2]
    )
    described = [
        {"jobId": "j:0", "status": "SUCCEEDED", "startedAt": 0, "stoppedAt": 40_000},
        {"jobId": "j:1", "status": "FAILED", "startedAt": 0, "stoppedAt": 5_000},
    ]
    runs = child_runs(shards, True, "j", described)
    assert [(r.index, r.items, r.succeeded) for r in runs] == [(0, 10, True), (2, 5, False)]


def test_collect_reports_failed_shards_updates_the_profile_and_offers_a_retry() -> None:
    deps = _deps(
        {PREFIX + "batch.yaml": json.dumps(SPEC).encode()},
        [
            {"jobId": "job:0", "status": "SUCCEEDED", "startedAt": 0, "stoppedAt": 45_000},
            {"jobId": "job:1", "status": "FAILED", "startedAt": 0, "stoppedAt": 9_000},
            {"jobId": "job:2", "status": "SUCCEEDED", "startedAt": 0, "stoppedAt": 45_000},
            {"jobId": "job:3", "status": "SUCCEEDED", "startedAt": 1_000, "stoppedAt": 46_000},
        ],
    )
    run = _run(item_count=60)
    planned = _plan(deps, run)
    assert (planned.shards.children, planned.shards.items_per_child) == (4, 15)  # one wave on the 4 slots
    stats = collect_batch_stats(
        CollectInput(
            input=run,
            planned=planned,
            job={"JobId": "job"},
            restore_error={"Error": "Batch.ClientException", "Cause": "x"},
        ),
        deps,
    )
    assert stats.status == "PARTIAL"
    assert stats.failed_indices == [1]
    assert stats.retry == {"profile": "scoring", "retry_of": "scoring-r1"}
    assert "was not restored" in stats.message
    assert stats.per_item_seconds_after == pytest.approx(1.0)
    assert deps.profiles.get("scoring") is not None
    saved = json.loads(deps.objects.read(stats.stats_uri))
    assert saved["failed_indices"] == [1]


CHILDREN: list[Mapping[str, Any]] = [
    {"jobId": f"job:{i}", "status": "SUCCEEDED", "startedAt": 0, "stoppedAt": 45_000} for i in range(4)
]


def _collect(deps: BatchDeps) -> Any:
    run = _run(item_count=60)
    return collect_batch_stats(CollectInput(input=run, planned=_plan(deps, run), job={"JobId": "job"}), deps)


def test_a_concurrent_run_of_the_profile_is_blended_in_not_overwritten() -> None:
    deps = _deps({PREFIX + "batch.yaml": json.dumps(SPEC).encode()}, CHILDREN)
    profiles: Profiles = deps.profiles  # type: ignore[assignment]
    _collect(deps)  # the first run creates the profile
    first = dict(profiles.items["scoring"])
    other_run = {**first, "runs": first["runs"] + 1, "per_item_seconds": 7.0}  # stored between our read and write

    def concurrent_write() -> None:
        profiles.items["scoring"] = other_run

    profiles.interleave.append(concurrent_write)
    _collect(deps)

    assert profiles.refused == 1  # the stale write was refused, then blended into what the other run stored
    stored = profiles.items["scoring"]
    assert stored["runs"] == first["runs"] + 2
    assert first["per_item_seconds"] < stored["per_item_seconds"] < 7.0


def test_a_profile_that_keeps_changing_is_a_retryable_error() -> None:
    deps = _deps({PREFIX + "batch.yaml": json.dumps(SPEC).encode()}, CHILDREN)
    profiles: Profiles = deps.profiles  # type: ignore[assignment]
    _collect(deps)

    def bump() -> None:
        profiles.items["scoring"] = {**profiles.items["scoring"], "runs": profiles.items["scoring"]["runs"] + 1}

    profiles.interleave.extend([bump] * use_cases.PROFILE_WRITE_ATTEMPTS)
    with pytest.raises(ConcurrentUpdate, match="kept changing"):
        _collect(deps)
    assert profiles.refused == use_cases.PROFILE_WRITE_ATTEMPTS


def test_start_needs_the_state_machine_arn() -> None:
    deps = _deps({})
    with pytest.raises(InputInvalid) as exc:
        use_cases.start_batch_run(_run(), deps)
    assert exc.value.errors[0].field == "BATCH_STATE_MACHINE_ARN"

"""AWS Batch array jobs (and single jobs with mlcp's shard contract) with a realistic lifecycle on simulated time.

``submit_job`` with ``arrayProperties`` creates the parent and the children ``<jobId>:<index>`` in moto without
starting moto's Docker threads; each child takes ``batch_child_duration(job_name, index)`` seconds (default
``durations.batch_child``), or what its shard costs under the job definition's :class:`BatchWork` when the job
follows the shard contract, and goes SUBMITTED → PENDING → RUNNABLE → STARTING → RUNNING → SUCCEEDED (or FAILED
when ``faults.job_failure("<job name>:<index>")`` says so, half-way through). Children run as many at a time as the
queue's compute environments have vCPUs for (``batch_parallelism`` when the capacity is unknown). The parent is
PENDING, RUNNABLE while its children wait, RUNNING once one started, SUCCEEDED when all succeeded and FAILED when all
ended and any failed. ``describe_jobs`` reports ``arrayProperties.statusSummary``, ``startedAt`` and ``stoppedAt``
in epoch ms; ``terminate_job`` fails the children still running, ``cancel_job`` those not started. Jobs without
``arrayProperties`` or the shard contract keep moto's own (Docker) behaviour.

A job whose container command is the reference worker's (``python worker.py``) runs for real instead
(:mod:`.batch_workers`): each child is a local process of examples/batch/worker.py, ``batch_worker_parallelism`` at a
time; it is RUNNABLE until its process starts, RUNNING while it runs, then SUCCEEDED (exit code 0) or FAILED
("Essential container in task exited", ``container.exitCode``); its output goes to the CloudWatch Logs group
``/aws/batch/job``, stream ``<job definition>/default/<job id>`` (``container.logStreamName``). Its ``startedAt`` is
the submission + ``batch_startup`` + the real seconds it queued, ``stoppedAt`` adds the real seconds it ran.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from moto.batch.models import BatchBackend
from moto.batch.models import Job as BatchJob

from mlcp_cli.local.backends.batch_workers import (
    LOG_GROUP,
    BatchWorkers,
    WorkerRun,
    batch_environment,
    cloud_environment,
    container_environment,
    runs_reference_worker,
)
from mlcp_cli.local.backends.randomness import unit_hash
from mlcp_cli.local.backends.routing import Handler
from mlcp_cli.local.backends.script_jobs import write_log
from mlcp_cli.local.backends.settings import JobSettings
from mlcp_cli.local.backends.storage import read_s3

BatchChildDuration = Callable[[str, int], float]
"""(array job name, child index) -> simulated seconds the child runs."""

_ENDED: Final = ("SUCCEEDED", "FAILED")
_STARTED: Final = ("RUNNING", "SUCCEEDED", "FAILED")
_SUMMARY: Final = ("STARTING", "FAILED", "RUNNING", "SUCCEEDED", "RUNNABLE", "SUBMITTED", "PENDING")


@dataclass(frozen=True)
class BatchWork:
    """The cost model of a batch worker that follows mlcp's shard contract (MLCP_ITEMS_PER_CHILD, MLCP_ITEM_COUNT,
    MLCP_INDEX_MAP_URI in its environment): a child runs ``startup + items x per_item x (1 ± noise)`` seconds, the
    noise fixed by (job name, index) so runs are reproducible."""

    per_item_seconds: float = 0.5
    startup_seconds: float = 30.0
    noise: float = 0.05

    def seconds(self, job_name: str, index: int, items: int) -> float:
        jitter = 1.0 + self.noise * (2.0 * unit_hash(job_name, index, "batch-noise") - 1.0)
        return self.startup_seconds + items * self.per_item_seconds * jitter


class BatchSettings(JobSettings, Protocol):
    """The Batch settings of a JobBackend (a test may change them on a live backend)."""

    batch_child_duration: BatchChildDuration
    batch_parallelism: int
    batch_work: dict[str, BatchWork]  # job definition name -> cost model
    batch_work_default: BatchWork  # for any other job with the shard contract
    batch_worker_script: Path  # what a ``python worker.py`` container runs (examples/batch/worker.py)
    batch_worker_parallelism: int  # reference-worker children running at once
    batch_endpoint: Callable[[], str] | None  # the local cloud's endpoint for worker processes (None: cost model)


def _no_start(self: threading.Thread) -> None:
    """Stands in for ``Thread.start`` of moto's Batch jobs: array children run on the clock, not in Docker."""


@dataclass
class _BatchChild:
    job: BatchJob
    index: int
    submitted: float
    started: float
    end: float
    failure: str | None
    terminated: float | None = None
    reason: str | None = None
    worker: WorkerRun | None = None  # a reference-worker child: its real process (module docstring)
    logged: bool = False

    @property
    def stopped(self) -> float:
        return self.end if self.terminated is None else min(self.terminated, self.end)


@dataclass
class _BatchArray:
    parent: BatchJob
    backend: BatchBackend
    created: float
    children: list[_BatchChild]
    single: bool = False  # a non-array job with the shard contract: the job is its own only "child"


def _parent_status(statuses: list[str]) -> str:
    """SUCCEEDED when every child succeeded, FAILED when all ended, RUNNING once one started, RUNNABLE while they
    wait, else PENDING."""
    seen = set(statuses)
    if seen and seen <= {"SUCCEEDED"}:
        return "SUCCEEDED"
    if seen and seen <= set(_ENDED):
        return "FAILED"
    if seen & set(_STARTED):
        return "RUNNING"
    if seen & {"RUNNABLE", "STARTING"}:
        return "RUNNABLE"
    return "PENDING"


def _environment(p: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(e.get("name")): str(e.get("value")) for e in (p.get("container_overrides") or {}).get("environment") or []
    }


def _create_without_docker(call: Callable[[], Any]) -> Any:
    """moto's parent + children records, without starting their Docker threads."""
    original_start = BatchJob.start
    try:
        BatchJob.start = _no_start
        return call()
    finally:
        BatchJob.start = original_start


class BatchArrays:
    """Batch array jobs on moto, on simulated time (module docstring)."""

    def __init__(self, settings: BatchSettings) -> None:
        self._settings = settings
        self._arrays: dict[tuple[str, str, str], _BatchArray] = {}
        self._processes: BatchWorkers | None = None

    @property
    def workers(self) -> BatchWorkers:
        """The reference-worker processes (started on first use, with the settings of that moment)."""
        if self._processes is None:
            settings = self._settings
            self._processes = BatchWorkers(settings.batch_worker_script, settings.batch_worker_parallelism)
        return self._processes

    def close(self) -> None:
        """Kill the reference-worker processes still running (the local cloud is shutting down)."""
        if self._processes is not None:
            self._processes.close()
            self._processes = None

    def handlers(self) -> dict[str, Handler]:
        return {
            "submit_job": self._api_submit_job,
            "describe_jobs": self._api_describe_jobs,
            "list_jobs": self._api_list_jobs,
            "terminate_job": self._api_terminate_job,
            "cancel_job": self._api_cancel_job,
        }

    def settle_all(self, now: float, backend: BatchBackend | None = None) -> None:
        for array in list(self._arrays.values()):
            if backend is None or array.backend is backend:
                self._settle_array(array, now)

    # -- submitting ------------------------------------------------------------------------------------------------

    def _api_submit_job(self, backend: BatchBackend, call: Callable[[], Any], p: dict[str, Any]) -> Any:
        size = int((p.get("array_properties") or {}).get("size") or 0)
        env = _environment(p)
        sharded = "MLCP_ITEMS_PER_CHILD" in env and "MLCP_ITEM_COUNT" in env
        real = self._reference_worker(backend, p)
        if size <= 0 and not sharded and not real:
            return call()  # a single job outside the shard contract: moto's own (Docker) behaviour
        result = _create_without_docker(call)
        _, job_id, _ = result
        parent = backend._jobs[job_id]
        now = self._settings.clock.seconds()
        child_jobs = list(parent._child_jobs or []) if size > 0 else [parent]
        if real:
            children = self._start_workers(backend, parent, child_jobs, is_array=size > 0, p=p, now=now)
        else:
            seconds = self._work_of(backend, p, env) if sharded else self._settings.batch_child_duration
            slots = self._slots(backend, p)
            children = self._plan_children(
                str(p["job_name"]), child_jobs, is_array=size > 0, seconds=seconds, slots=slots, now=now
            )
        parent.job_created_at = self._settings.timestamp(now)
        parent._transitions = []
        array = _BatchArray(parent, backend, now, children, single=size <= 0)
        self._arrays[(backend.account_id, backend.region_name, job_id)] = array
        self._settle_array(array, now)
        return result

    def _plan_children(
        self,
        name: str,
        child_jobs: list[BatchJob],
        *,
        is_array: bool,
        seconds: Callable[[str, int], float],
        slots: int,
        now: float,
    ) -> list[_BatchChild]:
        """Each child on the first free lane of ``slots``: it starts after the lane frees up and its startup."""
        children: list[_BatchChild] = []
        lanes = [now] * min(slots, len(child_jobs))
        for child_job in child_jobs:
            index = int(child_job.array_properties["index"]) if is_array else 0
            lane = min(range(len(lanes)), key=lambda i: (lanes[i], i))
            started = lanes[lane] + self._settings.durations.batch_startup
            duration = max(0.0, float(seconds(name, index)))
            failure = self._settings.faults.job_failure(f"{name}:{index}")
            end = started + (0.5 * duration if failure is not None else duration)
            lanes[lane] = end
            child_job.job_created_at = self._settings.timestamp(now)
            child_job._transitions = []  # moto's ManagedState would otherwise jump to RUNNING when read
            children.append(_BatchChild(child_job, index, now, started, end, failure))
        return children

    def _reference_worker(self, backend: BatchBackend, p: dict[str, Any]) -> bool:
        """Whether the job's container command is the reference worker's (and the local cloud has an endpoint for
        its processes): the request's ``containerOverrides.command``, else the job definition's."""
        if self._settings.batch_endpoint is None:
            return False
        override = (p.get("container_overrides") or {}).get("command")
        if override:
            return runs_reference_worker(override)
        definition = backend.get_job_definition(str(p.get("job_def_id") or ""))
        properties = getattr(definition, "container_properties", None) or {}
        return runs_reference_worker(properties.get("command"))

    def _start_workers(
        self,
        backend: BatchBackend,
        parent: BatchJob,
        child_jobs: list[BatchJob],
        *,
        is_array: bool,
        p: dict[str, Any],
        now: float,
    ) -> list[_BatchChild]:
        """Each child as a reference-worker process (module docstring), queued on :attr:`workers`."""
        endpoint = self._settings.batch_endpoint() if self._settings.batch_endpoint is not None else ""
        properties = parent.job_definition.container_properties or {}
        overrides = (p.get("container_overrides") or {}).get("environment") or []
        base = {
            **container_environment(properties.get("environment") or [], overrides),
            **cloud_environment(endpoint, backend.region_name),
        }
        children: list[_BatchChild] = []
        for child_job in child_jobs:
            index = int(child_job.array_properties["index"]) if is_array else 0
            aws = batch_environment(child_job.job_id, parent.job_queue.name, index if is_array else None)
            child_job.job_created_at = self._settings.timestamp(now)
            child_job._transitions = []
            run = WorkerRun(child_job.job_id, {**base, **aws})
            children.append(_BatchChild(child_job, index, now, math.inf, math.inf, None, worker=run))
        self.workers.submit([c.worker for c in children if c.worker is not None])
        return children

    def _work_of(self, backend: BatchBackend, p: dict[str, Any], env: Mapping[str, str]) -> Callable[[str, int], float]:
        """Child seconds from the shard contract: items of the child's shard x the job definition's cost model."""
        definition = str(p.get("job_def_id") or "").rsplit("/", 1)[-1].split(":", 1)[0]
        model = self._settings.batch_work.get(definition, self._settings.batch_work_default)
        per_child, total = int(env["MLCP_ITEMS_PER_CHILD"]), int(env["MLCP_ITEM_COUNT"])
        index_map: list[int] | None = None
        if env.get("MLCP_INDEX_MAP_URI"):
            blob = read_s3(backend, env["MLCP_INDEX_MAP_URI"])
            index_map = [int(i) for i in json.loads(blob)] if blob else None

        def seconds(name: str, index: int) -> float:
            shard = index_map[index] if index_map is not None and index < len(index_map) else index
            items = max(0, min(per_child, total - shard * per_child))
            return model.seconds(name, shard, items)

        return seconds

    def _slots(self, backend: BatchBackend, p: dict[str, Any]) -> int:
        """Children running at once: the queue's compute environments' maxvCpus / the child's vCPUs (AWS places
        jobs while capacity lasts); ``batch_parallelism`` when the queue or its capacity is unknown."""
        queue = backend.get_job_queue(str(p.get("job_queue") or ""))
        capacity = 0 if queue is None else sum(_max_vcpus(environment) for environment in queue.environments)
        if capacity <= 0:
            return self._settings.batch_parallelism
        return max(1, int(capacity // _child_vcpus(p)))

    # -- the lifecycle ---------------------------------------------------------------------------------------------

    def _worker_status(self, child: _BatchChild, run: WorkerRun) -> str:
        """A reference-worker child's status from its process; its times from the real seconds it queued and ran."""
        process = run.process
        if process is not None:
            child.started = child.submitted + self._settings.durations.batch_startup + (process.started - run.queued)
        if child.terminated is not None:
            return "FAILED"
        ended = run.exit
        if process is None or ended is None:
            return "RUNNABLE" if process is None else "RUNNING"
        child.end = child.started + ended.seconds
        if ended.code != 0:
            child.failure = "Essential container in task exited"
        return "SUCCEEDED" if ended.code == 0 else "FAILED"

    def _child_status(self, child: _BatchChild, now: float) -> str:
        if child.worker is not None:
            return self._worker_status(child, child.worker)
        if child.terminated is not None and child.terminated <= now:
            return "FAILED"
        if now >= child.end:
            return "FAILED" if child.failure is not None else "SUCCEEDED"
        if now >= child.started:
            return "RUNNING"
        startup = self._settings.durations.batch_startup
        if now - child.submitted < 0.1 * startup:
            return "SUBMITTED"
        if now - child.submitted < 0.2 * startup:
            return "PENDING"
        if child.started - now <= 0.3 * startup:
            return "STARTING"
        return "RUNNABLE"  # waiting for a free slot (batch_parallelism) or for capacity

    def _show_child(self, child: _BatchChild, status: str, backend: BatchBackend) -> None:
        job = child.job
        job.status = status
        if status in _STARTED:
            started = child.started if child.terminated is None else min(child.started, child.terminated)
            job.job_started_at = self._settings.timestamp(started)
        if status in _ENDED:
            job.job_stopped = True
            job.job_stopped_at = self._settings.timestamp(child.stopped)
            job.exit_code = 0 if status == "SUCCEEDED" else 1
            if status == "FAILED":
                job.job_stopped_reason = child.reason or child.failure or "Essential container in task exited"
            if child.worker is not None:
                self._show_worker_exit(child, child.worker, backend)

    @staticmethod
    def _show_worker_exit(child: _BatchChild, run: WorkerRun, backend: BatchBackend) -> None:
        """The real exit code, and the output in CloudWatch Logs (once)."""
        ended = run.exit
        if ended is None or run.process is None:
            child.job.exit_code = None  # terminated before (or while) it ran
            return
        child.job.exit_code = ended.code
        if not child.logged:
            child.logged = True
            stream = f"{child.job.job_definition.name}/default/{child.job.job_id}"
            write_log(backend, LOG_GROUP, stream, ended.log, run.process.started_epoch)
            child.job.log_stream_name = stream

    def _show_parent(self, array: _BatchArray, statuses: list[str], now: float) -> None:
        parent = array.parent
        parent_status = _parent_status(statuses)
        parent.status = parent_status
        started = [c.started for c in array.children if self._child_status(c, now) in _STARTED]
        if started:
            parent.job_started_at = self._settings.timestamp(min(started))
        if parent_status in _ENDED:
            parent.job_stopped = True
            parent.job_stopped_at = self._settings.timestamp(max(c.stopped for c in array.children))
            if parent_status == "FAILED":
                failed = sum(1 for s in statuses if s == "FAILED")
                parent.job_stopped_reason = f"{failed} of {len(statuses)} child jobs failed"

    def _settle_array(self, array: _BatchArray, now: float) -> None:
        if array.backend._jobs.get(array.parent.job_id) is not array.parent:
            return
        statuses: list[str] = []
        for child in array.children:
            status = self._child_status(child, now)
            statuses.append(status)
            self._show_child(child, status, array.backend)
        if not array.single:  # a single job was its own only child
            self._show_parent(array, statuses, now)

    def _array_of(self, backend: BatchBackend, job_id: str) -> _BatchArray | None:
        array = self._arrays.get((backend.account_id, backend.region_name, job_id.split(":", maxsplit=1)[0]))
        if array is None or backend._jobs.get(array.parent.job_id) is not array.parent:
            return None
        return array

    # -- the other APIs --------------------------------------------------------------------------------------------

    def _describe(self, item: dict[str, Any], owner: _BatchArray, now: float) -> None:
        """What DescribeJobs adds: the parent's status summary, a child's index."""
        if owner.single:
            item["status"] = owner.parent.status
        elif item["jobId"] == owner.parent.job_id:
            summary = dict.fromkeys(_SUMMARY, 0)
            for child in owner.children:
                summary[self._child_status(child, now)] += 1
            item["arrayProperties"] = {"statusSummary": summary, "size": len(owner.children)}
            item["status"] = owner.parent.status
        else:
            item["arrayProperties"] = {"index": int(item["jobId"].rsplit(":", 1)[1])}

    def _api_describe_jobs(self, backend: BatchBackend, call: Callable[[], Any], _p: dict[str, Any]) -> Any:
        now = self._settings.clock.seconds()
        self.settle_all(now, backend)
        described: list[dict[str, Any]] = call()
        for item in described:
            owner = self._array_of(backend, str(item.get("jobId", "")))
            if owner is not None:
                self._describe(item, owner, now)
                job = backend._jobs.get(str(item["jobId"]))
                if job is not None and job.exit_code is not None and item.get("status") in _ENDED:
                    item.setdefault("container", {})["exitCode"] = job.exit_code  # moto's describe drops it
        return described

    def _api_list_jobs(self, backend: BatchBackend, call: Callable[[], Any], _p: dict[str, Any]) -> Any:
        self.settle_all(self._settings.clock.seconds(), backend)
        return call()

    def _end_children(
        self, array: _BatchArray, job_id: str, reason: str, now: float, ends: Callable[[_BatchChild], bool]
    ) -> None:
        """End at ``now`` with ``reason`` the children of ``job_id`` (the parent: all) for which ``ends`` holds."""
        for child in array.children:
            if job_id in (array.parent.job_id, child.job.job_id) and ends(child):
                child.terminated = now
                child.reason = reason
                if child.worker is not None:
                    child.worker.stop()
        self._settle_array(array, now)

    def _api_terminate_job(self, backend: BatchBackend, call: Callable[[], Any], p: dict[str, Any]) -> Any:
        job_id = str(p.get("job_id") or "")
        array = self._array_of(backend, job_id)
        if array is None or not p.get("reason"):
            return call()  # not ours, or moto's validation error
        now = self._settings.clock.seconds()
        self._settle_array(array, now)  # a reference-worker child's end is known once its status is read
        self._end_children(array, job_id, str(p["reason"]), now, lambda child: child.end > now)  # still running
        return None

    def _api_cancel_job(self, backend: BatchBackend, call: Callable[[], Any], p: dict[str, Any]) -> Any:
        job_id = str(p.get("job_id") or "")
        array = self._array_of(backend, job_id)
        if array is None or not p.get("reason"):
            return call()
        now = self._settings.clock.seconds()
        self._settle_array(array, now)
        self._end_children(array, job_id, str(p["reason"]), now, lambda child: child.started > now)  # not started yet
        return None


def _max_vcpus(environment: Any) -> int:
    resources = environment.compute_resources or {}
    return int(resources.get("maxvCpus") or 0)


def _child_vcpus(p: Mapping[str, Any]) -> float:
    vcpus = 1.0
    for requirement in (p.get("container_overrides") or {}).get("resourceRequirements") or []:
        if requirement.get("type") == "VCPU":
            vcpus = float(requirement["value"])
    return vcpus

"""The local job backend: SageMaker (and AWS Batch array) jobs with a realistic lifecycle on simulated time.

:class:`JobBackend` routes moto's SageMaker and Batch job APIs (:mod:`.routing`) to the lifecycles of
:mod:`.sagemaker_jobs` (processing, training, compilation), :mod:`.sagemaker_tuning` (tuning jobs and their trials)
and :mod:`.batch` (array jobs), while it is installed; every time is on the :class:`~.clock.SimClock`. Jobs are
brought up to date lazily, whenever they are described or listed (or :meth:`JobBackend.settle` is called); nothing
runs in the background. Every public call takes one lock: the Step Functions interpreter polls describe* from many
threads at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from moto.sagemaker.models import SageMakerModelBackend

from mlcp_cli.local.backends import routing
from mlcp_cli.local.backends.batch import BatchArrays, BatchChildDuration, BatchWork
from mlcp_cli.local.backends.clock import SimClock
from mlcp_cli.local.backends.routing import MOTO_ADDED_OPERATIONS, Handler
from mlcp_cli.local.backends.sagemaker_jobs import SageMakerJobs
from mlcp_cli.local.backends.sagemaker_tuning import TuningJobs
from mlcp_cli.local.backends.settings import JobDurations
from mlcp_cli.local.backends.timelines import Tuning
from mlcp_cli.local.faults import Faults

__all__ = [
    "MOTO_ADDED_OPERATIONS",
    "BatchChildDuration",
    "BatchWork",
    "JobBackend",
    "JobDurations",
    "JobResult",
    "active_backend",
]

WORKER = Path(__file__).resolve().parents[4] / "examples" / "batch" / "worker.py"
"""The reference batch worker of the repository (what the demo's ``python worker.py`` job definition runs)."""

# List* calls settle every SageMaker job of the backend they list (tuning jobs first: they launch and stop trials).
_SAGEMAKER_LISTS = (
    "list_processing_jobs",
    "list_training_jobs",
    "list_hyper_parameter_tuning_jobs",
    "list_compilation_jobs",
)


@dataclass(frozen=True)
class JobResult:
    """What a job produced so far (for tests and the demo): status, final metrics and the artifact written."""

    name: str
    kind: str  # "processing" | "training" | "compilation"
    status: str
    metrics: Mapping[str, float]
    artifact_uri: str | None
    artifact_bytes: int | None  # None until the artifact is written to S3


def active_backend() -> JobBackend | None:
    """The installed :class:`JobBackend`, if any."""
    backend = routing.active()
    return backend if isinstance(backend, JobBackend) else None


class JobBackend:
    """Realistic SageMaker (and Batch array) jobs on moto, on simulated time. See :mod:`mlcp_cli.local.backends`."""

    def __init__(
        self,
        clock: SimClock,
        faults: Faults,
        durations: JobDurations | None = None,
        *,
        batch_child_duration: BatchChildDuration | None = None,
        batch_parallelism: int = 16,
    ) -> None:
        self.clock = clock
        self.faults = faults
        self.durations = durations or JobDurations()
        self.batch_child_duration: BatchChildDuration = batch_child_duration or (
            lambda _name, _index: self.durations.batch_child
        )
        self.batch_parallelism = max(1, batch_parallelism)
        # job definition name -> cost model; ``batch_work_default`` for any other job with the shard contract
        self.batch_work: dict[str, BatchWork] = {}
        self.batch_work_default = BatchWork()
        # the reference batch worker run for real (mlcp_cli.local.backends.batch_workers): the script a
        # ``python worker.py`` container runs, children at once, the endpoint its processes reach the cloud on
        self.batch_worker_script: Path = WORKER
        self.batch_worker_parallelism = 2
        self.batch_endpoint: Callable[[], str] | None = None
        self._lock = threading.RLock()
        self._epoch = clock.now() - timedelta(seconds=clock.seconds())
        self._sagemaker = SageMakerJobs(self, self._advance_tuning, on_script_exit=self.settle)
        self._tuning = TuningJobs(self, self._sagemaker)
        self._batch = BatchArrays(self)
        self._handlers: dict[str, Handler] = {
            **self._sagemaker.handlers(),
            **self._tuning.handlers(),
            **self._batch.handlers(),
            **dict.fromkeys(_SAGEMAKER_LISTS, self._api_list_sagemaker_jobs),
        }

    # -- installation -------------------------------------------------------------------------------------------------

    def install(self) -> JobBackend:
        """Route moto's SageMaker (and Batch) job APIs through this backend until :meth:`uninstall`."""
        routing.install(self)
        return self

    def uninstall(self) -> None:
        """Give moto its own behaviour back (jobs created meanwhile keep what they showed last); kill the script
        jobs' processes still running."""
        routing.uninstall(self)
        self._sagemaker.close()
        self._batch.close()

    @property
    def installed(self) -> bool:
        return routing.active() is self

    def __enter__(self) -> JobBackend:
        return self.install()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.uninstall()

    # -- public helpers -----------------------------------------------------------------------------------------------

    def settle(self) -> None:
        """Bring every job up to the clock: statuses, and the artifacts of jobs that completed meanwhile."""
        with self._lock:
            now = self.clock.seconds()
            self._settle_sagemaker(now)
            self._batch.settle_all(now)

    def result(self, job_name: str, kind: str | None = None) -> JobResult | None:
        """Status, final metrics and artifact of a job this backend runs (None if it does not know the job)."""
        with self._lock:
            now = self.clock.seconds()
            job = self._sagemaker.find(job_name, kind)
            if job is None:
                return None
            self._sagemaker.refresh(job, now)
            status = job.state(now).status
            return JobResult(
                name=job.name,
                kind=job.kind,
                status=status,
                metrics=dict(job.outcome.metrics) if job.reports_metrics(status) else {},
                artifact_uri=job.outcome.artifact_uri,
                artifact_bytes=job.artifact_bytes,
            )

    def wait(self, job_name: str, timeout: float = 60.0) -> JobResult | None:
        """Wait (wall seconds) until a script job's process has ended, then its result (for tests and benches)."""
        with self._lock:
            job = self._sagemaker.find(job_name)
        if job is not None and job.run is not None and job.run.process is not None:
            job.run.process.wait(timeout)
        return self.result(job_name)

    def wait_batch(self, timeout: float = 60.0) -> bool:
        """Wait (wall seconds) until no reference-worker child is queued or running (for tests and the demo)."""
        return self._batch.workers.wait(timeout)

    def timestamp(self, t: float) -> datetime:
        """Simulated seconds -> a naive UTC datetime (what moto stores)."""
        return (self._epoch + timedelta(seconds=t)).astimezone(UTC).replace(tzinfo=None)

    # -- routing ------------------------------------------------------------------------------------------------------

    def route(self, name: str, backend: Any, call: Callable[[], Any], params: dict[str, Any]) -> Any:
        """Answer moto's ``name`` call (see :mod:`.routing`) with the lifecycle that owns it, under the lock."""
        handler = self._handlers[name]
        with self._lock:
            return handler(backend, call, params)

    def _advance_tuning(self, tuning: Tuning, now: float) -> None:
        self._tuning.advance(tuning, now)

    def _settle_sagemaker(self, now: float, backend: SageMakerModelBackend | None = None) -> None:
        self._tuning.settle_all(now, backend)
        self._sagemaker.settle_all(now, backend)

    def _api_list_sagemaker_jobs(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], _p: dict[str, Any]
    ) -> Any:
        self._settle_sagemaker(self.clock.seconds(), backend)
        return call()

"""SageMaker processing, training and compilation jobs with a realistic lifecycle on simulated time.

moto's SageMaker records jobs but does not run them: every job is ``Completed`` the moment it is created, training
jobs have no metrics and write no model. :class:`SageMakerJobs` plans each job as a timeline (:mod:`.timelines`)
when it is created, shows it on moto's record as of the clock whenever it is described or listed
(:mod:`.sagemaker_records`) and writes its outputs when it completes (:mod:`.sagemaker_artifacts`).
``faults.job_failure(name)`` is asked once, at creation: a failing job ends ``Failed`` half-way through its work with
that ``FailureReason``.

Durations (:class:`~.settings.JobDurations`, simulated seconds): processing 300, compression training 420,
compilation 240; a plain training job takes ``training * (0.7 + 0.6 * complexity)`` (see :mod:`.landscape`). A
training job with ``mlcp_method``, ``mlcp_target_sparsity`` or ``mlcp_dtype`` is a compression job
(:mod:`.sagemaker_compression`).

While the backend is active, two more moto differences are fixed: CreateTrainingJob / CreateProcessingJob reject a
name that exists (moto overwrote the job), and DescribeTrainingJob returns the request's ``MetricDefinitions`` (moto
replaced them with a placeholder). StopTrainingJob and StopCompilationJob, which moto lacks, are routed here too
(:mod:`.routing`).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from moto.sagemaker.exceptions import ResourceNotFound, ValidationError
from moto.sagemaker.models import SageMakerModelBackend

from mlcp_cli.local.backends import sagemaker_records
from mlcp_cli.local.backends.landscape import Landscape, metric_names, payload_bytes
from mlcp_cli.local.backends.routing import Handler
from mlcp_cli.local.backends.sagemaker_compression import (
    COMPRESSION_HYPERPARAMETERS,
    compilation_outcome,
    compression_outcome,
)
from mlcp_cli.local.backends.settings import JobSettings
from mlcp_cli.local.backends.timelines import (
    Job,
    Outcome,
    Tuning,
    compilation_events,
    processing_events,
    training_events,
)

_RUNNING: Final = ("InProgress", "INPROGRESS", "STARTING")
STOP_REJECTED: Final = "The request was rejected because the {what} is in status {status}."


class SageMakerJobs:
    """Processing, training and compilation jobs on moto, on simulated time (module docstring)."""

    def __init__(self, settings: JobSettings, advance_tuning: Callable[[Tuning, float], None]) -> None:
        self._settings = settings
        self._advance_tuning = advance_tuning  # a trial is as up to date as its tuning job's scheduler
        self._jobs: dict[tuple[str, str, str, str], Job] = {}

    def handlers(self) -> dict[str, Handler]:
        """The APIs this class answers (the List* calls are the JobBackend's: they settle tuning jobs too)."""
        return {
            "create_processing_job": self._api_create_processing_job,
            "describe_processing_job": self._api_describe_processing_job,
            "stop_processing_job": self._api_stop_processing_job,
            "create_training_job": self._api_create_training_job,
            "describe_training_job": self._api_describe_training_job,
            "stop_training_job": self._api_stop_training_job,
            "create_compilation_job": self._api_create_compilation_job,
            "describe_compilation_job": self._api_describe_compilation_job,
            "stop_compilation_job": self._api_stop_compilation_job,
        }

    # -- the jobs this backend drives -----------------------------------------------------------------------------

    def _key(self, backend: Any, kind: str, name: str) -> tuple[str, str, str, str]:
        return (backend.account_id, backend.region_name, kind, name)

    def _add(self, job: Job) -> None:
        self._jobs[self._key(job.backend, job.kind, job.name)] = job
        self.settle(job, job.created)

    @staticmethod
    def _current(job: Job) -> bool:
        """Whether moto still holds the record this job drives (moto's reset() and deletes forget jobs)."""
        backend = job.backend
        if job.kind == "training":
            return backend.training_jobs.get(job.name) is job.fake
        if job.kind == "processing":
            return backend.processing_jobs.get(job.name) is job.fake
        return backend.compilation_jobs.get(job.name) is job.fake

    def _job(self, backend: SageMakerModelBackend, kind: str, name: str) -> Job | None:
        job = self._jobs.get(self._key(backend, kind, name))
        if job is None:
            return None
        if not self._current(job):
            del self._jobs[self._key(backend, kind, name)]
            return None
        return job

    def find(self, job_name: str, kind: str | None = None) -> Job | None:
        """The job of that name (and kind) that moto still holds."""
        for (_, _, job_kind, name), job in self._jobs.items():
            if name == job_name and (kind is None or kind == job_kind) and self._current(job):
                return job
        return None

    def settle(self, job: Job, at: float) -> None:
        sagemaker_records.settle(job, at, self._settings.timestamp)

    def refresh(self, job: Job, now: float) -> None:
        """Bring a job up to ``now``, a trial after its tuning job's scheduler (which may stop it)."""
        if job.tuning is not None:
            self._advance_tuning(job.tuning, now)
        self.settle(job, now)

    def settle_all(self, now: float, backend: SageMakerModelBackend | None = None) -> None:
        for job in list(self._jobs.values()):
            if (backend is None or job.backend is backend) and self._current(job):
                self.settle(job, now)

    def stop(self, job: Job, at: float) -> None:
        job.stop(at, self._settings.durations.stopping)

    def _stop_job(self, job: Job, what: str) -> None:
        now = self._settings.clock.seconds()
        self.refresh(job, now)
        status = job.state(now).status
        if status not in _RUNNING:
            raise ValidationError(message=STOP_REJECTED.format(what=what, status=status))
        self.stop(job, now)
        self.settle(job, now)

    def new_training(
        self,
        backend: SageMakerModelBackend,
        fake: Any,
        *,
        created: float,
        duration: float,
        outcome: Outcome,
        failure: str | None,
        tuning: Tuning | None = None,
    ) -> Job:
        max_runtime = (fake.stopping_condition or {}).get("MaxRuntimeInSeconds")
        job = Job(
            kind="training",
            name=fake.training_job_name,
            fake=fake,
            backend=backend,
            created=created,
            events=training_events(created, duration, failure, float(max_runtime) if max_runtime is not None else None),
            start_marker="Downloading",
            failure=failure,
            spot=bool(fake.enable_managed_spot_training),
            outcome=outcome,
            tuning=tuning,
        )
        outcome.artifact_uri = fake.model_artifacts["S3ModelArtifacts"]
        fake.creation_time = self._settings.timestamp(created)
        if tuning is not None:
            fake.tuning_job_arn = tuning.fake.arn
        self._add(job)
        return job

    # -- processing -----------------------------------------------------------------------------------------------

    def _api_create_processing_job(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        name = p["processing_job_name"]
        if name in backend.processing_jobs:
            raise ValidationError(
                message="Job name must be unique within an AWS account and region, and a job with this name "
                f"already exists ({backend.processing_jobs[name].arn})"
            )
        fake = call()
        now = self._settings.clock.seconds()
        failure = self._settings.faults.job_failure(name)
        events = processing_events(now, self._settings.durations.processing, failure)
        self._add(Job("processing", name, fake, backend, now, events, "Running", failure=failure))
        return fake

    def _api_describe_processing_job(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        job = self._job(backend, "processing", p["processing_job_name"])
        if job is not None:
            self.settle(job, self._settings.clock.seconds())
        return call()

    def _api_stop_processing_job(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        job = self._job(backend, "processing", p["processing_job_name"])
        if job is None:
            return call()
        self._stop_job(job, "processing job")
        return None

    # -- training -------------------------------------------------------------------------------------------------

    def _api_create_training_job(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        name = p["training_job_name"]
        if name in backend.training_jobs:
            raise ValidationError(
                message="Training job names must be unique within an AWS account and region, and a training job "
                f"with this name already exists ({backend.training_jobs[name].arn})"
            )
        algorithm = copy.deepcopy(p.get("algorithm_specification") or {})
        fake = call()
        fake.algorithm_specification = algorithm  # moto replaces the metric definitions with its own
        now = self._settings.clock.seconds()
        failure = self._settings.faults.job_failure(name)
        hyper = {str(k): str(v) for k, v in (p.get("hyper_parameters") or {}).items()}
        if any(k in hyper for k in COMPRESSION_HYPERPARAMETERS):
            outcome, read_error = compression_outcome(
                backend, name, hyper, p, algorithm=algorithm, faults=self._settings.faults
            )
            duration = self._settings.durations.compression
            failure = failure or read_error
        else:
            outcome, duration = self._training_outcome(hyper, algorithm)
        self.new_training(backend, fake, created=now, duration=duration, outcome=outcome, failure=failure)
        return fake

    def _training_outcome(self, hyper: dict[str, str], algorithm: Mapping[str, Any]) -> tuple[Outcome, float]:
        """A training job outside any tuning job: quality and size from a hash of its image and hyperparameters."""
        seed = json.dumps({"image": algorithm.get("TrainingImage"), "hp": hyper}, sort_keys=True)
        landscape = Landscape(seed, [], None, True)
        q = landscape.quality(hyper)
        complexity = landscape.complexity(hyper)
        outcome = Outcome(
            metrics=landscape.metrics(q, metric_names(algorithm)),
            payload=payload_bytes(complexity),
            meta={"hyperparameters": hyper},
        )
        return outcome, self._settings.durations.training_seconds(complexity)

    def _api_describe_training_job(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        job = self._job(backend, "training", p["training_job_name"])
        if job is not None:
            self.refresh(job, self._settings.clock.seconds())
        return call()

    def _api_stop_training_job(
        self, backend: SageMakerModelBackend, _call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        name = p["training_job_name"]
        job = self._job(backend, "training", name)
        if job is None:
            if name in backend.training_jobs:  # created while no backend was active: moto's job is Completed
                raise ValidationError(message=STOP_REJECTED.format(what="training job", status="Completed"))
            raise ResourceNotFound(message=f"Could not find training job '{name}'.")
        self._stop_job(job, "training job")
        return None

    # -- compilation ----------------------------------------------------------------------------------------------

    def _api_create_compilation_job(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        name = p["compilation_job_name"]
        arn = call()
        fake = backend.compilation_jobs[name]
        now = self._settings.clock.seconds()
        failure = self._settings.faults.job_failure(name)
        outcome, read_error = compilation_outcome(backend, p)
        failure = failure or read_error
        events = compilation_events(now, self._settings.durations.compilation, failure)
        fake.model_artifacts = {"S3ModelArtifacts": outcome.artifact_uri}
        self._add(Job("compilation", name, fake, backend, now, events, "INPROGRESS", failure=failure, outcome=outcome))
        return arn

    def _api_describe_compilation_job(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        job = self._job(backend, "compilation", p["compilation_job_name"])
        if job is None:
            return call()
        self.settle(job, self._settings.clock.seconds())
        return sagemaker_records.drop_none(call(), "FailureReason")

    def _api_stop_compilation_job(
        self, backend: SageMakerModelBackend, _call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        name = p["compilation_job_name"]
        job = self._job(backend, "compilation", name)
        if job is None:
            if name in backend.compilation_jobs:
                raise ValidationError(message=STOP_REJECTED.format(what="compilation job", status="COMPLETED"))
            raise ResourceNotFound(message=f"Could not find compilation job '{name}'.")
        self._stop_job(job, "compilation job")
        return None

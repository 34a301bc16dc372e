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

A script-mode training job (``sagemaker_program`` + ``sagemaker_submit_directory`` in its hyperparameters) and a
FrameworkProcessor processing job (``runproc.sh`` entry point and a ``code`` input) run as real local processes
(:mod:`.script_jobs`) unless a fault is injected for them: their times are the process's real seconds, their
metrics, model and failure reason the script's own.

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

from mlcp_cli.local.backends import sagemaker_records, script_jobs, script_mode
from mlcp_cli.local.backends.landscape import Landscape, lower_is_better, metric_names, payload_bytes
from mlcp_cli.local.backends.routing import Handler
from mlcp_cli.local.backends.sagemaker_compression import (
    COMPRESSION_HYPERPARAMETERS,
    compilation_outcome,
    compression_outcome,
)
from mlcp_cli.local.backends.settings import JobSettings
from mlcp_cli.local.backends.storage import read_s3
from mlcp_cli.local.backends.timelines import (
    OPEN,
    Event,
    Job,
    Outcome,
    Tuning,
    compilation_events,
    processing_events,
    script_events,
    training_events,
)

_RUNNING: Final = ("InProgress", "INPROGRESS", "STARTING")
STOP_REJECTED: Final = "The request was rejected because the {what} is in status {status}."


class SageMakerJobs:
    """Processing, training and compilation jobs on moto, on simulated time (module docstring)."""

    def __init__(
        self,
        settings: JobSettings,
        advance_tuning: Callable[[Tuning, float], None],
        on_script_exit: Callable[[], None] | None = None,
    ) -> None:
        self._settings = settings
        self._advance_tuning = advance_tuning  # a trial is as up to date as its tuning job's scheduler
        self._jobs: dict[tuple[str, str, str, str], Job] = {}
        self.runner = script_jobs.ScriptRunner(on_script_exit or (lambda: None))

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
        self.poll(job)
        sagemaker_records.settle(job, at, self._settings.timestamp)

    # -- script jobs (real processes) -----------------------------------------------------------------------------

    def poll(self, job: Job) -> bool:
        """Whether a script job's process has just been seen to end: its events, failure and outcome are set then
        (real seconds from its creation), its output goes to its CloudWatch Logs stream."""
        run: script_jobs.ScriptRun | None = job.run
        if run is None or run.closed:
            return False
        exit_ = run.exit()
        if exit_ is None:
            return False
        run.closed = True
        group = script_jobs.TRAINING_LOG_GROUP if job.kind == "training" else script_jobs.PROCESSING_LOG_GROUP
        if run.process is not None:
            stream = script_jobs.log_stream(job.name, run.process.started_epoch)
            script_jobs.write_log(job.backend, group, stream, exit_.log, run.process.started_epoch)
        if job.stop_requested is not None:  # StopTrainingJob / a tuning job's stop: its Stopping events stand
            return True
        result = script_jobs.result(run, exit_)
        end_run = job.created + run.setup_seconds + result.run_seconds
        events = [e for e in job.events if e.t != OPEN]
        if job.kind == "training" and result.status == "Completed":
            events.append(Event(end_run, "InProgress", "Uploading", "Uploading generated training model"))
        events.append(Event(end_run + result.upload_seconds, result.status, result.secondary, result.message))
        job.events = events
        job.failure = result.failure
        job.outcome.files = result.files
        job.outcome.metrics = self._degraded(job, result.metrics)
        objective = job.outcome.meta.get("objective_metric")
        if objective is not None and objective in job.outcome.metrics:
            kind = job.outcome.meta.get("objective_type") or ("Minimize" if lower_is_better(objective) else "Maximize")
            job.outcome.objective = (objective, kind, job.outcome.metrics[objective])
        return True

    def _degraded(self, job: Job, metrics: dict[str, float]) -> dict[str, float]:
        """An injected degradation (``faults.degradations``) lowers the objective a compression job reports."""
        objective = job.outcome.meta.get("objective_metric")
        drop = self._settings.faults.metric_drop(job.name) if job.tuning is None else 0.0
        if not drop or objective not in metrics:
            return metrics
        return {**metrics, objective: metrics[objective] + (drop if lower_is_better(objective) else -drop)}

    def new_script_training(
        self,
        backend: SageMakerModelBackend,
        fake: Any,
        hyper: dict[str, str],
        p: Mapping[str, Any],
        *,
        created: float,
        objective: tuple[str, str] | None,
        tuning: Tuning | None = None,
    ) -> Job:
        """A script-mode training job, started now as a local process (a trial when ``tuning`` is given)."""
        model_uri = str(fake.model_artifacts["S3ModelArtifacts"])
        run = self.runner.start_training(backend, fake.training_job_name, hyper, p, model_uri)
        meta: dict[str, Any] = {"hyperparameters": hyper, "script_mode": True}
        if objective is not None:
            meta.update(objective_metric=objective[0], objective_type=objective[1])
        if tuning is not None:
            meta["tuning_job"] = tuning.name
        job = Job(
            kind="training",
            name=fake.training_job_name,
            fake=fake,
            backend=backend,
            created=created,
            events=script_events("training", created, run.setup_seconds, run.failure),
            start_marker="Downloading",
            failure=run.failure,
            spot=False,  # billed for the real seconds it ran
            outcome=Outcome(artifact_uri=model_uri, meta=meta),
            tuning=tuning,
            run=run,
        )
        fake.creation_time = self._settings.timestamp(created)
        if tuning is not None:
            fake.tuning_job_arn = tuning.fake.arn
        self._add(job)
        return job

    def close(self) -> None:
        """Kill the script jobs' processes still running (the local cloud is shutting down)."""
        self.runner.close()

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
        if job.run is not None and job.run.process is not None:
            job.run.process.stop()
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
        runproc = _runproc(backend, p) if failure is None else None
        if runproc is not None:
            run = self.runner.start_processing(backend, name, p, runproc)
            events = script_events("processing", now, run.setup_seconds, run.failure)
            self._add(Job("processing", name, fake, backend, now, events, "Running", failure=run.failure, run=run))
            return fake
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
        if failure is None and script_mode.is_script_mode(hyper):
            objective = hyper.get("mlcp_objective_metric")
            target = None if objective is None else (str(script_mode.decode(objective)), "")
            self.new_script_training(backend, fake, hyper, {**p, "algorithm_specification": algorithm}, created=now,
                                     objective=target)  # fmt: skip
            return fake
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


def _runproc(backend: SageMakerModelBackend, p: Mapping[str, Any]) -> str | None:
    """The text of a FrameworkProcessor job's ``runproc.sh`` (the SageMaker Python SDK's shape: ``ContainerEntrypoint``
    ``["/bin/bash", ".../runproc.sh"]`` and an ``entrypoint`` input holding it); None for any other processing job."""
    entrypoint = (p.get("app_specification") or {}).get("ContainerEntrypoint") or []
    if not entrypoint or not str(entrypoint[-1]).endswith("runproc.sh"):
        return None
    script_name = str(entrypoint[-1]).rsplit("/", 1)[-1]
    for item in p.get("processing_inputs") or []:
        uri = (item.get("S3Input") or {}).get("S3Uri")
        if item.get("InputName") == "entrypoint" and uri:
            blob = read_s3(backend, str(uri).rstrip("/") + "/" + script_name)
            blob = blob if blob is not None else read_s3(backend, str(uri))
            return None if blob is None else blob.decode(errors="replace")
    return None

"""SageMaker hyperparameter tuning jobs that really launch their trials, on simulated time.

moto's tuning job is ``Completed`` at once, reports a placeholder ``BestTrainingJob`` and launches no trials.
:class:`TuningJobs` runs a scheduler instead, brought up to the clock whenever the tuning job or one of its trials is
described or listed: the first trials launch ``tuning_startup`` seconds after creation, then one more each time a
slot of ``MaxParallelTrainingJobs`` frees up, until ``MaxNumberOfTrainingJobs`` (:mod:`.tuning_strategies` chooses
their hyperparameters). Trials are real moto training jobs named ``<tuning job>-<NNN>-<8 hex>``, driven by
:class:`~.sagemaker_jobs.SageMakerJobs`, with the static hyperparameters, the tuned ones and
``_tuning_objective_metric``; a trial takes ``training * (0.7 + 0.6 * complexity)`` seconds, ``complexity`` ∈ [0, 1]
being the model's capacity (:mod:`.landscape`), so bigger models train longer. The tuning job fails when its first
``min(5, MaxNumberOfTrainingJobs)`` finished trials all failed (AWS: "No training job succeeded after 5 attempts"),
or ``tuning_startup`` seconds after creation when a fault matches its own name. What it shows is
:mod:`.tuning_status`'s. StopHyperParameterTuningJob and ListTrainingJobsForHyperParameterTuningJob, which moto
lacks, are answered here.

Trials of a script-mode training job definition (``sagemaker_program`` and ``sagemaker_submit_directory`` in its
static hyperparameters) are real local processes (:mod:`.script_jobs`): the same scheduler launches them
``MaxParallelTrainingJobs`` at a time with the strategy's hyperparameters, a slot frees up when a process ends (at its
real duration from the trial's creation), the objective is the value the script logged, so ``BestTrainingJob`` is
the really best trial and Bayesian search follows the real objective. Hyperband does not stop them early.

A ``WarmStartConfig`` is checked as SageMaker checks it and its parents' completed trials inform the sampler
(:mod:`.tuning_warm_start`); DescribeHyperParameterTuningJob returns it as sent (moto keeps it).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any, Final

from moto.sagemaker.exceptions import ResourceNotFound, ValidationError
from moto.sagemaker.models import SageMakerModelBackend

from mlcp_cli.local.backends import script_mode, tuning_warm_start
from mlcp_cli.local.backends.landscape import metric_names, payload_bytes
from mlcp_cli.local.backends.randomness import digest
from mlcp_cli.local.backends.routing import Handler, moto_original
from mlcp_cli.local.backends.sagemaker_jobs import STOP_REJECTED, SageMakerJobs
from mlcp_cli.local.backends.sagemaker_records import drop_none
from mlcp_cli.local.backends.settings import JobSettings
from mlcp_cli.local.backends.timelines import Outcome, Trial, Tuning
from mlcp_cli.local.backends.tuning_status import page_of_trials, show, summary
from mlcp_cli.local.backends.tuning_strategies import TuningRequest, parse_request, plan_early_stop, propose

_TUNING_FAIL_FAST: Final = 5
_WHAT: Final = "hyperparameter tuning job"


class TuningJobs:
    """Tuning jobs and their trials on moto, on simulated time (module docstring)."""

    def __init__(self, settings: JobSettings, jobs: SageMakerJobs) -> None:
        self._settings = settings
        self._jobs = jobs
        self._tunings: dict[tuple[str, str, str], Tuning] = {}

    def handlers(self) -> dict[str, Handler]:
        """The APIs this class answers (ListHyperParameterTuningJobs is the JobBackend's: it settles every job)."""
        return {
            "create_hyper_parameter_tuning_job": self._api_create_hyper_parameter_tuning_job,
            "describe_hyper_parameter_tuning_job": self._api_describe_hyper_parameter_tuning_job,
            "stop_hyper_parameter_tuning_job": self._api_stop_hyper_parameter_tuning_job,
            "list_training_jobs_for_hyper_parameter_tuning_job": self._api_list_training_jobs_for_tuning_job,
        }

    def _tuning(self, backend: SageMakerModelBackend, name: str) -> Tuning | None:
        key = (backend.account_id, backend.region_name, name)
        tuning = self._tunings.get(key)
        if tuning is None:
            return None
        if backend.hyper_parameter_tuning_jobs.get(name) is not tuning.fake:
            del self._tunings[key]
            return None
        return tuning

    def _refresh(self, backend: SageMakerModelBackend, name: str) -> None:
        """Bring a local tuning job (a warm-start parent) up to now, so that its status is current."""
        tuning = self._tuning(backend, name)
        if tuning is not None:
            self.advance(tuning, self._settings.clock.seconds())

    def settle_all(self, now: float, backend: SageMakerModelBackend | None = None) -> None:
        for tuning in list(self._tunings.values()):
            if (backend is None or tuning.backend is backend) and self._tuning(tuning.backend, tuning.name):
                self.advance(tuning, now)

    # -- the scheduler --------------------------------------------------------------------------------------------

    def advance(self, tuning: Tuning, now: float) -> None:
        """Run the tuning job's scheduler up to ``now``: launch trials as slots free up, finish when done."""
        self._poll_script_trials(tuning)
        if tuning.ended is None and tuning.planned_failure is not None and tuning.cursor <= now:
            self._end(tuning, "Failed", tuning.cursor, tuning.planned_failure)
        while tuning.ended is None and tuning.cursor <= now:
            self._step(tuning, tuning.cursor)
        show(tuning, now, self._jobs.settle, self._settings.timestamp)

    def _poll_script_trials(self, tuning: Tuning) -> None:
        """Trials whose process has ended: their quality is the real objective, the scheduler resumes at their end."""
        for trial in tuning.trials:
            if self._jobs.poll(trial.job):
                value = tuning.objective_value(trial)
                trial.quality = -math.inf if value is None else (value if tuning.maximize else -value)
                if tuning.ended is None:
                    tuning.cursor = min(tuning.cursor, trial.job.end)

    def _step(self, tuning: Tuning, t: float) -> None:
        """One event of the scheduler at ``t``: fail fast, or fill the free slots, or end when no trial is left."""
        self._settle_finished(tuning, t)
        active = [tr for tr in tuning.trials if tr.job.end > t]
        reason = self._fail_fast_reason(tuning, t)
        if reason is not None:
            self._fail(tuning, active, t, reason)
            return
        if tuning.stop_requested is None:
            active += self._fill_slots(tuning, len(active), t)
        if not active:
            self._end(tuning, "Stopped" if tuning.stop_requested is not None else "Completed", t, None)
            return
        tuning.cursor = min(tr.job.end for tr in active)

    def _settle_finished(self, tuning: Tuning, t: float) -> None:
        """Show the trials that ended by ``t`` as they ended (their outputs are written then)."""
        for trial in tuning.trials:
            if trial.job.end <= t:
                self._jobs.settle(trial.job, t)

    def _fail(self, tuning: Tuning, active: list[Trial], t: float, reason: str) -> None:
        """The tuning job fails at ``t``: its running trials are stopped."""
        for trial in active:
            self._jobs.stop(trial.job, t)
        self._end(tuning, "Failed", t, reason)

    def _fill_slots(self, tuning: Tuning, running: int, t: float) -> list[Trial]:
        """Launch trials at ``t`` while ``MaxParallelTrainingJobs`` has a free slot and trials are left."""
        launched: list[Trial] = []
        while running + len(launched) < tuning.max_parallel and len(tuning.trials) < tuning.max_jobs:
            launched.append(self._launch_trial(tuning, t))
        return launched

    def _fail_fast_reason(self, tuning: Tuning, t: float) -> str | None:
        """Why the tuning job fails at ``t``: its first finished trials all failed (None while any succeeded)."""
        finished = [tr for tr in tuning.trials if tr.job.end <= t]
        failed = [tr for tr in finished if tr.job.events[-1].status == "Failed"]
        succeeded = [tr for tr in finished if tr.job.events[-1].status == "Completed"]
        if succeeded or len(failed) < min(_TUNING_FAIL_FAST, tuning.max_jobs) or tuning.stop_requested is not None:
            return None
        return (
            f"No training job succeeded after {len(failed)} attempts. Please take a look at the training "
            f"job failures to get more details. Last failure: {failed[-1].job.failure}"
        )

    def _end(self, tuning: Tuning, status: str, at: float, reason: str | None) -> None:
        tuning.ended = at
        tuning.cursor = at
        tuning.final_status = status
        tuning.failure = reason

    def _create_trial_job(self, tuning: Tuning, name: str, hyper: dict[str, str], algorithm: dict[str, Any]) -> Any:
        """moto's own CreateTrainingJob (not routed: the trial is planned here) from the training job definition."""
        definition = tuning.definition
        create: Callable[..., Any] = moto_original("create_training_job")
        return create(
            tuning.backend,
            training_job_name=name,
            hyper_parameters=hyper,
            algorithm_specification=copy.deepcopy(algorithm),
            role_arn=definition.get("RoleArn"),
            input_data_config=copy.deepcopy(definition.get("InputDataConfig")),
            output_data_config=copy.deepcopy(definition.get("OutputDataConfig")),
            resource_config=copy.deepcopy(definition.get("ResourceConfig")),
            vpc_config=copy.deepcopy(definition.get("VpcConfig")),
            stopping_condition=copy.deepcopy(definition.get("StoppingCondition")),
            tags=copy.deepcopy(tuning.tags),
            enable_network_isolation=bool(definition.get("EnableNetworkIsolation", False)),
            enable_inter_container_traffic_encryption=bool(
                definition.get("EnableInterContainerTrafficEncryption", False)
            ),
            enable_managed_spot_training=bool(definition.get("EnableManagedSpotTraining", False)),
            checkpoint_config=copy.deepcopy(definition.get("CheckpointConfig")),
            debug_hook_config=None,
            debug_rule_configurations=None,
            tensor_board_output_config=None,
            experiment_config=None,
        )

    def _launch_trial(self, tuning: Tuning, at: float) -> Trial:
        index = len(tuning.trials) + 1
        values = propose(tuning, index, at)
        name = f"{tuning.name}-{index:03d}-{digest(tuning.name, index).hex()[:8]}"
        hyper = {
            **{str(k): str(v) for k, v in (tuning.definition.get("StaticHyperParameters") or {}).items()},
            **values,
            "_tuning_objective_metric": tuning.objective,
        }
        algorithm = copy.deepcopy(tuning.definition.get("AlgorithmSpecification") or {})
        fake = self._create_trial_job(tuning, name, hyper, algorithm)
        fake.algorithm_specification = algorithm
        failure = self._settings.faults.job_failure(name)
        if failure is None and script_mode.is_script_mode(hyper):
            return self._launch_script_trial(tuning, index, values, fake, algorithm=algorithm, at=at)
        landscape = tuning.landscape
        quality = landscape.quality(values)
        complexity = landscape.complexity(values)
        metrics = landscape.metrics(quality, metric_names(algorithm))
        outcome = Outcome(
            metrics=metrics,
            objective=(tuning.objective, tuning.objective_type, metrics[tuning.objective]),
            payload=payload_bytes(complexity),
            meta={"hyperparameters": hyper, "tuning_job": tuning.name},
        )
        duration = self._settings.durations.training_seconds(complexity)
        job = self._jobs.new_training(
            tuning.backend, fake, created=at, duration=duration, outcome=outcome, failure=failure, tuning=tuning
        )
        if tuning.strategy == "Hyperband" and failure is None:
            stop_at = plan_early_stop(tuning, job, quality, at)
            if stop_at is not None:
                self._jobs.stop(job, stop_at)
                self._jobs.settle(job, at)
        trial = Trial(index=index, values=values, quality=quality, job=job)
        tuning.trials.append(trial)
        return trial

    def _launch_script_trial(
        self, tuning: Tuning, index: int, values: dict[str, str], fake: Any, *, algorithm: dict[str, Any], at: float
    ) -> Trial:
        definition = tuning.definition
        request = {
            "algorithm_specification": algorithm,
            "input_data_config": definition.get("InputDataConfig"),
            "output_data_config": definition.get("OutputDataConfig"),
            "stopping_condition": definition.get("StoppingCondition"),
            "environment": definition.get("Environment"),
        }
        job = self._jobs.new_script_training(
            tuning.backend,
            fake,
            dict(fake.hyper_parameters),
            request,
            created=at,
            objective=(tuning.objective, tuning.objective_type),
            tuning=tuning,
        )
        trial = Trial(index=index, values=values, quality=-math.inf, job=job)
        tuning.trials.append(trial)
        return trial

    # -- the APIs -------------------------------------------------------------------------------------------------

    def _new_tuning(self, request: TuningRequest, backend: SageMakerModelBackend, p: dict[str, Any]) -> Tuning:
        now = self._settings.clock.seconds()
        grid = request.grid()
        return Tuning(
            name=request.name,
            fake=backend.hyper_parameter_tuning_jobs[request.name],
            backend=backend,
            created=now,
            strategy=request.strategy,
            params=request.params,
            landscape=request.landscape(),
            objective=request.objective,
            objective_type=request.objective_type,
            max_jobs=request.max_jobs(grid),
            max_parallel=request.max_parallel(),
            seed=request.seed(),
            definition=copy.deepcopy(request.definition),
            tags=list(p.get("tags") or []),
            grid=grid,
            min_resource_fraction=request.min_resource_fraction(),
            planned_failure=self._settings.faults.job_failure(request.name),
            cursor=now + self._settings.durations.tuning_startup,
        )

    def _api_create_hyper_parameter_tuning_job(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        request = parse_request(p)  # refused before moto records the job
        parents: list[str] = []
        if p.get("warm_start_config"):
            parents = tuning_warm_start.check(
                backend, p["warm_start_config"], request.config, request.definition, lambda n: self._refresh(backend, n)
            )
        arn = call()
        tuning = self._new_tuning(request, backend, p)
        tuning.prior = tuning_warm_start.prior_trials([self._tuning(backend, name) for name in parents])
        self._tunings[(backend.account_id, backend.region_name, tuning.name)] = tuning
        self.advance(tuning, tuning.created)
        return arn

    def _api_describe_hyper_parameter_tuning_job(
        self, backend: SageMakerModelBackend, call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        tuning = self._tuning(backend, p["hyper_parameter_tuning_job_name"])
        if tuning is None:
            return call()
        self.advance(tuning, self._settings.clock.seconds())
        response = drop_none(call())
        if not response.get("FailureReason"):
            response.pop("FailureReason", None)
        return response

    def _api_stop_hyper_parameter_tuning_job(
        self, backend: SageMakerModelBackend, _call: Callable[[], Any], p: dict[str, Any]
    ) -> Any:
        name = p["hyper_parameter_tuning_job_name"]
        tuning = self._tuning(backend, name)
        if tuning is None:
            if name in backend.hyper_parameter_tuning_jobs:
                raise ValidationError(message=STOP_REJECTED.format(what=_WHAT, status="Completed"))
            raise ResourceNotFound(message=f"Could not find hyper parameter tuning job '{name}'.")
        now = self._settings.clock.seconds()
        self.advance(tuning, now)
        status = tuning.fake.hyper_parameter_tuning_job_status
        if status != "InProgress":
            raise ValidationError(message=STOP_REJECTED.format(what=_WHAT, status=status))
        tuning.stop_requested = now
        tuning.planned_failure = None
        for trial in tuning.trials:
            if trial.job.end > now:
                self._jobs.stop(trial.job, now)
        tuning.cursor = now
        self.advance(tuning, now)
        return None

    def _api_list_training_jobs_for_tuning_job(
        self, backend: SageMakerModelBackend, _call: Callable[[], Any], p: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], str | None]:
        name = p["hyper_parameter_tuning_job_name"]
        tuning = self._tuning(backend, name)
        if tuning is None:
            if name not in backend.hyper_parameter_tuning_jobs:
                raise ResourceNotFound(message=f"Could not find hyper parameter tuning job '{name}'.")
            return [], None  # created while no backend was active: moto launched no trials
        now = self._settings.clock.seconds()
        self.advance(tuning, now)
        summaries = [summary(tuning, trial, now, self._settings.timestamp) for trial in tuning.trials]
        return page_of_trials(summaries, p)

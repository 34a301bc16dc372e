"""How a tuning job searches: its request, and the strategies that choose each trial's hyperparameters.

``Grid`` launches every combination of the categorical ranges exactly once (AWS: categorical ranges only);
``Random`` draws trial ``i`` from a generator seeded by ``RandomSeed`` (or the job name) and ``i``, so a seed
reproduces the trials; ``Bayesian`` draws ``max(3, MaxParallelTrainingJobs)`` random trials, then perturbs the
incumbent (best trial completed at launch time) with a shrinking Gaussian step (15 % of draws stay random); with
warm-start parents (``Tuning.prior``, :mod:`.tuning_warm_start`) it skips the random warm-up and starts from the
parents' best trial. ``Random`` has no model: its draws are the same with or without parents;
``Hyperband`` draws randomly and, once a few trials completed, stops a trial whose quality is below their median at
``MinResource / MaxResource`` of its training (status ``Stopped``; it reports the partial objective).
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moto.sagemaker.exceptions import ValidationError

from mlcp_cli.local.backends.landscape import Landscape, Param, parse_ranges
from mlcp_cli.local.backends.randomness import clamp, rng
from mlcp_cli.local.backends.timelines import Job, Outcome, Tuning


@dataclass(frozen=True)
class TuningRequest:
    """A CreateHyperParameterTuningJob request, validated and with its search space parsed."""

    name: str
    config: Mapping[str, Any]
    definition: dict[str, Any]
    params: list[Param]
    strategy: str

    @property
    def _objective_spec(self) -> Mapping[str, Any]:
        spec: Mapping[str, Any] = (
            self.config.get("HyperParameterTuningJobObjective") or self.definition.get("TuningObjective") or {}
        )
        return spec

    @property
    def objective(self) -> str:
        return str(self._objective_spec.get("MetricName") or "objective")

    @property
    def objective_type(self) -> str:
        return str(self._objective_spec.get("Type") or "Maximize")

    def landscape(self) -> Landscape:
        """The request's objective, seeded by what stays the same across runs of one spec."""
        algorithm = self.definition.get("AlgorithmSpecification") or {}
        seed = json.dumps(
            {
                "ranges": self.config.get("ParameterRanges") or self.definition.get("HyperParameterRanges"),
                "objective": self._objective_spec,
                "static": self.definition.get("StaticHyperParameters"),
                "image": algorithm.get("TrainingImage") or algorithm.get("AlgorithmName"),
            },
            sort_keys=True,
        )
        data = json.dumps(sorted(_s3_key(c) for c in self.definition.get("InputDataConfig") or []))
        return Landscape(seed, self.params, self.objective, self.objective_type != "Minimize", data)

    def grid(self) -> list[dict[str, str]] | None:
        """Every combination of the categorical ranges, for ``Grid`` (None for the other strategies)."""
        if self.strategy != "Grid":
            return None
        return [
            dict(zip([q.name for q in self.params], combo, strict=True))
            for combo in itertools.product(*(q.values for q in self.params))
        ]

    def min_resource_fraction(self) -> float:
        """Hyperband's ``MinResource / MaxResource``: where in its training a weak trial is stopped."""
        hyperband = (self.config.get("StrategyConfig") or {}).get("HyperbandStrategyConfig") or {}
        min_resource = float(hyperband.get("MinResource") or 1)
        max_resource = float(hyperband.get("MaxResource") or 3)
        return clamp(min_resource / max_resource if max_resource > 0 else 1 / 3, 0.05, 0.9)

    def max_jobs(self, grid: list[dict[str, str]] | None) -> int:
        if grid is not None:
            return len(grid)
        return int((self.config.get("ResourceLimits") or {}).get("MaxNumberOfTrainingJobs") or 10)

    def max_parallel(self) -> int:
        return max(1, int((self.config.get("ResourceLimits") or {}).get("MaxParallelTrainingJobs") or 1))

    def seed(self) -> str:
        seed = self.config.get("RandomSeed")
        return f"seed:{seed}" if seed is not None else f"name:{self.name}"


def _s3_key(channel: Mapping[str, Any]) -> str:
    """The channel's S3 key prefix: the data, whichever bucket holds it (two local clouds name theirs apart)."""
    uri = str(((channel.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri"))
    return uri.removeprefix("s3://").partition("/")[2]


def _definition(p: Mapping[str, Any]) -> dict[str, Any]:
    """The training job definition (the first of several: the local backend tunes one)."""
    definition = p.get("training_job_definition") or next(iter(p.get("training_job_definitions") or []), None)
    if not definition:
        raise ValidationError(message="TrainingJobDefinition or TrainingJobDefinitions is required.")
    result: dict[str, Any] = definition
    return result


def _check_grid(params: list[Param]) -> None:
    if any(param.numeric for param in params):
        raise ValidationError(message="The Grid search strategy supports only categorical parameter ranges.")
    if not params:
        raise ValidationError(message="The Grid search strategy needs at least one categorical parameter range.")


def parse_request(p: Mapping[str, Any]) -> TuningRequest:
    """The request of a CreateHyperParameterTuningJob call, refused as SageMaker refuses it."""
    config = p.get("hyper_parameter_tuning_job_config") or {}
    definition = _definition(p)
    params = parse_ranges(config.get("ParameterRanges") or definition.get("HyperParameterRanges") or {})
    strategy = str(config.get("Strategy") or "Bayesian")
    if strategy == "Grid":
        _check_grid(params)
    return TuningRequest(p["hyper_parameter_tuning_job_name"], config, definition, params, strategy)


def propose(tuning: Tuning, index: int, at: float) -> dict[str, str]:
    """The hyperparameters of trial ``index`` (from 1), launched at ``at``."""
    if tuning.grid is not None:
        return dict(tuning.grid[index - 1])
    draw = rng(tuning.seed, index)
    if tuning.strategy == "Bayesian" and tuning.prior:
        return _warm(tuning, index, at, draw)
    warmup = max(3, tuning.max_parallel)
    if tuning.strategy != "Bayesian" or index <= warmup or draw.random() < 0.15:
        return {param.name: param.sample(draw) for param in tuning.params}
    done = tuning.completed_by(at)
    if not done:
        return {param.name: param.sample(draw) for param in tuning.params}
    incumbent = max(done, key=lambda tr: (tr.quality, -tr.index))
    sigma = max(0.04, 0.25 * 0.8 ** (index - warmup))
    return {param.name: _perturbed(param, incumbent.values[param.name], sigma, draw) for param in tuning.params}


def _warm(tuning: Tuning, index: int, at: float, draw: random.Random) -> dict[str, str]:
    """Bayesian with warm-start parents: no random warm-up; the first trial re-tries the parents' best, later ones
    step from the best observation so far (the parents' trials and this job's completed ones) with a smaller,
    shrinking step (10 % of draws stay random)."""
    observed = [*tuning.prior, *tuning.completed_by(at)]
    incumbent = max(observed, key=lambda tr: tr.quality)
    if index > 1 and draw.random() < 0.1:
        return {param.name: param.sample(draw) for param in tuning.params}
    sigma = 0.0 if index == 1 else max(0.03, 0.12 * 0.8 ** (index - 1))
    return {param.name: _near(param, incumbent.values.get(param.name), sigma, draw) for param in tuning.params}


def _near(param: Param, raw: str | None, sigma: float, draw: random.Random) -> str:
    """A value near a parent's ``raw`` (inside this job's range; a value the parent did not tune: a random one)."""
    if raw is None or (not param.numeric and raw not in param.values):
        return param.sample(draw)
    if sigma == 0.0:
        return param.value(param.unit(raw)) if param.numeric else raw
    return _perturbed(param, raw, sigma, draw)


def _perturbed(param: Param, current: str, sigma: float, draw: random.Random) -> str:
    """Bayesian: a Gaussian step from the incumbent's value (a categorical one stays with probability 0.75)."""
    if param.numeric:
        return param.value(param.unit(current) + draw.gauss(0.0, sigma))
    return current if draw.random() < 0.75 else draw.choice(param.values)


def plan_early_stop(tuning: Tuning, job: Job, quality: float, at: float) -> float | None:
    """Hyperband: when ``job`` (a trial of ``quality`` launched at ``at``) is weaker than the median of the trials
    completed so far, give it the partial outcome it reports once stopped and return when to stop it; None when it
    runs to the end."""
    done = [tr.quality for tr in tuning.completed_by(at)]
    if len(done) < max(2, tuning.max_parallel):
        return None
    median = sorted(done)[len(done) // 2]
    if quality >= median:
        return None
    training = next(e.t for e in job.events if e.secondary == "Training")
    uploading = next((e.t for e in job.events if e.secondary == "Uploading"), job.end)
    stop_at = training + tuning.min_resource_fraction * (uploading - training)
    if stop_at >= job.end:
        return None
    partial = quality * (0.5 + 0.5 * tuning.min_resource_fraction)
    metrics = tuning.landscape.metrics(partial, job.outcome.metrics)
    job.outcome = Outcome(
        metrics=metrics,
        objective=(tuning.objective, tuning.objective_type, metrics[tuning.objective]),
        payload=job.outcome.payload,
        artifact_uri=None,
        meta=job.outcome.meta,
        metrics_when_stopped=True,
    )
    return stop_at

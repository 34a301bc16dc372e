"""Warm start of a local tuning job: CreateHyperParameterTuningJob's ``WarmStartConfig`` refused as SageMaker
refuses it, and the parents' completed trials handed to the sampler (:func:`.tuning_strategies.propose`).

Refused (``ValidationException``): more than 5 parents or an unknown ``WarmStartType`` (the API's constraints,
in AWS's "1 validation error detected" form); a parent that does not exist or is not terminal (``Completed``,
``Stopped``, ``Failed``); a parent with another objective metric or another number of static plus tunable
hyperparameters; for ``IdenticalDataAndAlgorithm`` a parent with another training image or other input data
(https://docs.aws.amazon.com/sagemaker/latest/dg/automatic-model-tuning-warm-start.html, "Warm Start Tuning
Restrictions"). What the parents bring is their completed trials (hyperparameters and quality), not their own
parents' ("warm start tuning is not recursive").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from moto.sagemaker.exceptions import ValidationError

from mlcp_cli.local.backends.timelines import TERMINAL, Trial, Tuning

MAX_PARENTS: Final = 5
TYPES: Final = ("IdenticalDataAndAlgorithm", "TransferLearning")


def _constraint(value: Any, where: str, constraint: str) -> ValidationError:
    return ValidationError(
        message=f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy constraint: {constraint}"
    )


def _definition(fake: Any) -> Mapping[str, Any]:
    definition: Mapping[str, Any] = fake.training_job_definition or next(iter(fake.training_job_definitions or []), {})
    return definition


def _objective(fake: Any) -> str | None:
    config = fake.hyper_parameter_tuning_job_config or {}
    return (config.get("HyperParameterTuningJobObjective") or {}).get("MetricName")


def _hyperparameter_count(config: Mapping[str, Any], definition: Mapping[str, Any]) -> int:
    ranges = config.get("ParameterRanges") or definition.get("HyperParameterRanges") or {}
    tuned = sum(len(ranges.get(k) or []) for k in ranges)
    return tuned + len(definition.get("StaticHyperParameters") or {})


def _data(definition: Mapping[str, Any]) -> str:
    uris = sorted(
        str(((c.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri"))
        for c in definition.get("InputDataConfig") or []
    )
    return json.dumps(uris)


def _image(definition: Mapping[str, Any]) -> Any:
    return (definition.get("AlgorithmSpecification") or {}).get("TrainingImage")


def _parent_problem(name: str, fake: Any, warm_type: str, config: Mapping[str, Any], definition: Any) -> str | None:
    status = fake.hyper_parameter_tuning_job_status
    if status not in TERMINAL:
        return (
            f"Parent hyperparameter tuning job {name} is {status}: all parent jobs must be in a terminal state "
            "(Completed, Stopped or Failed)."
        )
    objective = (config.get("HyperParameterTuningJobObjective") or {}).get("MetricName")
    if _objective(fake) != objective:
        return f"The objective metric of parent hyperparameter tuning job {name} is not {objective}."
    parent_config = fake.hyper_parameter_tuning_job_config or {}
    if _hyperparameter_count(parent_config, _definition(fake)) != _hyperparameter_count(config, definition):
        return (
            f"The total number of static and tunable hyperparameters must be the same as in parent hyperparameter "
            f"tuning job {name}."
        )
    parent = _definition(fake)
    if warm_type == "IdenticalDataAndAlgorithm" and (
        _image(parent) != _image(definition) or _data(parent) != _data(definition)
    ):
        return (
            f"Parent hyperparameter tuning job {name} used other input data or another training image: "
            "IdenticalDataAndAlgorithm needs the same."
        )
    return None


def check(
    backend: Any,
    warm: Mapping[str, Any],
    config: Mapping[str, Any],
    definition: Mapping[str, Any],
    refresh: Callable[[str], None],
) -> list[str]:
    """The parents' names, after refusing what SageMaker refuses (``refresh`` brings a local parent up to now)."""
    parents = [str(p.get("HyperParameterTuningJobName")) for p in warm.get("ParentHyperParameterTuningJobs") or []]
    if not 1 <= len(parents) <= MAX_PARENTS:
        raise _constraint(
            parents,
            "warmStartConfig.parentHyperParameterTuningJobs",
            f"Member must have length between 1 and {MAX_PARENTS}",
        )
    warm_type = str(warm.get("WarmStartType"))
    if warm_type not in TYPES:
        enum = f"Member must satisfy enum value set: {list(TYPES)}"
        raise _constraint(warm_type, "warmStartConfig.warmStartType", enum)
    for name in parents:
        fake = backend.hyper_parameter_tuning_jobs.get(name)
        if fake is None:
            raise ValidationError(message=f"Parent hyperparameter tuning job {name} does not exist.")
        refresh(name)
        problem = _parent_problem(name, fake, warm_type, config, definition)
        if problem is not None:
            raise ValidationError(message=problem)
    return parents


def prior_trials(parents: list[Tuning | None]) -> list[Trial]:
    """The parents' completed trials (their own parents' are not included: warm start is not recursive)."""
    found: list[Trial] = []
    for parent in parents:
        if parent is None:
            continue
        end = parent.ended if parent.ended is not None else parent.cursor
        found += [tr for tr in parent.completed_by(end) if tr.quality > float("-inf")]
    return found

"""The tuning stage of the pipeline spec: strategy, objective, parameter ranges and training resources, with
CreateHyperParameterTuningJob's rules."""

from __future__ import annotations

import difflib
import itertools
import math
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from mlcp.common.validation import Rules, duplicates
from mlcp.training import script_mode
from mlcp.training.sagemaker_limits import (
    HYPERPARAMETER_NAME,
    MAX_CATEGORICAL_VALUES,
    MAX_HYPERPARAMETERS,
    MAX_METRIC_DEFINITIONS,
    MAX_PARALLEL_TRAINING_JOBS,
    MAX_TRAINING_JOBS,
    MAX_TRAINING_JOBS_RANDOM,
    MAX_TRAINING_RUNTIME_S,
    MAX_TUNABLE_HYPERPARAMETERS,
    InputMode,
    InstanceType,
    SpecModel,
)


# --- tuning --------------------------------------------------------------------------------------------------
class Strategy(StrEnum):
    BAYESIAN = "Bayesian"
    RANDOM = "Random"
    GRID = "Grid"
    HYPERBAND = "Hyperband"


class ObjectiveType(StrEnum):
    MAXIMIZE = "Maximize"
    MINIMIZE = "Minimize"


class ScalingType(StrEnum):
    AUTO = "Auto"
    LINEAR = "Linear"
    LOGARITHMIC = "Logarithmic"
    REVERSE_LOGARITHMIC = "ReverseLogarithmic"


class Objective(SpecModel):
    metric: Annotated[str, Field(min_length=1, max_length=255)]
    type: ObjectiveType


class MetricDefinition(SpecModel):
    name: Annotated[str, Field(min_length=1, max_length=255)]
    regex: Annotated[str, Field(min_length=1, max_length=500)]


class ContinuousRange(SpecModel):
    name: Annotated[str, Field(pattern=HYPERPARAMETER_NAME, max_length=256)]
    min: float
    max: float
    scaling: ScalingType = ScalingType.AUTO

    @model_validator(mode="after")
    def _bounds(self) -> ContinuousRange:
        rules = Rules()
        rules.check(math.isfinite(self.min), ("min",), "must be a finite number")
        rules.check(math.isfinite(self.max), ("max",), "must be a finite number")
        rules.check(self.min < self.max, ("max",), f"must be greater than min ({self.min})")
        if self.scaling is ScalingType.LOGARITHMIC:
            rules.check(self.min > 0, ("min",), "Logarithmic scaling needs min > 0")
        if self.scaling is ScalingType.REVERSE_LOGARITHMIC:
            rules.check(
                self.min >= 0 and self.max < 1,
                ("scaling",),
                "ReverseLogarithmic scaling needs 0 <= min and max < 1",
            )
        rules.raise_if_any()
        return self


class IntegerRange(SpecModel):
    name: Annotated[str, Field(pattern=HYPERPARAMETER_NAME, max_length=256)]
    min: int
    max: int
    scaling: Literal[ScalingType.AUTO, ScalingType.LINEAR, ScalingType.LOGARITHMIC] = ScalingType.AUTO

    @model_validator(mode="after")
    def _bounds(self) -> IntegerRange:
        rules = Rules()
        rules.check(self.min < self.max, ("max",), f"must be greater than min ({self.min})")
        if self.scaling is ScalingType.LOGARITHMIC:
            rules.check(self.min > 0, ("min",), "Logarithmic scaling needs min > 0")
        rules.raise_if_any()
        return self


_CATEGORY_SCHEMA = {"anyOf": [{"type": "string", "minLength": 1, "maxLength": 256}, {"type": "number"}]}


class CategoricalRange(SpecModel):
    """Categorical values are strings to SageMaker; numbers (``[0.01, 0.05]``, ``[16, 32]``) become the strings
    they are written as (``"0.01"``, ``"16"``)."""

    name: Annotated[str, Field(pattern=HYPERPARAMETER_NAME, max_length=256)]
    values: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=256), WithJsonSchema(_CATEGORY_SCHEMA)]],
        Field(min_length=1, max_length=MAX_CATEGORICAL_VALUES),
    ]

    @field_validator("values", mode="before")
    @classmethod
    def _numbers_as_strings(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [_number_text(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in value]

    @model_validator(mode="after")
    def _unique(self) -> CategoricalRange:
        rules = Rules()
        rules.check(len(set(self.values)) == len(self.values), ("values",), "values must be unique")
        rules.raise_if_any()
        return self


def _number_text(value: float) -> str:
    # YAML/JSON numbers as written: 16 -> "16", 0.01 -> "0.01" (repr: the shortest text that reads back the same)
    return str(value) if isinstance(value, int) else repr(value)


class ParameterRanges(SpecModel):
    # Each at most 30 (ParameterRanges in CreateHyperParameterTuningJob), checked before the per-range rules.
    continuous: Annotated[list[ContinuousRange], Field(max_length=MAX_TUNABLE_HYPERPARAMETERS)] = []
    integer: Annotated[list[IntegerRange], Field(max_length=MAX_TUNABLE_HYPERPARAMETERS)] = []
    categorical: Annotated[list[CategoricalRange], Field(max_length=MAX_TUNABLE_HYPERPARAMETERS)] = []

    def names(self) -> list[str]:
        return [r.name for r in self.continuous] + [r.name for r in self.integer] + [r.name for r in self.categorical]

    def grid_size(self) -> int:
        return math.prod(len(c.values) for c in self.categorical)


class Hyperband(SpecModel):
    min_resource: Annotated[int, Field(ge=1)] = 1
    max_resource: Annotated[int, Field(ge=1)] = 81

    @model_validator(mode="after")
    def _order(self) -> Hyperband:
        rules = Rules()
        rules.check(self.min_resource < self.max_resource, ("max_resource",), "must be greater than min_resource")
        rules.raise_if_any()
        return self


class WarmStartType(StrEnum):
    """HyperParameterTuningJobWarmStartConfig.WarmStartType (the API's values)."""

    IDENTICAL_DATA_AND_ALGORITHM = "IdenticalDataAndAlgorithm"
    TRANSFER_LEARNING = "TransferLearning"


MAX_PARENT_TUNING_JOBS = 5  # HyperParameterTuningJobWarmStartConfig.ParentHyperParameterTuningJobs: 1..5 items
# Strategies whose search earlier trials inform: "Hyperparameter tuning uses either Bayesian or random search" (the
# warm-start guide, https://docs.aws.amazon.com/sagemaker/latest/dg/automatic-model-tuning-warm-start.html). Grid
# runs every combination whatever came before, Hyperband's brackets start from scratch: mlcp refuses warm start with
# them (docs/architecture.md, "Warm start").
WARM_START_STRATEGIES = ("Bayesian", "Random")


class WarmStart(SpecModel):
    """``tuning.warm_start``: earlier runs' tuning jobs as WarmStartConfig parents (mlcp.training.warm_start).

    ``from``: ``last_successful`` (the pipeline's most recent SUCCEEDED runs with a tuning job, newest first, at
    most ``max_parents``) or a list of run ids of this pipeline (1..5). A run without a usable parent starts cold
    and records why (run record ``warm_start.cold_reason``)."""

    # "from" is a Python keyword: the field is from_, read and written as "from" (the stored run spec too).
    model_config = ConfigDict(**SpecModel.model_config, validate_by_name=True, serialize_by_alias=True)

    type: WarmStartType
    from_: Annotated[
        Literal["last_successful"]
        | Annotated[
            list[Annotated[str, Field(min_length=1, max_length=80)]],
            Field(min_length=1, max_length=MAX_PARENT_TUNING_JOBS),
        ],
        Field(alias="from"),
    ] = "last_successful"
    max_parents: Annotated[
        int | None,
        Field(
            ge=1,
            le=MAX_PARENT_TUNING_JOBS,
            description="Most parents (1..5). Default: 1 with last_successful, every listed run with a list of ids.",
        ),
    ] = None

    @field_validator("from_", mode="before")
    @classmethod
    def _from_shape(cls, value: Any) -> Any:
        # One message for the field, instead of pydantic's one per union branch
        # (from.literal['last_successful'] ... from.list[constrained-str] ...).
        if isinstance(value, str) and value != "last_successful":
            close = difflib.get_close_matches(value, ["last_successful"], cutoff=0.8)
            hint = "did you mean 'last_successful'?" if close else f"one run: from: [{value}]"
            raise ValueError(f"must be 'last_successful' or a list of run ids of this pipeline, not {value!r} ({hint})")
        if isinstance(value, list) and not 1 <= len(value) <= MAX_PARENT_TUNING_JOBS:
            raise ValueError(
                f"lists {len(value)} run ids; give 1..{MAX_PARENT_TUNING_JOBS} (SageMaker's limit on parent tuning"
                " jobs), or 'last_successful'"
            )
        if not isinstance(value, str | list):
            raise ValueError("must be 'last_successful' or a list of run ids of this pipeline")
        return value

    @model_validator(mode="after")
    def _ids(self) -> WarmStart:
        rules = Rules()
        if isinstance(self.from_, list):
            for run_id in duplicates(self.from_):
                rules.check(False, ("from",), f"run {run_id!r} is listed twice")
        rules.raise_if_any()
        return self

    def explicit_runs(self) -> list[str]:
        return list(self.from_) if isinstance(self.from_, list) else []

    def parents_wanted(self) -> int:
        """``max_parents``, else 1 for ``last_successful`` and the number of listed runs for a list (a user who lists
        three runs means three parents)."""
        if self.max_parents is not None:
            return self.max_parents
        return len(self.explicit_runs()) or 1


class Spot(SpecModel):
    enabled: bool = True
    max_wait_seconds: Annotated[int, Field(ge=1, le=MAX_TRAINING_RUNTIME_S)]


class TrainingResources(script_mode.ScriptMode):
    """The tuning trials' training jobs: an image (``image_uri``), or script mode (``framework`` +
    ``framework_version`` + ``entry_point`` + ``source_dir``, mlcp.training.script_mode)."""

    instance_type: InstanceType = "ml.m5.xlarge"
    instance_count: Annotated[int, Field(ge=1, le=100)] = 1
    volume_size_gb: Annotated[int, Field(ge=1, le=16384)] = 30
    max_runtime_seconds: Annotated[int, Field(ge=1, le=MAX_TRAINING_RUNTIME_S)] = 86400
    input_mode: InputMode = InputMode.FILE
    spot: Spot | None = None
    environment: Annotated[dict[str, Annotated[str, Field(max_length=512)]], Field(max_length=48)] = {}

    @model_validator(mode="after")
    def _spot(self) -> TrainingResources:
        rules = Rules()
        if self.spot is not None and self.spot.enabled:
            rules.check(
                self.spot.max_wait_seconds >= self.max_runtime_seconds,
                ("spot", "max_wait_seconds"),
                f"must be >= max_runtime_seconds ({self.max_runtime_seconds}) for managed spot training",
            )
        rules.raise_if_any()
        return self


class TuningStage(SpecModel):
    strategy: Strategy = Strategy.BAYESIAN
    objective: Objective
    metric_definitions: Annotated[list[MetricDefinition], Field(min_length=1, max_length=MAX_METRIC_DEFINITIONS)]
    parameter_ranges: ParameterRanges
    static_hyperparameters: dict[
        Annotated[str, Field(pattern=HYPERPARAMETER_NAME, max_length=256)],
        Annotated[str, Field(max_length=2500)],
    ] = {}
    max_jobs: Annotated[
        int | None,
        Field(ge=1, le=MAX_TRAINING_JOBS_RANDOM, description="Not allowed with the Grid strategy."),
    ] = None
    max_parallel_jobs: Annotated[int, Field(ge=1, le=MAX_PARALLEL_TRAINING_JOBS)] = 2
    early_stopping: Literal["Off", "Auto"] = "Off"
    random_seed: Annotated[int | None, Field(ge=0)] = None
    hyperband: Hyperband | None = None
    warm_start: WarmStart | None = None
    training: TrainingResources

    @model_validator(mode="after")
    def _sagemaker_rules(self) -> TuningStage:
        rules = Rules()
        ranges = self.parameter_ranges
        names = ranges.names()
        rules.check(bool(names), ("parameter_ranges",), "at least one hyperparameter range is required")
        rules.check(
            len(names) <= MAX_TUNABLE_HYPERPARAMETERS,
            ("parameter_ranges",),
            f"{len(names)} tunable hyperparameters; SageMaker allows at most {MAX_TUNABLE_HYPERPARAMETERS}",
        )
        for name in duplicates(names):
            rules.check(False, ("parameter_ranges",), f"hyperparameter {name!r} has more than one range")
        for name in sorted(set(names) & set(self.static_hyperparameters)):
            rules.check(False, ("static_hyperparameters", name), "is also a tunable range; remove one of them")
        rules.check(
            len(names) + len(self.static_hyperparameters) <= MAX_HYPERPARAMETERS,
            ("static_hyperparameters",),
            f"{len(names) + len(self.static_hyperparameters)} hyperparameters given ({len(names)} tunable + "
            f"{len(self.static_hyperparameters)} static), at most {MAX_HYPERPARAMETERS} in all",
        )
        metric_names = [m.name for m in self.metric_definitions]
        for name in duplicates(metric_names):
            rules.check(False, ("metric_definitions",), f"metric {name!r} is defined twice")
        rules.check(
            self.objective.metric in metric_names,
            ("objective", "metric"),
            f"{self.objective.metric!r} is not among metric_definitions ({', '.join(metric_names)})",
        )

        if self.strategy is Strategy.GRID:
            rules.check(
                not ranges.continuous and not ranges.integer,
                ("parameter_ranges",),
                "the Grid strategy takes categorical ranges only",
            )
            rules.check(self.max_jobs is None, ("max_jobs",), "not allowed with the Grid strategy")
            rules.check(
                ranges.grid_size() <= MAX_TRAINING_JOBS,
                ("parameter_ranges", "categorical"),
                f"the grid has {ranges.grid_size()} combinations; at most {MAX_TRAINING_JOBS} training jobs",
            )
        else:
            rules.check(self.max_jobs is not None, ("max_jobs",), f"required with the {self.strategy} strategy")
            limit = MAX_TRAINING_JOBS_RANDOM if self.strategy is Strategy.RANDOM else MAX_TRAINING_JOBS
            if self.max_jobs is not None:
                rules.check(
                    self.max_jobs <= limit,
                    ("max_jobs",),
                    f"at most {limit} training jobs with the {self.strategy} strategy",
                )
                rules.check(
                    self.max_parallel_jobs <= self.max_jobs,
                    ("max_parallel_jobs",),
                    f"must not exceed max_jobs ({self.max_jobs})",
                )
        if self.strategy is Strategy.GRID:
            rules.check(
                self.max_parallel_jobs <= ranges.grid_size(),
                ("max_parallel_jobs",),
                f"must not exceed the number of grid combinations ({ranges.grid_size()})",
            )
        if self.strategy is Strategy.HYPERBAND:
            rules.check(
                self.early_stopping == "Off",
                ("early_stopping",),
                "must be Off with Hyperband (it stops jobs early itself)",
            )
        else:
            rules.check(self.hyperband is None, ("hyperband",), "only allowed with the Hyperband strategy")
        if self.training.script_mode:
            for name in sorted({*names, *self.static_hyperparameters}):
                rules.check(
                    not name.startswith(script_mode.RESERVED_PREFIX),
                    ("static_hyperparameters" if name in self.static_hyperparameters else "parameter_ranges",),
                    f"{name!r}: names starting with {script_mode.RESERVED_PREFIX!r} are the framework container's "
                    "own in script mode; rename it",
                )
        if self.strategy is Strategy.GRID:
            rules.check(self.random_seed is None, ("random_seed",), "has no effect with the Grid strategy")
        if self.warm_start is not None:
            rules.check(
                self.strategy in WARM_START_STRATEGIES,
                ("warm_start",),
                f"warm start informs {' and '.join(WARM_START_STRATEGIES)} search only, not {self.strategy}",
            )
        rules.raise_if_any()
        return self

    def grid(self) -> list[dict[str, str]]:
        """All combinations of a Grid search (what SageMaker will run), in order."""
        cats = self.parameter_ranges.categorical
        return [
            {c.name: v for c, v in zip(cats, combo, strict=True)}
            for combo in itertools.product(*(c.values for c in cats))
        ]

"""Warm-start tuning: which earlier runs' tuning jobs become a run's WarmStartConfig parents, and SageMaker's rules
on a parent.

``tuning.warm_start`` (mlcp.training.tuning_spec.WarmStart) names the parents' source: ``last_successful`` (the
pipeline's most recent SUCCEEDED runs, newest first, through the runs table's ``by_pipeline`` index) or run ids.
A candidate is usable when it is a run of the same pipeline whose tune stage SUCCEEDED (its tuning job is terminal:
"all parent jobs must be in a terminal state") and whose stored spec (``run_spec_json``) keeps SageMaker's
warm-start restrictions with this run's spec (:func:`parent_problem`). A run without a usable parent starts cold and
says why (:class:`WarmStartPlan.cold_reason`: run record, tune stage detail, log line); it never fails for that.

Sources (docs/architecture.md, "Warm start"):
https://docs.aws.amazon.com/sagemaker/latest/dg/automatic-model-tuning-warm-start.html (types and restrictions),
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_HyperParameterTuningJobWarmStartConfig.html
(ParentHyperParameterTuningJobs: 1..5 items; WarmStartType).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, ValidationError

from mlcp.training import run_record
from mlcp.training.context import RunContext
from mlcp.training.payloads import RunStatus, StageName, StageStatus
from mlcp.training.ports import RunIndex, RunStore
from mlcp.training.sagemaker_limits import MAX_TRAINING_JOBS, MAX_TRAINING_JOBS_RANDOM
from mlcp.training.spec import PipelineSpec
from mlcp.training.tuning_spec import Strategy, TuningStage, WarmStartType

MAX_STATIC_CHANGES: Final = 10  # tunable -> static changes plus changed static values (the restrictions list)
_PAGE: Final = 25
_MAX_PAGES: Final = 8  # last_successful looks at most 200 earlier runs (a bounded Lambda invocation)
logger = Logger(child=True)


class WarmStartPlan(BaseModel):
    """What a run does about warm start: its parents (tuning job names, as sent in ``WarmStartConfig``), the runs
    they come from, and why it starts cold when it asked for warm start and has no usable parent."""

    model_config = ConfigDict(frozen=True)

    type: WarmStartType
    parents: list[str] = []
    parent_runs: list[str] = []
    cold_reason: str | None = None

    def config(self) -> dict[str, Any] | None:
        """The CreateHyperParameterTuningJob ``WarmStartConfig``; None when the run starts cold."""
        if not self.parents:
            return None
        return {
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": name} for name in self.parents],
            "WarmStartType": str(self.type),
        }

    def record(self) -> dict[str, Any]:
        """The run record's ``warm_start`` (the issue-15 contract's shape)."""
        return {
            "type": str(self.type),
            "parents": list(self.parents),
            "parent_runs": list(self.parent_runs),
            "cold_reason": self.cold_reason,
        }

    def detail(self) -> str:
        """The tune stage's ``detail``."""
        if self.cold_reason is not None:
            return f"started cold: {self.cold_reason}"
        return f"warm start ({self.type}) from run(s) {', '.join(self.parent_runs)}"


# --- SageMaker's rules on a parent --------------------------------------------------------------------------------
def _kinds(stage: TuningStage) -> dict[str, str]:
    ranges = stage.parameter_ranges
    return {
        **{r.name: "continuous" for r in ranges.continuous},
        **{r.name: "integer" for r in ranges.integer},
        **{r.name: "categorical" for r in ranges.categorical},
    }


def _static_changes(new: TuningStage, parent: TuningStage) -> int:
    """Tunable in the parent and static now (each categorical value counts), plus changed static values (2 each:
    the guide's red -> blue example)."""
    values = {r.name: len(r.values) for r in parent.parameter_ranges.categorical}
    changes = 0
    for name in new.static_hyperparameters:
        if name in _kinds(parent):
            changes += values.get(name, 1)
        elif (
            name in parent.static_hyperparameters
            and parent.static_hyperparameters[name] != (new.static_hyperparameters[name])
        ):
            changes += 2
    return changes


def stage_problem(new: TuningStage, parent: TuningStage, warm_type: WarmStartType) -> str | None:
    """Why SageMaker would refuse ``parent``'s tuning job as a warm-start parent of ``new`` (None: it is usable).

    The restrictions of every warm start: the same objective metric; the same number of static plus tunable
    hyperparameters; no hyperparameter changes its type (continuous, integer, categorical); at most 10 changes from
    tunable to static plus changed static values. IdenticalDataAndAlgorithm also needs the same training image (the
    input data (the dataset version) are compared by :func:`parent_problem`)."""
    if new.objective.metric != parent.objective.metric:
        return f"its objective metric is {parent.objective.metric!r}, this run's is {new.objective.metric!r}"
    new_kinds, parent_kinds = _kinds(new), _kinds(parent)
    new_total = len(new_kinds) + len(new.static_hyperparameters)
    parent_total = len(parent_kinds) + len(parent.static_hyperparameters)
    if new_total != parent_total:
        return (
            f"it had {parent_total} static plus tunable hyperparameters, this run has {new_total} (the total must "
            "stay the same)"
        )
    for name, kind in new_kinds.items():
        if parent_kinds.get(name, kind) != kind:
            return f"hyperparameter {name!r} was {parent_kinds[name]}, now {kind} (the type must not change)"
    changes = _static_changes(new, parent)
    if changes > MAX_STATIC_CHANGES:
        return (
            f"{changes} changes from tunable to static and of static values (SageMaker allows at most "
            f"{MAX_STATIC_CHANGES})"
        )
    if warm_type is WarmStartType.IDENTICAL_DATA_AND_ALGORITHM and new.training.image_uri != parent.training.image_uri:
        return (
            f"it trained with the image {parent.training.image_uri}, this run with {new.training.image_uri} "
            "(IdenticalDataAndAlgorithm needs the same training image; TransferLearning allows another)"
        )
    return None


def _stored_spec(record: Mapping[str, Any]) -> PipelineSpec | None:
    document = record.get(run_record.SPEC_ATTRIBUTE)
    if not isinstance(document, str):
        return None
    try:
        return PipelineSpec.model_validate_json(document)
    except ValidationError:
        return None


def parent_job(record: Mapping[str, Any]) -> str | None:
    """The run's tuning job name, once its tune stage SUCCEEDED (a completed, so terminal, tuning job)."""
    tune = (record.get("stages") or {}).get(StageName.TUNE.value) or {}
    if tune.get("status") != StageStatus.SUCCEEDED.value:
        return None
    name = (record.get("best") or {}).get("tuning_job_name") or tune.get("job_name")
    return str(name) if name else None


def parent_problem(run: RunContext, record: Mapping[str, Any] | None, run_id: str) -> str | None:
    """Why run ``run_id`` (its record) cannot be a warm-start parent of ``run``; None when it can."""
    warm = run.spec.tuning.warm_start
    if record is None:
        return f"run {run_id} does not exist"
    if record.get("pipeline") != run.pipeline:
        return f"run {run_id} belongs to pipeline {record.get('pipeline')!r}, not {run.pipeline!r}"
    if run_id == run.run_id:
        return f"run {run_id} is this run"
    if parent_job(record) is None:
        return f"run {run_id} has no completed tuning job (status {record.get('status')})"
    spec = _stored_spec(record)
    if spec is None or warm is None:
        return f"run {run_id} has no readable stored spec"
    problem = stage_problem(run.spec.tuning, spec.tuning, warm.type)
    if problem is not None:
        return f"run {run_id}: {problem}"
    if warm.type is WarmStartType.IDENTICAL_DATA_AND_ALGORITHM and record.get("dataset_version") != (
        run.dataset_version
    ):
        return (
            f"run {run_id} trained on other data (dataset version {record.get('dataset_version')}): "
            "IdenticalDataAndAlgorithm needs the same input data; TransferLearning allows new data"
        )
    return None


# --- choosing the parents -----------------------------------------------------------------------------------------
def launched_jobs(record: Mapping[str, Any]) -> int:
    """The training jobs a run's tuning job launched: the sum of its TrainingJobStatusCounters (``trials`` on the
    run record, select_best)."""
    counters = record.get("trials") or {}
    return sum(int(v) for v in counters.values() if isinstance(v, int | float) or str(v).isdigit())


def job_limit(stage: TuningStage) -> int:
    """The most training jobs one tuning job may have (sagemaker_limits: 750, Random 10,000). "All training jobs
    launched by parent hyperparameter tuning jobs and the new hyperparameter tuning jobs count against the limit of
    training jobs for the tuning job" (API_HyperParameterTuningJobWarmStartConfig, Note)."""
    return MAX_TRAINING_JOBS_RANDOM if stage.strategy is Strategy.RANDOM else MAX_TRAINING_JOBS


def _recent_successes(run: RunContext, index: RunIndex) -> list[dict[str, Any]]:
    """The pipeline's SUCCEEDED runs other than ``run``, newest first (at most _MAX_PAGES pages of the index)."""
    found: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    for _ in range(_MAX_PAGES):
        items, start = index.page(run.pipeline, RunStatus.SUCCEEDED.value, _PAGE, start)
        found += [item for item in items if item.get("run_id") != run.run_id]
        if start is None:
            break
    return found


def _choose(
    run: RunContext, candidates: Sequence[tuple[str, Mapping[str, Any] | None]], wanted: int
) -> tuple[list[tuple[str, str]], list[str]]:
    """The first ``wanted`` usable candidates as (run id, tuning job), and why each other one was skipped. A parent
    whose launched jobs would take the total over one tuning job's limit is skipped (:func:`job_limit`)."""
    parents: list[tuple[str, str]] = []
    skipped: list[str] = []
    limit, counted = job_limit(run.spec.tuning), run.spec.tuning.max_jobs or 0
    for run_id, record in candidates:
        if len(parents) == wanted:
            break
        problem = parent_problem(run, record, run_id)
        job = parent_job(record or {})
        jobs = launched_jobs(record or {})
        if problem is None and job is not None and counted + jobs > limit:
            problem = (
                f"run {run_id}: its {jobs} training jobs and the {counted} already counted would exceed the "
                f"{limit} training jobs of one tuning job (a parent's jobs count against the limit)"
            )
        if problem is None and job is not None:
            parents.append((run_id, job))
            counted += jobs
        else:
            skipped.append(problem or f"run {run_id} has no tuning job")
    return parents, skipped


def plan(run: RunContext, runs: RunStore, index: RunIndex | None) -> WarmStartPlan | None:
    """The warm start of ``run`` (None when its spec asks for none): at most ``max_parents`` usable parents, or a
    cold start with the reason. Never raises for a missing or unusable parent."""
    warm = run.spec.tuning.warm_start
    if warm is None:
        return None
    explicit = warm.explicit_runs()
    if explicit:
        candidates = [(run_id, runs.get(run_id)) for run_id in explicit]
    elif index is None:
        return WarmStartPlan(type=warm.type, cold_reason="this deployment cannot list the pipeline's runs")
    else:
        candidates = [(str(item.get("run_id")), item) for item in _recent_successes(run, index)]
    parents, skipped = _choose(run, candidates, warm.parents_wanted())
    if parents:
        return WarmStartPlan(type=warm.type, parents=[j for _, j in parents], parent_runs=[r for r, _ in parents])
    if not candidates:
        reason = f"pipeline {run.pipeline} has no earlier SUCCEEDED run"
    else:
        reason = "no usable parent: " + "; ".join(skipped[:5]) + (" …" if len(skipped) > 5 else "")
    return WarmStartPlan(type=warm.type, cold_reason=reason)


def sample_plan(run: RunContext) -> WarmStartPlan | None:
    """The preflight's stand-in: ``max_parents`` (or as many as listed) parents named like this run's tuning job."""
    warm = run.spec.tuning.warm_start
    if warm is None:
        return None
    count = max(len(warm.explicit_runs()), warm.parents_wanted())
    base = run.names.tuning[:28]
    return WarmStartPlan(
        type=warm.type,
        parents=[f"{base}-p{i}" for i in range(1, count + 1)],
        parent_runs=warm.explicit_runs() or [f"parent-{i}" for i in range(1, count + 1)],
    )


def log(run_id: str, plan: WarmStartPlan) -> None:
    """One log line: the parents, or that the run starts cold and why (Powertools' structured log in Lambda)."""
    if plan.cold_reason is not None:
        logger.warning(f"run {run_id} asked for warm start and starts cold: {plan.cold_reason}", extra=plan.record())
    else:
        logger.info(f"run {run_id} warm-starts from {', '.join(plan.parents)}", extra=plan.record())

"""GET /pipelines/{name}/runs/{run_id}/trials: the trials of a run's tuning job, compact and oldest first.

SageMaker's own words: the trials are ListTrainingJobsForHyperParameterTuningJob's HyperParameterTrainingJobSummary
items (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_HyperParameterTrainingJobSummary.html); the
objective and the ranges are the tuning job's HyperParameterTuningJobConfig as DescribeHyperParameterTuningJob
returns it (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ParameterRanges.html), so a chart of the
trials knows whether to maximize and which ranges were searched on a log scale.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mlcp.common.notifications import iso
from mlcp.errors import NotFound
from mlcp.training.api_models import ParameterRangeView, RunTrials, TrialObjective, TrialView, TuningObjectiveView
from mlcp.training.ports import SageMaker

_RANGE_KINDS = (("IntegerParameterRanges", "Integer"), ("ContinuousParameterRanges", "Continuous"))


def tuning_job_of(record: Mapping[str, Any]) -> str | None:
    """The run's tuning job: the tune stage's job (recorded when the request is built), else the best model's."""
    tune = (record.get("stages") or {}).get("tune") or {}
    best = record.get("best") or {}
    name = tune.get("job_name") or best.get("tuning_job_name")
    return str(name) if name else None


def _when(value: Any) -> str | None:
    if isinstance(value, datetime):
        return iso(value)
    return str(value) if value else None


def trial_view(summary: Mapping[str, Any]) -> TrialView:
    """One HyperParameterTrainingJobSummary, compact (times as ISO 8601 UTC)."""
    metric = summary.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
    objective = None
    if metric.get("MetricName"):
        value = metric.get("Value")
        objective = TrialObjective(metric=str(metric["MetricName"]), value=None if value is None else float(value))
    return TrialView(
        training_job_name=str(summary.get("TrainingJobName") or ""),
        status=str(summary.get("TrainingJobStatus") or "Unknown"),
        created_at=_when(summary.get("CreationTime")),
        started_at=_when(summary.get("TrainingStartTime")),
        ended_at=_when(summary.get("TrainingEndTime")),
        hyperparameters={str(k): str(v) for k, v in (summary.get("TunedHyperParameters") or {}).items()},
        objective=objective,
        failure_reason=summary.get("FailureReason"),
    )


def parameter_ranges(config: Mapping[str, Any]) -> list[ParameterRangeView]:
    """HyperParameterTuningJobConfig.ParameterRanges: integer, continuous, then categorical, each in request order."""
    ranges = config.get("ParameterRanges") or {}
    views = [
        ParameterRangeView(
            name=str(r["Name"]),
            type=kind,
            min_value=str(r.get("MinValue")),
            max_value=str(r.get("MaxValue")),
            scaling=r.get("ScalingType") or "Auto",
        )
        for key, kind in _RANGE_KINDS
        for r in ranges.get(key) or []
    ]
    views += [
        ParameterRangeView(name=str(r["Name"]), type="Categorical", values=[str(v) for v in r.get("Values") or []])
        for r in ranges.get("CategoricalParameterRanges") or []
    ]
    return views


def run_trials(record: Mapping[str, Any], sagemaker: SageMaker) -> RunTrials:
    """The trials of the run's tuning job, oldest first, with its objective and ranges. A run whose tuning job
    does not exist (yet) has no trials and a ``reason`` saying why."""
    run_id, pipeline = str(record["run_id"]), str(record.get("pipeline") or "")
    job = tuning_job_of(record)
    tune_status = ((record.get("stages") or {}).get("tune") or {}).get("status") or "not started"
    if job is None:
        why = f"run {run_id} has no tuning job yet (run {record.get('status')}, tune stage {tune_status})"
        return RunTrials(run_id=run_id, pipeline=pipeline, reason=why)
    try:
        summaries = sagemaker.list_tuning_trials(job)
    except NotFound:
        why = f"SageMaker has no tuning job {job} (tune stage {tune_status}): it was not created"
        return RunTrials(run_id=run_id, pipeline=pipeline, tuning_job_name=job, reason=why)
    description = sagemaker.describe_tuning_job(job)
    config = description.get("HyperParameterTuningJobConfig") or {}
    objective = config.get("HyperParameterTuningJobObjective") or {}
    trials = [trial_view(s) for s in summaries]
    return RunTrials(
        run_id=run_id,
        pipeline=pipeline,
        tuning_job_name=job,
        tuning_job_status=description.get("HyperParameterTuningJobStatus"),
        objective=TuningObjectiveView(metric=str(objective["MetricName"]), type=str(objective["Type"]))
        if objective.get("MetricName")
        else None,
        parameter_ranges=parameter_ranges(config),
        trials=trials,
        reason=None if trials else f"tuning job {job} has launched no training job yet",
    )

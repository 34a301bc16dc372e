"""What a tuning job shows: its status, counters and best trial on moto's record, and the summaries of its trials.

``BestTrainingJob`` is the best ``Completed`` trial so far (ties: the earlier trial). Trials that failed with an
``InternalServerError`` or ``CapacityError`` count as retryable errors; an early-stopped Hyperband trial reports its
partial objective, so its objective counts as succeeded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from mlcp_cli.local.backends.sagemaker_records import Timestamp
from mlcp_cli.local.backends.timelines import TERMINAL, Job, Trial, Tuning

_RETRYABLE: Final = ("InternalServerError", "CapacityError")
_SORT_FIELDS: Final[Mapping[str, str]] = {
    "Name": "TrainingJobName",
    "CreationTime": "CreationTime",
    "Status": "TrainingJobStatus",
}


def better(tuning: Tuning, a: Trial, b: Trial) -> bool:
    va, vb = tuning.objective_value(a), tuning.objective_value(b)
    if va is None or vb is None:
        return vb is None and va is not None
    if va == vb:
        return a.index < b.index
    return va > vb if tuning.maximize else va < vb


def _not_improving(tuning: Tuning, now: float) -> int:
    completed = sorted(
        (tr for tr in tuning.trials if tr.job.state(now).status == "Completed"),
        key=lambda tr: (tr.job.end, tr.index),
    )
    best: Trial | None = None
    since = 0
    for trial in completed:
        if best is None or better(tuning, trial, best):
            best, since = trial, 0
        else:
            since += 1
    return since


def _objective_status(tuning: Tuning, trial: Trial, status: str) -> dict[str, Any]:
    if status == "Failed":
        return {"FailureReason": trial.job.failure, "ObjectiveStatus": "Failed"}
    if trial.job.reports_metrics(status):
        value = tuning.objective_value(trial)
        result: dict[str, Any] = {"ObjectiveStatus": "Succeeded"}
        if value is not None:
            result["FinalHyperParameterTuningJobObjectiveMetric"] = {
                "Type": tuning.objective_type,
                "MetricName": tuning.objective,
                "Value": value,
            }
        return result
    return {"ObjectiveStatus": "Failed" if status == "Stopped" else "Pending"}


def summary(tuning: Tuning, trial: Trial, now: float, timestamp: Timestamp) -> dict[str, Any]:
    """The trial as ListTrainingJobsForHyperParameterTuningJob (and BestTrainingJob) report it at ``now``."""
    job = trial.job
    state = job.state(now)
    start = job.started(now)
    result: dict[str, Any] = {
        "TrainingJobName": job.name,
        "TrainingJobArn": job.fake.arn,
        "CreationTime": timestamp(job.created),
        "TrainingJobStatus": state.status,
        "TunedHyperParameters": dict(trial.values),
    }
    if start is not None:
        result["TrainingStartTime"] = timestamp(start)
    if state.status in TERMINAL:
        result["TrainingEndTime"] = timestamp(state.t)
    result.update(_objective_status(tuning, trial, state.status))
    return result


def _counted(trial: Trial, status: str) -> tuple[str, str]:
    """(training job status counter, objective status counter) a trial in ``status`` counts in."""
    if status == "Completed":
        return "Completed", "Succeeded"
    if status == "Failed":
        retryable = any(w in (trial.job.failure or "") for w in _RETRYABLE)
        return ("RetryableError" if retryable else "NonRetryableError"), "Failed"
    if status == "Stopped":
        return "Stopped", "Succeeded" if trial.job.outcome.metrics_when_stopped else "Failed"
    return "InProgress", "Pending"


def _status(tuning: Tuning, end: float | None) -> str:
    if end is not None:
        return tuning.final_status or "Completed"
    return "Stopping" if tuning.stop_requested is not None else "InProgress"


@dataclass
class _Counts:
    """The trials of a tuning job at one time: status counters, the best completed one, the last event."""

    last_event: float
    training: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("Completed", "InProgress", "RetryableError", "NonRetryableError", "Stopped"), 0
        )
    )
    objectives: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("Succeeded", "Pending", "Failed"), 0))
    best: Trial | None = None


def _count(tuning: Tuning, now: float, settle: Callable[[Job, float], None]) -> _Counts:
    counts = _Counts(last_event=tuning.created)
    for trial in tuning.trials:
        settle(trial.job, now)
        state = trial.job.state(now)
        counts.last_event = max(counts.last_event, state.t)
        counter, objective = _counted(trial, state.status)
        counts.training[counter] += 1
        counts.objectives[objective] += 1
        if state.status == "Completed" and (counts.best is None or better(tuning, trial, counts.best)):
            counts.best = trial
    return counts


def show(tuning: Tuning, now: float, settle: Callable[[Job, float], None], timestamp: Timestamp) -> None:
    """Write the tuning job's state at ``now`` onto moto's record (settling each trial to ``now`` first)."""
    fake = tuning.fake
    end = tuning.ended if tuning.ended is not None and tuning.ended <= now else None
    counts = _count(tuning, now, settle)
    status = _status(tuning, end)
    fake.hyper_parameter_tuning_job_status = status
    fake.creation_time = timestamp(tuning.created)
    fake.last_modified_time = timestamp(max(counts.last_event, end or 0.0))
    fake.hyper_parameter_tuning_end_time = timestamp(end) if end is not None else None
    fake.training_job_status_counters = counts.training
    fake.objective_status_counters = counts.objectives
    fake.best_training_job = summary(tuning, counts.best, now, timestamp) if counts.best is not None else None
    fake.OverallBestTrainingJob = None
    fake.failure_reason = tuning.failure if end is not None and status == "Failed" else None
    fake.tuning_job_completion_details = {"NumberOfTrainingJobsObjectiveNotImproving": _not_improving(tuning, now)}
    fake.consumed_resources = {"RuntimeInSeconds": int((end if end is not None else now) - tuning.created)}


def _sorted(summaries: list[dict[str, Any]], sort_by: str) -> list[dict[str, Any]]:
    if sort_by == "FinalObjectiveMetricValue":
        scored = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
        return sorted(scored, key=lambda s: float(s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]))
    field_name = _SORT_FIELDS.get(sort_by, "TrainingJobName")
    return sorted(summaries, key=lambda s: (s[field_name], s["TrainingJobName"]))


def page_of_trials(summaries: list[dict[str, Any]], p: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """ListTrainingJobsForHyperParameterTuningJob's filter, sort and page (the token is the next offset)."""
    if p.get("status_equals"):
        summaries = [s for s in summaries if s["TrainingJobStatus"] == p["status_equals"]]
    summaries = _sorted(summaries, str(p.get("sort_by") or "Name"))
    if p.get("sort_order") == "Descending":
        summaries.reverse()
    start = int(p.get("next_token") or 0)
    size = int(p.get("max_results") or 10)
    page = summaries[start : start + size]
    token = str(start + size) if start + size < len(summaries) else None
    return page, token

"""A SageMaker job's timeline as moto's record shows it at a given simulated time.

Jobs are brought up to date lazily, whenever they are described or listed (or ``JobBackend.settle`` is called);
nothing runs in the background. :func:`settle` writes the state of the job at that time onto moto's record
(statuses, start and end times, failure reason; for training the secondary status transitions, training and
billable seconds and the final metrics) and, when the job has just completed, its outputs (a failed upload turns the
completion into a failure nobody has seen yet). ``TrainingStartTime`` is the end of ``Starting``,
``TrainingTimeInSeconds`` runs from there to the end, ``BillableTimeInSeconds`` is 35 % of it with managed spot
training.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from mlcp_cli.local.backends.sagemaker_artifacts import finalize
from mlcp_cli.local.backends.timelines import SUCCEEDED, TERMINAL, Event, Job

Timestamp = Callable[[float], datetime]
"""Simulated seconds -> the naive UTC datetime moto stores."""

_SPOT_BILLABLE: Final = 0.35


@dataclass(frozen=True)
class _Shown:
    """What a job shows at the time it is settled to."""

    current: Event
    start: float | None
    failure: str | None

    @property
    def terminal(self) -> bool:
        return self.current.status in TERMINAL


def drop_none(response: Mapping[str, Any], *keep: str) -> dict[str, Any]:
    """moto's response without the members it sets to None (AWS omits them), but for ``keep``."""
    return {k: v for k, v in response.items() if v is not None or k in keep}


def _completed(job: Job, current: Event, at: float) -> Event:
    """``current``, or the failure it turns into when writing the outputs of a job that just completed fails."""
    if current.status in SUCCEEDED and not job.finalized and current.t <= at:
        job.finalized = True
        error = finalize(job)
        if error is not None:  # nobody has seen it Completed yet: it failed while uploading
            job.failure = error
            failed = "FAILED" if job.kind == "compilation" else "Failed"
            job.events[-1] = Event(current.t, failed, "Failed" if job.kind == "training" else None, error)
            return job.events[-1]
    elif current.status in TERMINAL:
        job.finalized = True
    return current


def transitions(job: Job, at: float, timestamp: Timestamp) -> list[dict[str, Any]]:
    seen = job.seen(at)
    out: list[dict[str, Any]] = []
    for i, event in enumerate(seen):
        item: dict[str, Any] = {
            "Status": event.secondary,
            "StartTime": timestamp(event.t),
            "StatusMessage": event.message,
        }
        if i + 1 < len(seen):
            item["EndTime"] = timestamp(seen[i + 1].t)
        elif event.status in TERMINAL:
            item["EndTime"] = timestamp(event.t)
        out.append(item)
    return out


def _billable(seconds: int | None, spot: bool) -> int | None:
    if seconds is None:
        return None
    return max(1, int(seconds * _SPOT_BILLABLE)) if spot else seconds


def _show_training(job: Job, shown: _Shown, at: float, timestamp: Timestamp) -> None:
    fake, current, start = job.fake, shown.current, shown.start
    fake.training_job_status = current.status
    fake.secondary_status = current.secondary
    fake.secondary_status_transitions = transitions(job, at, timestamp)
    fake.training_start_time = timestamp(start) if start is not None else None
    fake.training_end_time = timestamp(current.t) if shown.terminal else None
    fake.failure_reason = shown.failure
    # Whole seconds, rounded up: a real script-mode trial here can run for under a second, which truncated to 0
    # billable seconds (a free job); on AWS a job that started is never under one second.
    seconds = max(1, math.ceil(current.t - start - 1e-6)) if shown.terminal and start is not None else None
    fake.training_time_in_seconds = seconds
    fake.billable_time_in_seconds = _billable(seconds, job.spot)
    fake.final_metric_data_list = (
        [{"MetricName": k, "Value": v, "Timestamp": timestamp(current.t)} for k, v in job.outcome.metrics.items()]
        if job.reports_metrics(current.status) and shown.terminal
        else None
    )


def _show_processing(job: Job, shown: _Shown, _at: float, timestamp: Timestamp) -> None:
    fake, current, start = job.fake, shown.current, shown.start
    fake.processing_job_status = current.status
    fake.processing_start_time = timestamp(start) if start is not None else None
    fake.processing_end_time = timestamp(current.t) if shown.terminal else None
    fake.failure_reason = shown.failure
    fake.exit_message = shown.failure


def _show_compilation(job: Job, shown: _Shown, _at: float, timestamp: Timestamp) -> None:
    fake, current, start = job.fake, shown.current, shown.start
    fake.compilation_job_status = current.status
    fake.compilation_start_time = timestamp(start) if start is not None else None
    fake.compilation_end_time = timestamp(current.t) if shown.terminal else None
    fake.failure_reason = shown.failure or ""


_SHOW: Final[Mapping[str, Callable[[Job, _Shown, float, Timestamp], None]]] = {
    "training": _show_training,
    "processing": _show_processing,
    "compilation": _show_compilation,
}


def settle(job: Job, at: float, timestamp: Timestamp) -> None:
    """Show ``job`` as it is at ``at`` on moto's record; on reaching Completed, write its outputs."""
    current = _completed(job, job.state(at), at)
    start = job.started(at)
    job.fake.last_modified_time = timestamp(current.t)
    job.fake.creation_time = timestamp(job.created)
    failure = job.failure if current.status in ("Failed", "FAILED") else None
    _SHOW[job.kind](job, _Shown(current, start, failure), at, timestamp)

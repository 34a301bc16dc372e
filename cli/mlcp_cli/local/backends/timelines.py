"""SageMaker jobs as timelines on the simulated clock, and the tuning jobs whose trials they are.

A job is planned once, at creation, as a timeline of (simulated time, status, secondary status) events; describe
calls show the events up to ``clock.now()``. Training: ``Starting`` (12 % of the duration) → ``Downloading`` (6 %)
→ ``Training`` → ``Uploading`` (last 10 %) → ``Completed``. Processing starts its instances after 30 % of its
duration; compilation is ``STARTING`` for 15 %, then ``INPROGRESS``, then ``COMPLETED`` (AWS's uppercase
statuses). A failing job ends ``Failed`` half-way through its work with its ``FailureReason``. A stop request makes
a running job ``Stopping`` for ``durations.stopping`` and then ``Stopped``; a training job that would outlive its
``StoppingCondition.MaxRuntimeInSeconds`` ends ``Stopped`` / ``MaxRuntimeExceeded``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from moto.sagemaker.models import SageMakerModelBackend

from mlcp_cli.local.backends.landscape import Landscape, Param

OPEN: Final = math.inf
"""The time of the last event of a script job whose process still runs: its end is not known yet."""
TERMINAL: Final = frozenset({"Completed", "Failed", "Stopped", "COMPLETED", "FAILED", "STOPPED"})
SUCCEEDED: Final = frozenset({"Completed", "COMPLETED"})


@dataclass(frozen=True)
class Event:
    t: float  # simulated seconds
    status: str
    secondary: str | None
    message: str


@dataclass
class Outcome:
    """What a job produces when it completes (decided at creation)."""

    metrics: dict[str, float] = field(default_factory=dict)
    objective: tuple[str, str, float] | None = None  # (metric, Maximize|Minimize, value)
    payload: int = 0
    artifact_uri: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    metrics_when_stopped: bool = False  # Hyperband: an early-stopped trial reports its partial objective
    files: dict[str, bytes] | None = None  # a script job's real outputs (S3 URI -> bytes), written when it completes


@dataclass
class Job:
    kind: str  # "processing" | "training" | "compilation"
    name: str
    fake: Any  # moto's record: FakeProcessingJob | FakeTrainingJob | CompilationJob
    backend: SageMakerModelBackend
    created: float
    events: list[Event]
    start_marker: str  # the secondary status / status whose first event is the *StartTime
    failure: str | None = None
    spot: bool = False
    outcome: Outcome = field(default_factory=Outcome)
    tuning: Tuning | None = None
    finalized: bool = False
    artifact_bytes: int | None = None
    stop_requested: float | None = None
    run: Any = None  # a script job's ScriptRun (mlcp_cli.local.backends.script_jobs); None for a simulated job

    @property
    def end(self) -> float:
        """Planned time of the terminal event."""
        return self.events[-1].t

    def seen(self, at: float) -> list[Event]:
        seen = [e for e in self.events if e.t <= at]
        return seen or self.events[:1]

    def state(self, at: float) -> Event:
        return self.seen(at)[-1]

    def started(self, at: float) -> float | None:
        for e in self.seen(at):
            if self.start_marker in (e.secondary, e.status):
                return e.t
        return None

    def truncate(self, at: float, *tail: Event) -> None:
        self.events = [e for e in self.events if e.t <= at and e.status not in TERMINAL] + list(tail)

    def reports_metrics(self, status: str) -> bool:
        """Whether the job shows its final metrics in ``status`` (an early-stopped Hyperband trial does too)."""
        return status in SUCCEEDED or (status == "Stopped" and self.outcome.metrics_when_stopped)

    def stop(self, at: float, stopping_seconds: float) -> None:
        """A stop request at ``at``: Stopping now, Stopped ``stopping_seconds`` later."""
        stopping, stopped = _STOP_EVENTS[self.kind]
        self.stop_requested = at
        self.truncate(at, Event(at, *stopping), Event(at + stopping_seconds, *stopped))


_STOP_EVENTS: Final[Mapping[str, tuple[tuple[str, str | None, str], tuple[str, str | None, str]]]] = {
    "training": (
        ("Stopping", "Stopping", "Stopping the training job"),
        ("Stopped", "Stopped", "Training job stopped"),
    ),
    "processing": (("Stopping", None, "Stopping the processing job"), ("Stopped", None, "Processing job stopped")),
    "compilation": (("STOPPING", None, "Stopping the compilation job"), ("STOPPED", None, "Compilation job stopped")),
}


def training_events(created: float, duration: float, failure: str | None, max_runtime: float | None) -> list[Event]:
    started = created + 0.12 * duration
    training = started + 0.06 * duration
    uploading = created + 0.9 * duration
    end = created + duration
    events = [
        Event(created, "InProgress", "Starting", "Preparing the instances for training"),
        Event(started, "InProgress", "Downloading", "Downloading input data"),
        Event(training, "InProgress", "Training", "Training image download completed. Training in progress."),
        Event(uploading, "InProgress", "Uploading", "Uploading generated training model"),
        Event(end, "Completed", "Completed", "Training job completed"),
    ]
    if failure is not None:
        at = training + 0.5 * (uploading - training)
        return [e for e in events if e.t < at] + [Event(at, "Failed", "Failed", f"Training job failed: {failure}")]
    if max_runtime is not None and end - started > max_runtime:
        at = started + max_runtime
        return [e for e in events if e.t < at] + [
            Event(at, "Stopped", "MaxRuntimeExceeded", "Training job exceeded MaxRuntimeInSeconds")
        ]
    return events


def script_events(kind: str, created: float, setup: float, failure: str | None) -> list[Event]:
    """A script job's events until its process ends (its last event at :data:`OPEN`); a job that could not start
    fails at the end of its setup."""
    if kind == "processing":
        events = [
            Event(created, "InProgress", None, "Provisioning instances"),
            Event(created + setup, "InProgress", "Running", "Processing job running"),
        ]
    else:
        events = [
            Event(created, "InProgress", "Starting", "Preparing the instances for training"),
            Event(created, "InProgress", "Downloading", "Downloading input data"),
            Event(created + setup, "InProgress", "Training", "Training in progress (local process)."),
        ]
    last = events[-1]
    if failure is not None:
        return [*events[:-1], Event(last.t, "Failed", "Failed" if kind == "training" else None, failure)]
    return [*events, Event(OPEN, last.status, last.secondary, last.message)]


def _fail_half_way(events: list[Event], start: float, end: float, status: str, failure: str | None) -> list[Event]:
    """Provisioning, running, then ``status`` half-way through the work when the job fails; ``events`` otherwise."""
    if failure is None:
        return events
    return [*events[:2], Event(start + 0.5 * (end - start), status, None, failure)]


def processing_events(now: float, duration: float, failure: str | None) -> list[Event]:
    start = now + 0.3 * duration
    events = [
        Event(now, "InProgress", None, "Provisioning instances"),
        Event(start, "InProgress", "Running", "Processing job running"),
        Event(now + duration, "Completed", None, "Processing job completed"),
    ]
    return _fail_half_way(events, start, now + duration, "Failed", failure)


def compilation_events(now: float, duration: float, failure: str | None) -> list[Event]:
    start = now + 0.15 * duration
    events = [
        Event(now, "STARTING", None, "Starting the compilation job"),
        Event(start, "INPROGRESS", None, "Compiling the model"),
        Event(now + duration, "COMPLETED", None, "Compilation job completed"),
    ]
    return _fail_half_way(events, start, now + duration, "FAILED", failure)


@dataclass
class Trial:
    index: int
    values: dict[str, str]
    quality: float
    job: Job


@dataclass
class Tuning:
    name: str
    fake: Any  # moto's HyperParameterTuningJob
    backend: SageMakerModelBackend
    created: float
    strategy: str
    params: list[Param]
    landscape: Landscape
    objective: str
    objective_type: str
    max_jobs: int
    max_parallel: int
    seed: str
    definition: dict[str, Any]
    tags: list[dict[str, str]]
    grid: list[dict[str, str]] | None
    min_resource_fraction: float
    planned_failure: str | None
    trials: list[Trial] = field(default_factory=list)
    cursor: float = 0.0
    ended: float | None = None
    final_status: str | None = None
    failure: str | None = None
    stop_requested: float | None = None
    prior: list[Trial] = field(default_factory=list)  # the warm-start parents' completed trials (oldest first)

    @property
    def maximize(self) -> bool:
        return self.objective_type != "Minimize"

    def objective_value(self, trial: Trial) -> float | None:
        metric = trial.job.outcome.objective
        return metric[2] if metric is not None else None

    def completed_by(self, at: float) -> list[Trial]:
        """The trials that had completed by ``at`` (as planned: the scheduler's view)."""
        return [tr for tr in self.trials if tr.job.end <= at and tr.job.events[-1].status == "Completed"]

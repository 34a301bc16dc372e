"""What every job lifecycle reads of its :class:`~mlcp_cli.local.backends.jobs.JobBackend`: the clock, the faults,
the durations, and simulated seconds as moto's datetimes. The lifecycles read them at every call, so a test may
adjust a live backend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mlcp_cli.local.backends.clock import SimClock
from mlcp_cli.local.faults import Faults


@dataclass(frozen=True)
class JobDurations:
    """Simulated seconds each kind of job takes (see :mod:`mlcp_cli.local.backends` for how trials vary)."""

    processing: float = 300.0
    training: float = 600.0  # a tuning trial or plain training job at complexity 0.5
    compression: float = 420.0
    compilation: float = 240.0
    tuning_startup: float = 30.0  # from CreateHyperParameterTuningJob to the first trials
    stopping: float = 20.0  # Stopping -> Stopped
    batch_child: float = 120.0  # default duration of one array child (its RUNNING phase)
    batch_startup: float = 15.0  # SUBMITTED -> ... -> RUNNING of a child

    def training_seconds(self, complexity: float) -> float:
        """A tuning trial or plain training job: ``training * (0.7 + 0.6 * complexity)``."""
        return self.training * (0.7 + 0.6 * complexity)


class JobSettings(Protocol):
    clock: SimClock
    faults: Faults
    durations: JobDurations

    def timestamp(self, t: float) -> datetime:
        """Simulated seconds -> a naive UTC datetime (what moto stores)."""
        ...

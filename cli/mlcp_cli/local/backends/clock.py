"""Simulated time of the local cloud.

Jobs, Wait states and Retry intervals run on this clock: one simulated second takes ``1 / speed`` wall seconds, so a
30-minute tuning job at ``speed=1000`` finishes in 1.8 s while every timestamp, duration and poll count stays what it
would be on AWS.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SimClock:
    def __init__(self, speed: float = 1.0, *, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.speed = speed
        self._start = start or datetime.now(UTC)
        self._wall0 = time.monotonic()
        self._lock = threading.Lock()

    def seconds(self) -> float:
        """Simulated seconds since the clock started."""
        return (time.monotonic() - self._wall0) * self.speed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.seconds())

    def sleep(self, simulated_seconds: float) -> None:
        """Block for ``simulated_seconds`` of simulated time."""
        if simulated_seconds > 0:
            time.sleep(simulated_seconds / self.speed)

    def wall(self, simulated_seconds: float) -> float:
        """Wall seconds that ``simulated_seconds`` take."""
        return simulated_seconds / self.speed

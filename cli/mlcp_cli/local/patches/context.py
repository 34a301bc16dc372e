"""The running local cloud as the moto patches see it, and the one switch that turns them on (``activate``).

Every patch asks :func:`active` when it runs: ``None`` means moto behaves exactly as released, so plain-moto tests in
the same process are unaffected.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlcp_cli.local.backends.clock import SimClock
from mlcp_cli.local.dispatch import Dispatcher
from mlcp_cli.local.faults import Faults
from mlcp_cli.local.runtime import LambdaRuntime

if TYPE_CHECKING:
    from mlcp_cli.local.patches.iam import RoleSessions


@dataclass
class LocalContext:
    """What the fixes need of the running local cloud."""

    clock: SimClock
    faults: Faults
    runtime: LambdaRuntime
    dispatcher: Dispatcher
    iam: RoleSessions | None = None  # IAM enforcement (None: every call is allowed, as in plain moto)
    sequencer: int = 0
    delivered: list[dict[str, Any]] = field(default_factory=list)  # (rule, event) of every match, for tests
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_sequencer(self) -> str:
        """S3 sequencers are hex strings that grow with each event on a key; one counter grows for all keys."""
        with self.lock:
            self.sequencer += 1
            return f"{0x617F08299329D189 + self.sequencer:016X}00"


_ACTIVE: LocalContext | None = None


def active() -> LocalContext | None:
    """The running local cloud, or None (then every patch defers to moto as released)."""
    return _ACTIVE


def set_active(context: LocalContext | None) -> None:
    global _ACTIVE  # noqa: PLW0603 - the one switch of the fixes
    _ACTIVE = context

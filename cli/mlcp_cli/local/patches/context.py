"""The running local cloud as the moto patches see it, and the one switch that turns them on (``activate``).

Every patch asks :func:`active` when it runs: ``None`` means moto behaves exactly as released, so plain-moto tests in
the same process are unaffected.
"""

from __future__ import annotations

import hashlib
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
    sequencers: dict[tuple[str, str], int] = field(default_factory=dict)  # per (bucket, key): events so far
    delivered: list[dict[str, Any]] = field(default_factory=list)  # (rule, event) of every match, for tests
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_sequencer(self, bucket: str, key: str) -> str:
        """S3 sequencers are hex strings that grow with each event on one key, and say nothing across keys ("you
        can't use sequencer to determine order for events on different object keys",
        https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html): one counter
        per key, from a base drawn from the key's hash, so code that compares sequencers of different keys errs
        here as it would on AWS."""
        with self.lock:
            count = self.sequencers.get((bucket, key), 0) + 1
            self.sequencers[(bucket, key)] = count
        base = int.from_bytes(hashlib.sha256(f"{bucket}/{key}".encode()).digest()[:6], "big") << 16
        return f"{base + count:016X}00"


_ACTIVE: LocalContext | None = None


def active() -> LocalContext | None:
    """The running local cloud, or None (then every patch defers to moto as released)."""
    return _ACTIVE


def set_active(context: LocalContext | None) -> None:
    global _ACTIVE  # noqa: PLW0603 - the one switch of the fixes
    _ACTIVE = context

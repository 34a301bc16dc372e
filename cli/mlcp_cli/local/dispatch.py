"""Asynchronous deliveries of the local cloud (EventBridge targets, Lambda async invokes, Scheduler targets).

AWS delivers these in the background; so does the local cloud, on a small thread pool. ``drain()`` waits until
nothing is in flight, so tests and the demo can tell "everything that was triggered has been delivered".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

LOG = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, workers: int = 8) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlcp-local-delivery")
        self._pending = 0
        self._idle = threading.Condition()
        self.errors: list[str] = []

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        with self._idle:
            self._pending += 1
        self._pool.submit(self._run, fn, *args)

    def _run(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:  # a delivery must never die silently: keep it for `status` and tests
            LOG.exception("local delivery failed")
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    @property
    def pending(self) -> int:
        with self._idle:
            return self._pending

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until no delivery is in flight; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

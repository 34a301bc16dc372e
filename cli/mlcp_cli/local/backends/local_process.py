"""One script-mode job's process: started with ``sys.executable``, its output captured line by line, killed when it
outlives ``MaxRuntimeInSeconds`` or is stopped.

Like SageMaker, a stop (or the runtime limit) sends ``SIGTERM`` to the process group and ``SIGKILL`` after a grace
period (SageMaker gives 120 s, https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StoppingCondition.html;
locally :data:`GRACE_SECONDS`). ``on_exit`` is called from the reader thread once the process has ended, so the job
backend can settle the job (and launch the next tuning trials) without waiting for a Describe call.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

GRACE_SECONDS: Final = 2.0


@dataclass(frozen=True)
class Exit:
    """How the process ended: exit code, wall seconds it ran, why it was killed (if it was), its output."""

    code: int
    seconds: float
    timed_out: bool
    stopped: bool
    log: str


class LocalProcess:
    """A running script (module docstring). Thread-safe; :meth:`exit` is None until the process has ended."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        log_path: Path,
        max_runtime: float | None,
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        self._log_path = log_path
        self._on_exit = on_exit
        self._lines: list[str] = []
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._timed_out = False
        self._stopped = False
        self._ended: float | None = None
        self.started = time.monotonic()
        self.started_epoch = time.time()
        self._proc = subprocess.Popen(  # noqa: S603 - the job's own script, run as SageMaker's container would
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            start_new_session=True,
        )
        self._timer = threading.Timer(max_runtime, self._timeout) if max_runtime is not None else None
        if self._timer is not None:
            self._timer.daemon = True
            self._timer.start()
        self._reader = threading.Thread(target=self._read, name=f"mlcp-job-{self._proc.pid}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        stream = self._proc.stdout
        with self._log_path.open("w") as log:
            if stream is not None:
                for line in stream:
                    log.write(line)
                    log.flush()
                    with self._lock:
                        self._lines.append(line)
        self._proc.wait()
        self._ended = time.monotonic()
        if self._timer is not None:
            self._timer.cancel()
        self._done.set()
        callback = self._on_exit
        if callback is not None:
            try:
                callback()
            except Exception:
                return

    def _signal(self, sig: int) -> None:
        if self._proc.poll() is not None:  # ended and reaped: its group id may belong to someone else by now
            return
        try:
            os.killpg(self._proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return

    def _terminate(self) -> None:
        if self._done.is_set():
            return
        self._signal(signal.SIGTERM)
        killer = threading.Timer(GRACE_SECONDS, self._signal, args=(signal.SIGKILL,))
        killer.daemon = True
        killer.start()

    def _timeout(self) -> None:
        self._timed_out = True
        self._terminate()

    def stop(self) -> None:
        """StopTrainingJob / StopProcessingJob: SIGTERM now, SIGKILL after the grace period."""
        if not self._done.is_set():
            self._stopped = True
            self._terminate()

    def detach(self) -> None:
        """Forget the exit callback (the local cloud is shutting down) and kill the process."""
        self._on_exit = None
        self._signal(signal.SIGKILL)

    @property
    def log(self) -> str:
        with self._lock:
            return "".join(self._lines)

    def wait(self, timeout: float | None = None) -> Exit | None:
        """Wait up to ``timeout`` wall seconds for the process to end (its output read to the end)."""
        self._done.wait(timeout)
        return self.exit()

    def exit(self) -> Exit | None:
        if not self._done.is_set() or self._ended is None:
            return None
        code = self._proc.returncode
        return Exit(
            code=code if code is not None else -1,
            seconds=self._ended - self.started,
            timed_out=self._timed_out,
            stopped=self._stopped,
            log=self.log,
        )

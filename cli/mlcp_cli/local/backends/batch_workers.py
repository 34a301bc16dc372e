"""The reference batch worker (examples/batch/worker.py) run for real: each AWS Batch child as a local process.

The trigger: a job whose container command is the reference worker's, ``python worker.py`` (or ``python3``), from
the job definition or the submit request's ``containerOverrides.command``. The demo registers such a job definition
(``<stack>-batch-worker-local``); the stack's own ``<stack>-batch-worker`` fetches the worker from its Lambda layer
(a command the local cloud does not run) and keeps the cost model of :mod:`.batch`, like every other job definition.

Each child runs ``sys.executable worker.py`` in its own temporary working directory, with the environment AWS Batch
gives a container (https://docs.aws.amazon.com/batch/latest/userguide/job_env_vars.html: ``AWS_BATCH_JOB_ID``,
``AWS_BATCH_JOB_ATTEMPT``, ``AWS_BATCH_JQ_NAME``, ``AWS_BATCH_JOB_ARRAY_INDEX`` for an array child), the job
definition's environment overlaid by the request's ``containerOverrides.environment`` (the shard contract:
``MLCP_*``, ``MODEL_URI``), and the local cloud's endpoint with placeholder credentials (``AWS_ENDPOINT_URL``, as
`mlcp local serve` prints them for any boto3 client) - nothing of the host's environment but ``PATH``, so a host's
AWS profile never leaks in. At most ``parallelism`` children run at once; the rest wait (RUNNABLE).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from mlcp_cli.local.backends.local_process import Exit, LocalProcess

WORKER_SCRIPT: Final = "worker.py"
_PYTHONS: Final = ("python", "python3")
LOG_GROUP: Final = "/aws/batch/job"
"""Where AWS Batch sends a container's output (awslogs driver default), stream ``<definition>/default/<task id>``."""


def runs_reference_worker(command: Sequence[str] | None) -> bool:
    """True for the reference worker's container command: ``python worker.py`` / ``python3 worker.py``."""
    if command is None or len(command) != 2:
        return False
    return Path(str(command[0])).name in _PYTHONS and str(command[1]) == WORKER_SCRIPT


def container_environment(
    definition: Sequence[Mapping[str, str]], overrides: Sequence[Mapping[str, str]]
) -> dict[str, str]:
    """The job definition's environment overlaid by the submit request's ``containerOverrides.environment``."""
    env = {str(e.get("name")): str(e.get("value")) for e in definition}
    env.update({str(e.get("name")): str(e.get("value")) for e in overrides})
    return env


def batch_environment(job_id: str, queue: str, index: int | None, attempt: int = 1) -> dict[str, str]:
    """The variables AWS Batch sets in every container of a job (the array index only for an array child)."""
    env = {"AWS_BATCH_JOB_ID": job_id, "AWS_BATCH_JOB_ATTEMPT": str(attempt), "AWS_BATCH_JQ_NAME": queue}
    if index is not None:
        env["AWS_BATCH_JOB_ARRAY_INDEX"] = str(index)
    return env


def cloud_environment(endpoint: str, region: str) -> dict[str, str]:
    """How a local process reaches the local cloud: its endpoint and moto's placeholder credentials."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }


@dataclass
class WorkerRun:
    """One child: its environment, and its process once started. Times are wall-clock (time.monotonic)."""

    job_id: str
    env: dict[str, str]
    queued: float = field(default_factory=time.monotonic)
    process: LocalProcess | None = None
    cancelled: bool = False
    root: Path | None = None

    @property
    def exit(self) -> Exit | None:
        return None if self.process is None else self.process.exit()

    def stop(self) -> None:
        """TerminateJob / CancelJob: never start; SIGTERM (then SIGKILL) if running."""
        self.cancelled = True
        if self.process is not None:
            self.process.stop()


class BatchWorkers:
    """Runs :class:`WorkerRun` s as processes, ``parallelism`` at a time, in submission order."""

    def __init__(self, script: Path, parallelism: int, on_exit: Callable[[], None] | None = None) -> None:
        self.script = script
        self.parallelism = max(1, parallelism)
        self._on_exit = on_exit
        self._queue: list[WorkerRun] = []
        self._running: list[WorkerRun] = []
        self._all: list[WorkerRun] = []
        self._lock = threading.Lock()
        self._base: Path | None = None

    def submit(self, runs: Sequence[WorkerRun]) -> None:
        with self._lock:
            self._queue.extend(runs)
            self._all.extend(runs)
        self._start_next()

    def _start_next(self) -> None:
        with self._lock:
            self._running = [r for r in self._running if r.exit is None]
            while self._queue and len(self._running) < self.parallelism:
                run = self._queue.pop(0)
                if run.cancelled:
                    continue
                run.root = self._root(run)
                env = {"PATH": os.environ.get("PATH", ""), "HOME": str(run.root), "PYTHONUNBUFFERED": "1", **run.env}
                run.process = LocalProcess(
                    [sys.executable, str(self.script)],
                    cwd=run.root,
                    env=env,
                    log_path=run.root / "container.log",
                    max_runtime=None,
                    on_exit=self._exited,
                )
                self._running.append(run)

    def _root(self, run: WorkerRun) -> Path:
        if self._base is None:
            self._base = Path(tempfile.mkdtemp(prefix="mlcp-batch-"))
        root = self._base / run.job_id.replace(":", "-")
        root.mkdir(parents=True, exist_ok=True)
        return root

    def _exited(self) -> None:
        self._start_next()
        if self._on_exit is not None:
            self._on_exit()

    def wait(self, timeout: float = 60.0) -> bool:
        """Wait (wall seconds) until no child is queued or running (for tests and the demo)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                busy = [r for r in self._all if not r.cancelled and r.exit is None]
            if not busy:
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        """Kill every process still running and delete the working directories."""
        with self._lock:
            runs, self._queue = list(self._all), []
        for run in runs:
            run.cancelled = True
            if run.process is not None:
                run.process.detach()
        if self._base is not None:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None

"""What the ``.sync`` integrations share (``sagemaker_sync`` and ``batch_sync``): one back-off between two polls of
the job, and one poll loop that stops the job when the execution is stopped meanwhile, as Step Functions does.

moto's own loop sleeps a fixed 0.5 s of wall time per poll and leaves the job running when the execution stops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# How often a .sync task describes its job (wall seconds): from the first to the longest interval, growing 1.5x.
_SYNC_POLL_SECONDS = (0.05, 0.5)


def backoff(env: Any) -> Callable[[], None]:
    """The pause between two polls of a ``.sync`` job: from the first to the longest interval, growing 1.5x; an
    execution that stops meanwhile ends the pause."""
    interval = [_SYNC_POLL_SECONDS[0]]

    def pause() -> None:
        env.program_state_event.wait(interval[0])
        interval[0] = min(interval[0] * 1.5, _SYNC_POLL_SECONDS[1])

    return pause


def poll_until_done(env: Any, sync_resolver: Callable[[], Any], stop_job: Callable[[], None]) -> Any:
    """Poll a ``.sync`` job until it ends; when the execution is stopped meanwhile, stop the job as AWS does."""
    try:
        while env.is_running():
            result = sync_resolver()
            if result:
                return result
        return None
    finally:
        if not env.is_running():
            stop_job()

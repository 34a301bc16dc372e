"""``simulated_waits``: Wait states and Retry intervals run on the local cloud's simulated clock.

moto waits in wall time (``time.sleep`` in the retrier, ``Event.wait`` for Wait states): an hour-long Wait or a
600 s retry interval would take that long. With the fix both take ``seconds / speed`` of wall time and the clock
shows the simulated time passing, as the job backends do.
"""

from __future__ import annotations

from typing import Any

from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

from mlcp_cli.local.patches.context import active


class _ClockTime:
    """Stands in for the ``time`` module inside the retrier: sleeps run on the simulated clock."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def sleep(self, seconds: float) -> None:
        context = active()
        if context is None:
            self._real.sleep(seconds)
        else:
            context.clock.sleep(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def install() -> None:
    retrier_decl.time = _ClockTime(retrier_decl.time)
    original = WaitFunction._wait_interval

    def _wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        context = active()
        if context is None:
            original(self, env, wait_seconds)
            return
        if wait_seconds > 0:
            env.program_state_event.wait(context.clock.wall(wait_seconds))

    WaitFunction._wait_interval = _wait_interval

"""Every benchmark in bench/ runs in its quick mode and prints its ``RESULT key=value ...`` line.

A bench that breaks (a moved import, a handler the bench cannot start, an API of the local cloud it drives) fails
here instead of on the day someone needs its figures. Nothing is asserted on time: ``--quick`` is a smoke run of the
real code path on tiny sizes, and its figures mean nothing.

The benches are separate processes that mostly wait for the CPU, so the first test of this module starts all the
selected ones at once and each test waits for its own (about 40 s in all instead of 80 s one after the other on a
2-core machine). Run this module in one process (pytest-xdist: ``--dist loadfile``, as ``make test`` does).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHES = sorted(path.name for path in (ROOT / "bench").glob("*.py"))
TIMEOUT_SECONDS = 600  # per bench, on a loaded shared machine; a quick run takes seconds to tens of seconds
TAIL_LINES = 40
PAIR = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*=\S+")


@dataclass
class Started:
    command: list[str]
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines()
        return f"$ {' '.join(self.command)}   (last {TAIL_LINES} lines of output)\n" + "\n".join(lines[-TAIL_LINES:])


def _selected(request: pytest.FixtureRequest) -> list[str]:
    """The benches of this module's tests that will run (after -k / deselection)."""
    names = {
        str(item.callspec.params["bench"])
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.module is request.module and hasattr(item, "callspec")
    }
    return sorted(names)


@pytest.fixture(scope="module")
def started(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Started]]:
    logs = tmp_path_factory.mktemp("benches")
    runs: dict[str, Started] = {}
    # stdout and stderr in one log, unbuffered, so that a traceback comes after what the bench printed before it
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        for name in _selected(request):
            command = [sys.executable, f"bench/{name}", "--quick"]
            log = logs / f"{name}.log"
            with log.open("wb") as sink:
                process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
            runs[name] = Started(command, process, log)
        yield runs
    finally:
        for run in runs.values():
            if run.process.poll() is None:
                run.process.kill()
                run.process.wait()


def test_bench_has_benches() -> None:
    assert "cold_start.py" in BENCHES, BENCHES


@pytest.mark.parametrize("bench", BENCHES)
def test_bench_quick_mode_prints_its_result_line(bench: str, started: dict[str, Started]) -> None:
    run = started[bench]
    try:
        code = run.process.wait(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        run.process.kill()
        run.process.wait()
        pytest.fail(f"bench/{bench} --quick did not end within {TIMEOUT_SECONDS} s\n{run.tail()}")
    assert code == 0, f"bench/{bench} --quick exited {code}\n{run.tail()}"
    results = [line for line in run.log.read_text(errors="replace").splitlines() if line.startswith("RESULT ")]
    assert results, f"bench/{bench} --quick printed no line starting with 'RESULT '\n{run.tail()}"
    pairs = [word for word in results[-1].split()[1:] if PAIR.fullmatch(word)]
    assert pairs, f"bench/{bench} --quick: no key=value in {results[-1]!r}\n{run.tail()}"

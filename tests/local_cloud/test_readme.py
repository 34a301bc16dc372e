"""The README as a newcomer uses it: every command block runs as written against `mlcp local serve --example`,
and the CLI section's commands give a message, never a traceback, in an empty environment.

The commands are read out of README.md (so the README cannot drift from the CLI). One served local cloud, a
subprocess started exactly as the README says, is shared by the module. Commands that need a real AWS account (or
are the module's own set-up) are skipped with a printed reason, and the list of skipped commands is pinned, so a new
README command is either run here or classified on purpose.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlcp_cli.main import main
from tests.support import ROOT

README = ROOT / "README.md"
CLI_SECTION = "## The REST API and the `mlcp` command"
# Commands that are not run here, and why (printed when the test runs).
SKIPPED = {
    "make": "a make target: `make test` itself runs what it does, `make demo` is tests/local_cloud/test_cli.py",
    "source": "shell set-up (puts .venv/bin on PATH; this test calls the same `mlcp` entry point)",
    "sam": "needs a real AWS account (sam deploy)",
    "aws": "the AWS CLI against a real account's bucket ($BUCKET of a deployed stack)",
    "mlcp local serve": "the module's shared local cloud is started with exactly this command",
}
# Exit codes a README line documents besides 0 (its comment says when): 4 = 409 conflict.
MAY_CONFLICT = (
    "mlcp runs cancel",
    "mlcp runs redrive",
    "mlcp batch start image-scoring --retry-of",
    "mlcp scaling set",
)


@dataclass(frozen=True)
class Command:
    section: str
    line: str

    @property
    def skip_reason(self) -> str | None:
        for prefix, reason in SKIPPED.items():
            if self.line == prefix or self.line.startswith(prefix + " "):
                return reason
        return None


def readme_commands() -> list[Command]:
    """Each command line of each ```bash block, without its trailing comment and `&`."""
    commands, section, in_block = [], "", False
    for raw in README.read_text().splitlines():
        if raw.startswith("## "):
            section = raw
        if raw.startswith("```"):
            in_block = raw.strip() == "```bash" and not in_block
            continue
        if in_block:
            line = re.sub(r"\s+#\s.*$", "", raw).strip().removesuffix("&").strip()
            if line:
                commands.append(Command(section, line))
    return commands


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Served:
    endpoint: str
    api: str
    bucket: str


def _env(home: Path, **extra: str) -> dict[str, str]:
    """An empty environment: no AWS variables, HOME in a temporary directory."""
    python_path = f"{ROOT / 'layers' / 'mlcp'}{os.pathsep}{ROOT / 'cli'}"
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "PYTHONPATH": python_path, **extra}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`mlcp local serve --example` in a subprocess with an empty environment, on free ports."""
    port, api_port = _free_port(), _free_port()
    command = [sys.executable, "-m", "mlcp_cli.main", "local", "serve", "--example"]
    command += ["--port", str(port), "--api-port", str(api_port), "--speed", "5000"]
    home = tmp_path_factory.mktemp("home")
    process = subprocess.Popen(
        command, cwd=ROOT, env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("examples:"):
            break
    bucket = re.search(r"s3://([^/\s]+)/pipelines/", "".join(lines))
    if process.poll() is not None or bucket is None:
        process.kill()
        pytest.fail("mlcp local serve --example did not start:\n" + "".join(lines))
    try:
        yield Served(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{api_port}", bucket.group(1))
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def test_the_readme_has_command_blocks_and_pins_what_is_skipped() -> None:
    commands = readme_commands()
    assert len(commands) >= 20
    skipped = sorted({c.line if c.line.startswith("mlcp") else c.line.split()[0] for c in commands if c.skip_reason})
    assert skipped == sorted(["make", "source", "sam", "aws", "mlcp local serve --example"]), skipped
    assert all(c.line.startswith("mlcp ") for c in commands if not c.skip_reason)
    assert ".venv/bin/mlcp" not in README.read_text(), "one form: `mlcp` (after `source .venv/bin/activate`)"


def test_every_command_block_of_the_readme_runs_against_the_example_cloud(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("examples", "docs"):  # relative paths as in the README; outputs (out.png, plan.png) land in tmp
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLCP_LOCAL_API", served.api)
    ids = {"BUCKET": served.bucket}
    ran = 0
    for command in readme_commands():
        if command.skip_reason:
            with capsys.disabled():
                print(f"skipped ({command.section}): {command.line}: {command.skip_reason}")
            continue
        line = command.line
        for placeholder, value in ids.items():
            line = line.replace(placeholder, value)
        assert not re.search(r"\b(RUN_ID|BATCH_ID|BUCKET)\b", line), f"{command.line}: no value for its placeholder"
        started_at = time.monotonic()
        try:
            code = main(shlex.split(line)[1:])
        except SystemExit as exc:  # argparse: --help (0) and usage errors (2)
            code = int(exc.code or 0)
        out = capsys.readouterr()
        with capsys.disabled():
            print(f"ran ({time.monotonic() - started_at:.1f} s): {line}")
        allowed = {0, 4} if line.startswith(MAY_CONFLICT) else {0}
        assert code in allowed, f"{command.line} exited {code}:\n{out.out}\n{out.err}"
        assert "Traceback" not in out.out + out.err, command.line
        if started := re.search(r"(?:already )?started run (\S+)", out.out):
            ids["RUN_ID"] = started.group(1)
        if batch := re.search(r"started batch run (\S+)", out.out):
            ids.setdefault("BATCH_ID", batch.group(1))
        ran += 1
    assert ran >= 20


# One interpreter for many commands (a fresh one costs about a second each): the botocore session is rebuilt for
# every command, so each sees only the empty environment.
HARNESS = textwrap.dedent(
    """
    import contextlib, io, json, shlex, sys, traceback
    import boto3
    from mlcp_cli.main import main
    results = []
    for command in json.loads(sys.argv[1]):
        boto3.DEFAULT_SESSION = None
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(shlex.split(command)[1:])
            except SystemExit as exc:
                code = exc.code
            except BaseException:
                traceback.print_exc()
                code = -1
        results.append({"command": command, "code": code, "stderr": err.getvalue()})
    print(json.dumps(results))
    """
)


def _run_empty(commands: list[str], home: Path, **env: str) -> list[dict[str, object]]:
    result = subprocess.run(
        [sys.executable, "-c", HARNESS, json.dumps(commands)],
        cwd=ROOT,
        env=_env(home, **env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    results: list[dict[str, object]] = json.loads(result.stdout.splitlines()[-1])
    return results


def test_the_cli_section_in_an_empty_environment_gives_messages_not_tracebacks(served: Served, tmp_path: Path) -> None:
    deployed = [  # the CLI section's commands as for a deployed stack (no --local): no region, no credentials
        c.line.replace(" --local", "").replace("BUCKET", "mlcp-artifacts-example")
        for c in readme_commands()
        if c.section == CLI_SECTION and not c.skip_reason
    ]
    deployed = [line.replace("RUN_ID", "churn-v1-0123").replace("BATCH_ID", "image-scoring-x") for line in deployed]
    # one line per subcommand (`mlcp runs start`, `mlcp batch start`, ...): each fails the same way without AWS
    deployed = list({" ".join(line.split()[:3]): line for line in reversed(deployed)}.values())[::-1]
    local = [  # the local cloud's own commands against the served cloud: no AWS configuration is needed
        f"mlcp local status --endpoint {served.endpoint}",
        f"mlcp local fire-schedule mlcp-local-TrainingSchedule --endpoint {served.endpoint}",
        "mlcp runs list --local",
        "mlcp local status --endpoint http://127.0.0.1:9",  # nothing serves there: unreachable, exit 5
    ]  # (a region but no credentials, exit 6: tests/unit/cli/test_errors.py; botocore spends ~10 s asking IMDS)
    results = _run_empty(deployed + local, tmp_path, MLCP_LOCAL_API=served.api)

    for result in results:
        stderr = str(result["stderr"])
        assert "Traceback" not in stderr, result
        assert result["code"] in range(8), result
        if result["code"] != 0:
            assert 1 <= len(stderr.splitlines()) <= 2, result
    codes = {str(r["command"]): r["code"] for r in results}
    for line in deployed:
        expected = 0 if line in ("mlcp spec schema", "mlcp openapi") else 2  # 2: no region (--region, AWS_REGION)
        assert codes[line] == expected, (line, codes[line])
    assert [codes[line] for line in local] == [0, 0, 0, 5]

"""`mlcp` errors are one or two lines with the README's exit codes (cli/mlcp_cli/errors.py, the one mapping):
botocore's credential, region and connection errors, AWS error codes, API error bodies, a missing extra."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)

from mlcp_cli.api_client import ApiError, ApiUnreachable
from mlcp_cli.api_commands import POLL_RETRIES, _polled
from mlcp_cli.errors import explain, unexpected
from mlcp_cli.main import main
from tests.support import ROOT


def _client_error(code: str, message: str, operation: str = "DescribeStacks", status: int = 400) -> ClientError:
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, operation)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "code", "says"),
    [
        (NoCredentialsError(), 6, "AWS_PROFILE"),
        (NoRegionError(), 2, "AWS_REGION"),
        (ProfileNotFound(profile="nope"), 2, "AWS_PROFILE"),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), 5, "mlcp local serve"),
        (_client_error("AccessDenied", "User x is not authorized"), 6, "DescribeStacks"),
        (_client_error("ExpiredToken", "The security token included in the request is expired"), 6, "expired"),
        (_client_error("ThrottlingException", "Rate exceeded"), 5, "retry"),
        (_client_error("ValidationError", "Stack with id mlcp does not exist"), 3, "--stack"),
        (_client_error("InternalFailure", "oops", status=500), 5, "InternalFailure"),
        (_client_error("ValidationException", "bad"), 1, "ValidationException"),
        (ApiUnreachable("http://127.0.0.1:5001: refused"), 5, "mlcp local serve"),
        (ApiError(404, {"code": "NotFound", "message": "run 'x' does not exist"}), 3, "does not exist"),
        (ApiError(403, {"message": "Missing Authentication Token"}), 6, "Missing Authentication Token"),
        (ModuleNotFoundError("No module named 'moto'", name="moto"), 2, "pip install 'mlcp[local]'"),
        (FileNotFoundError(2, "No such file or directory", "nope.yaml"), 1, "nope.yaml"),
    ],
)
def test_each_error_is_one_or_two_lines_with_its_exit_code(exc: Exception, code: int, says: str) -> None:
    explained = explain(exc)
    assert explained is not None
    status, lines = explained
    assert status == code
    assert 1 <= len(lines) <= 2
    assert says in "\n".join(lines)


def test_api_field_errors_are_printed_once_as_spec_validate_prints_them() -> None:
    body = {
        "code": "InputInvalid",
        "message": "PUT /pipelines/churn is invalid: tuning.max_parallel_jobs: Input should be greater than or "
        "equal to 1",
        "errors": [
            {
                "field": "tuning.max_parallel_jobs",
                "message": "Input should be greater than or equal to 1",
                "location": "body",
            },
            {"field": "limit", "message": "Input should be less than or equal to 100", "location": "query"},
        ],
    }
    status, lines = explain(ApiError(400, body)) or (0, [])
    assert status == 1
    assert lines == [
        "PUT /pipelines/churn is invalid (HTTP 400 InputInvalid):",
        "  tuning.max_parallel_jobs: Input should be greater than or equal to 1",
        "  query parameter limit: Input should be less than or equal to 100",
    ]


def test_an_unexpected_error_is_one_line_and_the_way_to_its_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert explain(ZeroDivisionError("division by zero")) is None
    assert unexpected(ZeroDivisionError("x"))[0] == 5

    def boom(_: object) -> int:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("mlcp_cli.main.cmd_schema", boom)
    monkeypatch.delenv("MLCP_DEBUG", raising=False)
    assert main(["spec", "schema"]) == 5  # main() builds its parser, with the patched command, on each call
    err = capsys.readouterr().err
    assert "unexpected error ZeroDivisionError: division by zero" in err
    assert "MLCP_DEBUG=1" in err
    assert "Traceback" not in err
    monkeypatch.setenv("MLCP_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["spec", "schema"])


def test_local_commands_without_the_local_extra_name_it() -> None:
    """Without moto (the `local` extra), `mlcp local ...` says which extra to install, in a fresh interpreter
    where importing moto fails as it does when it is not installed."""
    script = textwrap.dedent(
        """
        import sys
        class NoMoto:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("moto", "samtranslator"):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        sys.meta_path.insert(0, NoMoto())
        from mlcp_cli.main import main
        assert main(["spec", "validate", "examples/pipelines/churn/pipeline.yaml"]) == 0  # the rest still works
        sys.exit(main(["local", "status"]))
        """
    )
    env = {"PYTHONPATH": f"{ROOT / 'layers' / 'mlcp'}:{ROOT / 'cli'}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "mlcp: the local cloud needs 'moto', which is not installed",
        "  pip install 'mlcp[local]'  (or `make bootstrap` in a clone: it installs .[dev,local])",
    ]


def test_a_watch_rides_out_a_few_unanswered_polls_then_says_so() -> None:
    answers: list[object] = [ApiUnreachable("timed out"), ApiUnreachable("timed out"), {"status": "RUNNING"}]

    def fetch() -> dict[str, str]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    assert _polled(fetch, interval=0) == {"status": "RUNNING"}
    answers[:] = [ApiUnreachable(f"timed out {i}") for i in range(POLL_RETRIES)]
    with pytest.raises(ApiUnreachable, match=f"timed out {POLL_RETRIES - 1}"):
        _polled(fetch, interval=0)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (FileNotFoundError(2, "No such file or directory", "nope.yaml"), "mlcp: nope.yaml: no such file or directory"),
        (IsADirectoryError(21, "Is a directory", "examples"), "mlcp: examples is a directory, not a file"),
        (PermissionError(13, "Permission denied", "/etc/shadow"), "mlcp: /etc/shadow: permission denied"),
        (OSError(28, "No space left on device"), "mlcp: No space left on device"),
    ],
)
def test_os_errors_name_the_file_and_the_problem_never_the_errno(exc: OSError, expected: str) -> None:
    status, lines = explain(exc) or (0, [])
    assert status == 1
    assert lines == [expected]


def test_a_missing_spec_file_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "validate", "no-such-dir/pipeline.yaml"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == ["mlcp: no-such-dir/pipeline.yaml: no such file or directory"]


def test_output_cut_short_by_its_reader_ends_quietly_with_the_sigpipe_status() -> None:
    """`mlcp spec schema | head -1` when head has already exited: every write meets a closed pipe (the read end is
    closed before the command starts, so this does not depend on timing); no traceback, no [Errno 32]."""
    env = {"PYTHONPATH": f"{ROOT / 'layers' / 'mlcp'}:{ROOT / 'cli'}", "PATH": "/usr/bin:/bin"}
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "mlcp_cli.main", "spec", "schema"],
            cwd=ROOT,
            env=env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 141, result.stderr
    assert result.stderr == ""

"""`mlcp local serve --api-port N` with N other than 5001: the banner's `--local` line and the CLI help say how
`--local` reaches it (MLCP_LOCAL_API), and `--local` does use MLCP_LOCAL_API."""

from __future__ import annotations

import argparse

import pytest

from mlcp_cli.api_commands import client
from mlcp_cli.codetarget import LOCAL_ENDPOINT, local_endpoint
from mlcp_cli.local.commands import api_hint
from mlcp_cli.main import build_parser


def test_the_banner_exports_mlcp_local_api_for_a_non_default_port() -> None:
    line = api_hint("http://127.0.0.1:6001")
    assert "curl http://127.0.0.1:6001/runs" in line
    assert "export MLCP_LOCAL_API=http://127.0.0.1:6001; mlcp runs list --local" in line
    assert "5001" not in line


def test_the_banner_on_the_default_port_needs_no_export() -> None:
    line = api_hint("http://127.0.0.1:5001")
    assert "MLCP_LOCAL_API" not in line
    assert "mlcp runs list --local" in line


@pytest.mark.parametrize("argv", [["runs", "list"], ["local", "serve"]])
def test_the_help_names_mlcp_local_api(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv, "--help"])
    assert "MLCP_LOCAL_API" in " ".join(capsys.readouterr().out.split())


def test_local_uses_mlcp_local_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLCP_LOCAL_API", "http://127.0.0.1:6001")
    args = argparse.Namespace(local=True, endpoint=None)
    assert client(args).endpoint == "http://127.0.0.1:6001"


def test_local_code_uploads_follow_the_endpoint_serve_exports(monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve --port 5600` prints `export AWS_ENDPOINT_URL=http://127.0.0.1:5600`: --local uploads go there (a
    fresh-user trial found them going to :5000); MLCP_LOCAL_ENDPOINT still wins."""
    monkeypatch.delenv("MLCP_LOCAL_ENDPOINT", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert local_endpoint() == LOCAL_ENDPOINT
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5600")
    assert local_endpoint() == "http://127.0.0.1:5600"
    monkeypatch.setenv("MLCP_LOCAL_ENDPOINT", "http://127.0.0.1:5700")
    assert local_endpoint() == "http://127.0.0.1:5700"

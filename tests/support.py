"""Shared test helpers: sample events, handler modules, a Lambda context, the template as data."""

from __future__ import annotations

import copy
import importlib.util
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import yaml

from mlcp_cli.local import deploy

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
FUNCTIONS = ROOT / "functions"
STATEMACHINES = ROOT / "statemachines"
EXAMPLES = ROOT / "examples"


@cache
def aws_client(service: str) -> Any:
    """One boto3 client per service for the whole test process (us-east-1).

    Creating a client costs ~80 ms (it was most of a functional test's set-up); moto intercepts every client
    whenever a mock is active, including clients created before it started, and resets its backends between mocks,
    so sharing them keeps tests independent. Never attach a botocore Stubber to one: create a client of your own.
    """
    return boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]


def load_event(name: str) -> dict[str, Any]:
    """A sample event from events/, e.g. ``load_event("s3/manifest_uploaded")``."""
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return data


def example_spec_text(name: str = "churn") -> str:
    return (EXAMPLES / "pipelines" / name / "pipeline.yaml").read_text()


def example_spec(name: str = "churn") -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(example_spec_text(name))
    return data


def load_handler(function: str) -> ModuleType:
    """Import functions/<function>/app.py as its own module (every handler file is called app.py)."""
    path = FUNCTIONS / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"mlcp_handler_{function}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class FakeLambdaContext:
    function_name: str = "mlcp-test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:mlcp-test-function"
    aws_request_id: str = "6f1b7c1e-1d0e-4c55-9d49-13c3b2b1e001"
    log_group_name: str = "/aws/lambda/mlcp-functions"
    log_stream_name: str = "2026/11/27/[$LATEST]abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def load_template() -> dict[str, Any]:
    """template.yaml as data (intrinsics in long form), read the way the local cloud's deploy reads it; a fresh copy
    each call (parsing the template takes most of a second, and functional fixtures read it for every table)."""
    path = ROOT / "template.yaml"
    return copy.deepcopy(_parsed_template(path, path.stat().st_mtime_ns))


@cache
def _parsed_template(path: Path, mtime_ns: int) -> dict[str, Any]:
    return deploy.load_template(path)

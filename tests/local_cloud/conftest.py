"""Local-cloud tests: the real template, state machine and handlers on the embedded local cloud.

One cloud per module (deploying takes a couple of seconds); every test uses its own dataset version, so its run is
its own, and leaves the cloud settled with no faults behind.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, Protocol

import pytest

from mlcp_cli.local.cloud import EXAMPLES, LocalCloud

_versions = itertools.count(1)


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(speed=5000.0) as local:
        local.upload_spec("churn", (EXAMPLES / "pipelines" / "churn" / "pipeline.yaml").read_bytes())
        local.settle()
        local.notifications()  # the registration notice, if any
        yield local


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "cloud" in request.fixturenames:
        local: LocalCloud = request.getfixturevalue("cloud")
        local.settle()
        local.faults.clear()
        local.notifications()


def new_version() -> str:
    return f"t{next(_versions):03d}"


def start_run(cloud: LocalCloud, version: str | None = None) -> dict[str, Any]:
    """Upload a manifest, wait until everything has settled, return the run's execution (there must be one)."""
    version = version or new_version()
    before = {e["executionArn"] for e in cloud.executions()}
    cloud.upload_dataset("churn", version, {"description": f"test {version}"})
    executions = [e for e in cloud.settle() if e["executionArn"] not in before]
    assert len(executions) == 1, executions
    return executions[0]


def states_entered(cloud: LocalCloud, execution_arn: str) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in cloud.history(execution_arn)
        if e["type"].endswith("StateEntered")
    ]


class HasHistory(Protocol):
    def history(self, execution_arn: str) -> list[dict[str, Any]]: ...


def batch_queue(iam: Any, batch: Any, role_name: str) -> None:
    """An UNMANAGED compute environment ``local``, its job queue ``queue`` and the job definition ``worker``."""
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    env = batch.create_compute_environment(
        computeEnvironmentName="local", type="UNMANAGED", state="ENABLED", serviceRole=role
    )["computeEnvironmentArn"]
    batch.create_job_queue(
        jobQueueName="queue",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env}],
    )
    batch.register_job_definition(
        jobDefinitionName="worker",
        type="container",
        containerProperties={"image": "busybox", "command": ["true"], "vcpus": 1, "memory": 128},
    )


def failures(cloud: HasHistory, execution_arn: str) -> list[str]:
    """Error names of every failed task attempt in the history (Lambda and service tasks)."""
    names = []
    for event in cloud.history(execution_arn):
        if event["type"] == "TaskFailed":
            names.append(event["taskFailedEventDetails"]["error"])
        elif event["type"] == "LambdaFunctionFailed":
            names.append(event["lambdaFunctionFailedEventDetails"]["error"])
    return names

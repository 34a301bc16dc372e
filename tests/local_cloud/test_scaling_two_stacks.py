"""Two stacks of the template (EnvironmentName ``local`` and ``prod``) in one local cloud account and region, each
with a scaling policy on its own node groups of one EKS cluster: an alarm of one stack starts executions of that
stack's controller only and never moves the other stack's node groups (issue 19, deliverable 4).

Each stack's EventBridge rule forwards the alarms named ``mlcp-scaling-<its environment>-*`` only, and registration
refuses a policy on another prefix, so the two never see each other's alarms.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from mlcp_cli.local.cloud import EXAMPLES, TERMINAL, LocalCloud
from mlcp_cli.local.deploy import Deployment
from mlcp_cli.local.patches.eks import EKS_UPDATE_SECONDS

CLUSTER = "ml-inference"
EXAMPLE = EXAMPLES / "scaling" / "policy.yaml"


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalCloud, Deployment]]:
    """The ``local`` stack with the example policy (gpu-a, gpu-b) and a ``prod`` stack with the same policy on its
    own node groups (prod-a, prod-b) and alarms (mlcp-scaling-prod-*), both registered, every alarm OK."""
    parameters = {"ScalingFirstWaitSeconds": str(int(EKS_UPDATE_SECONDS))}
    with LocalCloud(speed=5000.0, parameters=parameters) as cloud:
        prod = cloud.deploy_stack("mlcp-prod", EnvironmentName="prod")
        cloud.create_example_nodegroups(EXAMPLE, desired=2)
        text = (
            EXAMPLE.read_text()
            .replace("mlcp-scaling-local-", "mlcp-scaling-prod-")
            .replace("name: gpu-a,", "name: prod-a,")
            .replace("name: gpu-b,", "name: prod-b,")
            .replace("name: gpu\n", "name: gpu-prod\n")
        )
        path = tmp_path_factory.mktemp("prod") / "policy.yaml"
        path.write_text(text)
        cloud.create_example_nodegroups(path, desired=2, register=False)
        cloud.client("s3").put_object(
            Bucket=prod.outputs["ArtifactBucketName"], Key=f"scaling/{CLUSTER}/gpu-prod/policy.yaml", Body=text
        )
        cloudwatch = cloud.client("cloudwatch")
        for alarm in cloudwatch.describe_alarms(AlarmNamePrefix="mlcp-scaling-")["MetricAlarms"]:
            cloudwatch.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue="OK", StateReason="test: start")
        settle(cloud, prod)
        yield cloud, prod


def executions(cloud: LocalCloud, deployment: Deployment) -> list[dict[str, Any]]:
    arn = deployment.outputs["NodegroupScalingArn"]
    return list(cloud.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"])


def settle(cloud: LocalCloud, prod: Deployment, timeout: float = 120.0) -> None:
    """Every delivery made and every execution of both stacks ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cloud.settle(timeout=max(1.0, deadline - time.monotonic()))
        if all(e["status"] in TERMINAL for e in executions(cloud, prod)) and cloud.dispatcher.pending == 0:
            return
        time.sleep(0.05)
    raise AssertionError("the two stacks did not settle")


def desired(cloud: LocalCloud) -> dict[str, int]:
    eks = cloud.client("eks")
    return {
        name: int(
            eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName=name)["nodegroup"]["scalingConfig"]["desiredSize"]
        )
        for name in ("gpu-a", "gpu-b", "prod-a", "prod-b")
    }


def policies(cloud: LocalCloud, deployment: Deployment) -> set[str]:
    """The policies a stack's decisions table has decisions of."""
    table = deployment.outputs["ScalingDecisionsTableName"]
    return {item["policy"]["S"] for item in cloud.client("dynamodb").scan(TableName=table)["Items"]}


@pytest.mark.parametrize(
    ("alarm", "moved", "kept", "acting", "idle"),
    [
        ("mlcp-scaling-prod-gpu-high", ("prod-a", "prod-b"), ("gpu-a", "gpu-b"), "prod", "local"),
        ("mlcp-scaling-local-gpu-high", ("gpu-a", "gpu-b"), ("prod-a", "prod-b"), "local", "prod"),
    ],
)
def test_an_alarm_of_one_stack_never_moves_the_other_stacks_node_groups(
    stacks: tuple[LocalCloud, Deployment], alarm: str, moved: tuple[str, ...], kept: tuple[str, ...], acting: str,
    idle: str,
) -> None:  # fmt: skip
    cloud, prod = stacks
    by_env = {"local": cloud.stack, "prod": prod}
    before = desired(cloud)
    started = {env: {e["executionArn"] for e in executions(cloud, d)} for env, d in by_env.items()}

    cloud.client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test: ALARM")
    settle(cloud, prod)

    after = desired(cloud)
    assert sum(after[n] for n in moved) > sum(before[n] for n in moved), (before, after)  # scaled out
    assert all(after[n] == before[n] for n in kept), (before, after)
    new = {env: [e for e in executions(cloud, d) if e["executionArn"] not in started[env]] for env, d in by_env.items()}
    assert [e["status"] for e in new[acting]] == ["SUCCEEDED"]
    assert new[idle] == []  # the other stack's rule forwarded nothing: no execution, no "controller error" mail
    assert policies(cloud, cloud.stack) <= {f"{CLUSTER}/gpu"}
    assert policies(cloud, prod) <= {f"{CLUSTER}/gpu-prod"}
    cloud.client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="test: OK")
    settle(cloud, prod)

"""The scaling cases (tests/data/cases/scaling/) on their event paths in the local cloud: alarm state changes
delivered late and out of order, a DEGRADED node group scaled by an alarm and by the API, and a foreign stack's
alarm that this stack's rule never forwards.

The case files use neutral alarm names (``mlcp-scaling-gpu-high``); this stack (EnvironmentName ``local``) forwards
and registers ``mlcp-scaling-local-*`` only, so each case is renamed as a user of this stack would name it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlcp.aws.dynamodb.table import from_dynamo
from mlcp_cli.local.api_server import LocalApi, serve_api
from mlcp_cli.local.cloud import LocalCloud
from mlcp_cli.local.faults import JobFault
from mlcp_cli.local.patches.eks import EKS_UPDATE_SECONDS
from tests.local_cloud.test_api import http

CASES = Path(__file__).resolve().parents[1] / "data" / "cases" / "scaling"
ENV = "local"
CLUSTER = "ml-cluster"


def local_names(text: str) -> str:
    return text.replace("mlcp-scaling-", f"mlcp-scaling-{ENV}-")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalCloud, LocalApi]]:
    parameters = {
        "ScalingFirstWaitSeconds": str(int(EKS_UPDATE_SECONDS)),
        # The cases' cluster is granted to this stack (the local cloud grants only the example's by default).
        "ScalingNodegroupArns": f"arn:aws:eks:us-east-1:123456789012:nodegroup/{CLUSTER}/*",
    }
    with LocalCloud(speed=5000.0, parameters=parameters) as cloud:
        api = serve_api(cloud)
        try:
            yield cloud, api
        finally:
            api.stop()


def register(cloud: LocalCloud, tmp_path: Path, case: str, name: str) -> dict[str, Any]:
    """The case's policy under its own name (one per test), its node groups at 2 nodes, its alarm OK."""
    text = local_names((CASES / case).read_text()).replace("name: gpu\n", f"name: {name}\n")
    text = text.replace("{name: gpu-a,", f"{{name: {name}-a,")
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    policy = cloud.create_example_nodegroups(path, desired=2)
    alarm = policy["scale_out"][0]["alarm"]
    cloudwatch = cloud.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=alarm,
        Namespace="ContainerInsights",
        MetricName="node_gpu_utilization",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=75.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    set_alarm(cloud, alarm, "OK")
    cloud.settle_scaling()
    return policy


def set_alarm(cloud: LocalCloud, alarm: str, state: str) -> None:
    cloud.client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue=state, StateReason=f"test: {state}")


def desired(cloud: LocalCloud, nodegroup: str) -> int:
    described = cloud.client("eks").describe_nodegroup(clusterName=CLUSTER, nodegroupName=nodegroup)["nodegroup"]
    return int(described["scalingConfig"]["desiredSize"])


def decisions(cloud: LocalCloud, policy: str) -> list[dict[str, Any]]:
    items = cloud.client("dynamodb").scan(TableName=cloud.output("ScalingDecisionsTableName"))["Items"]
    return [d for d in (from_dynamo(i) for i in items) if d["policy"] == policy]


def deliver(cloud: LocalCloud, event: dict[str, Any]) -> None:
    """What the stack's EventBridge rule does with a matching event: start nodegroup_scaling with it."""
    cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.output("NodegroupScalingArn"), input=json.dumps(event)
    )
    cloud.settle_scaling()


def test_a_stale_alarm_after_a_newer_ok_changes_nothing(served: tuple[LocalCloud, LocalApi], tmp_path: Path) -> None:
    cloud, _ = served
    policy = register(cloud, tmp_path, "policy-one-group.yaml", "stale")
    newer = json.loads(local_names((CASES / "alarm-1-ok-newer.json").read_text()))
    stale = json.loads(local_names((CASES / "alarm-2-alarm-stale.json").read_text()))

    for event in (newer, stale, stale, newer):  # late, out of order, and redelivered
        deliver(cloud, event)

    assert desired(cloud, "stale-a") == 2
    logged = {d["decision_id"]: d for d in decisions(cloud, f"{CLUSTER}/stale")}
    assert "stale state change ignored" in logged[stale["id"]]["reason"]
    assert logged[stale["id"]]["alarms_read"][policy["scale_out"][0]["alarm"]]["state"] == "OK"
    assert all(d["action"] == "noop" for d in logged.values())
    # A re-evaluation later reads CloudWatch (OK) and does nothing either.
    cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.output("NodegroupScalingArn"),
        input=json.dumps(
            {"source": "mlcp.scaling.schedule", "policy": f"{CLUSTER}/stale", "scheduled_time": "2026-11-27T16:45:00Z"}
        ),
    )
    cloud.settle_scaling()
    assert desired(cloud, "stale-a") == 2


def test_a_degraded_node_group_is_scaled_by_alarms_and_the_api(
    served: tuple[LocalCloud, LocalApi], tmp_path: Path
) -> None:
    cloud, api = served
    policy = register(cloud, tmp_path, "policy-degraded.yaml", "degraded")
    alarm = policy["scale_out"][0]["alarm"]
    cloud.faults.jobs.append(JobFault(job=f"{CLUSTER}/degraded-a", reason="AsgInstanceLaunchFailures: no capacity"))
    set_alarm(cloud, alarm, "ALARM")  # the scale-out fails: EKS leaves the node group DEGRADED
    cloud.settle_scaling()
    cloud.faults.clear()
    eks = cloud.client("eks")
    assert eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName="degraded-a")["nodegroup"]["status"] == "DEGRADED"

    set_alarm(cloud, alarm, "OK")
    set_alarm(cloud, alarm, "ALARM")  # a failed update starts no cooldown: the alarm moves it now
    cloud.settle_scaling()

    assert desired(cloud, "degraded-a") == 4
    latest = max(
        (d for d in decisions(cloud, f"{CLUSTER}/degraded") if d["action"] == "update"), key=lambda d: d["decision"]
    )
    assert latest["status"] == "SUCCEEDED"
    assert "degraded-a DEGRADED (AsgInstanceLaunchFailures: no capacity)" in latest["reason"]
    assert latest["nodegroups"][0]["health_issues"][0]["code"] == "AsgInstanceLaunchFailures"
    # The API takes a change of a DEGRADED node group too (409 only while CREATING, UPDATING, DELETING).
    cloud.faults.jobs.append(JobFault(job=f"{CLUSTER}/degraded-a", reason="AsgInstanceLaunchFailures: no capacity"))
    set_alarm(cloud, alarm, "OK")
    cloud.clock.sleep(900)
    set_alarm(cloud, alarm, "ALARM")
    cloud.settle_scaling()
    cloud.faults.clear()
    view = http(api, "GET", f"/scaling/{CLUSTER}/degraded-a")[1]
    assert view["nodegroup_config"]["status"] == "DEGRADED"
    assert view["nodegroup_config"]["health_issues"][0]["code"] == "AsgInstanceLaunchFailures"
    status, body = http(api, "POST", f"/scaling/{CLUSTER}/degraded-a/actions", {"desired": 5, "reason": "recover"})
    assert status == 202, body
    cloud.settle_scaling()
    assert desired(cloud, "degraded-a") == 5


def test_a_foreign_stacks_alarm_is_not_forwarded(served: tuple[LocalCloud, LocalApi]) -> None:
    """Another stack (EnvironmentName prod) in the same account: its alarms start nothing here."""
    cloud, _ = served
    cloudwatch = cloud.client("cloudwatch")
    foreign = "mlcp-scaling-prod-gpu-high"
    cloudwatch.put_metric_alarm(
        AlarmName=foreign,
        Namespace="ContainerInsights",
        MetricName="node_gpu_utilization",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=75.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    before = {e["executionArn"] for e in cloud.settle_scaling()}

    set_alarm(cloud, foreign, "ALARM")

    assert {e["executionArn"] for e in cloud.settle_scaling()} == before
    assert cloud.notifications() == [] or all("controller error" not in n["subject"] for n in cloud.notifications())

"""Node-group scaling end to end in the local cloud: SetAlarmState -> "CloudWatch Alarm State Change" -> EventBridge
rule -> nodegroup_scaling (decide_scaling -> UpdateNodegroupConfig -> Wait/DescribeUpdate -> record_scaling) -> the
node group at its new size, on moto EKS with updates that take EKS_UPDATE_SECONDS of simulated time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from mlcp.aws.dynamodb.table import from_dynamo
from mlcp_cli.local.cloud import EXAMPLES, LocalCloud
from mlcp_cli.local.faults import ApiFault, JobFault
from mlcp_cli.local.patches.eks import EKS_UPDATE_SECONDS
from tests.local_cloud.conftest import failures, states_entered

CLUSTER, HIGH, CRITICAL = "ml-inference", "mlcp-scaling-local-gpu-high", "mlcp-scaling-local-gpu-critical"
OUTER = ["Decide Scaling", "Apply?", "Update Node Groups", "Record Scaling", "Scaling Failed?", "Scaling Applied"]
PER_NODEGROUP = ["Update Nodegroup Config", "Wait For Update", "Describe Update", "Update Done?", "Update Finished"]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    # The example policy without its schedule rules (their floors depend on the day the tests run).
    policy = yaml.safe_load((EXAMPLES / "scaling" / "policy.yaml").read_text())
    policy.pop("schedules")
    policy_file = tmp_path_factory.mktemp("scaling") / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(policy))
    # The first DescribeUpdate comes as EKS finishes (both 180 simulated seconds), as in the template's default.
    parameters = {"ScalingPolicyKey": f"{CLUSTER}/gpu", "ScalingFirstWaitSeconds": str(int(EKS_UPDATE_SECONDS))}
    with LocalCloud(speed=5000.0, parameters=parameters) as local:
        local.create_example_nodegroups(policy_file, desired=2)
        local.settle_scaling()
        local.notifications()
        yield local


@pytest.fixture(autouse=True)
def _quiet(cloud: LocalCloud) -> Iterator[None]:
    """Each test starts with the alarms OK, the cooldowns over and no faults."""
    yield
    cloud.settle_scaling()
    cloud.faults.clear()
    for alarm in (HIGH, CRITICAL):
        set_alarm(cloud, alarm, "OK")
    cloud.settle_scaling()
    cloud.clock.sleep(900)  # past the scale-out cooldown
    cloud.notifications()


def set_alarm(cloud: LocalCloud, name: str, state: str) -> None:
    cloud.client("cloudwatch").set_alarm_state(AlarmName=name, StateValue=state, StateReason=f"test: {state}")


def sizes(cloud: LocalCloud) -> dict[str, int]:
    eks = cloud.client("eks")
    return {
        name: eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName=name)["nodegroup"]["scalingConfig"][
            "desiredSize"
        ]
        for name in ("gpu-a", "gpu-b")
    }


def new_executions(cloud: LocalCloud, before: set[str]) -> list[dict[str, Any]]:
    return [e for e in cloud.settle_scaling() if e["executionArn"] not in before]


def decisions(cloud: LocalCloud) -> list[dict[str, Any]]:
    items = cloud.client("dynamodb").scan(TableName=cloud.output("ScalingDecisionsTableName"))["Items"]
    return sorted((from_dynamo(i) for i in items), key=lambda d: d["decision"])


def applied(cloud: LocalCloud, executions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in executions if "Update Node Groups" in states_entered(cloud, e["executionArn"])]


def test_alarm_resizes_the_node_group_end_to_end(cloud: LocalCloud) -> None:
    before = {e["executionArn"] for e in cloud.scaling_executions()}
    assert sizes(cloud) == {"gpu-a": 2, "gpu-b": 2}

    set_alarm(cloud, HIGH, "ALARM")

    (execution,) = new_executions(cloud, before)
    assert execution["status"] == "SUCCEEDED"
    assert sizes(cloud) == {"gpu-a": 3, "gpu-b": 2}  # 4 + 30 % = 5 nodes, split by weight
    entered = states_entered(cloud, execution["executionArn"])
    # Two node groups (one per AZ), each updated in one Map iteration: 6 + 5 per node group; 11 for one.
    assert sorted(entered) == sorted(OUTER + PER_NODEGROUP * 2)
    print(f"state transitions per applied decision (2 node groups): {len(entered)}")
    logged = decisions(cloud)[-1]
    assert logged["status"] == "SUCCEEDED"
    assert logged["reason"].endswith("scale out 4 -> 5")


def test_two_alarms_at_the_same_instant_make_one_update(cloud: LocalCloud) -> None:
    before = {e["executionArn"] for e in cloud.scaling_executions()}
    start = sum(sizes(cloud).values())

    set_alarm(cloud, HIGH, "ALARM")
    set_alarm(cloud, CRITICAL, "ALARM")

    executions = new_executions(cloud, before)
    assert len(executions) == 2
    assert all(e["status"] == "SUCCEEDED" for e in executions)
    assert len(applied(cloud, executions)) == 1, [d["reason"] for d in decisions(cloud)[-4:]]
    noop = [d for d in decisions(cloud)[-2:] if d["status"] == "NOOP"]
    assert len(noop) == 1
    assert "in flight" in noop[0]["reason"] or "cooldown" in noop[0]["reason"] or "not ACTIVE" in noop[0]["reason"]
    assert sum(sizes(cloud).values()) > start


def test_update_in_progress_is_retried_later(cloud: LocalCloud) -> None:
    before = {e["executionArn"] for e in cloud.scaling_executions()}
    start = sum(sizes(cloud).values())
    cloud.faults.api.append(
        ApiFault(service="eks", operation="UpdateNodegroupConfig", code="ResourceInUseException", status=409)
    )

    set_alarm(cloud, HIGH, "ALARM")

    (execution,) = new_executions(cloud, before)
    assert execution["status"] == "SUCCEEDED"
    assert "Eks.ResourceInUseException" in failures(cloud, execution["executionArn"])
    assert sum(sizes(cloud).values()) > start


def test_failed_update_is_recorded_and_notified(cloud: LocalCloud) -> None:
    before = {e["executionArn"] for e in cloud.scaling_executions()}
    start = sizes(cloud)
    cloud.faults.jobs.append(JobFault(job=f"{CLUSTER}/gpu-*", reason="NodeCreationFailure: injected"))

    set_alarm(cloud, HIGH, "ALARM")

    (execution,) = new_executions(cloud, before)
    assert execution["status"] == "FAILED"
    assert cloud.describe(execution["executionArn"])["error"] == "ScalingFailed"
    assert sizes(cloud) == start
    (note,) = cloud.notifications()
    assert "Failed" in note["subject"]
    assert "NodeCreationFailure: injected" in note["message"]
    logged = decisions(cloud)[-1]
    assert logged["status"] == "FAILED"
    state = cloud.client("dynamodb").get_item(
        TableName=cloud.output("ScalingStateTableName"), Key={"policy": {"S": f"{CLUSTER}/gpu"}}
    )["Item"]
    assert state["lease_holder"]["S"] == ""  # released


def test_invalid_parameter_is_a_clear_failure(cloud: LocalCloud) -> None:
    before = {e["executionArn"] for e in cloud.scaling_executions()}
    cloud.faults.api.append(
        ApiFault(
            service="eks",
            operation="UpdateNodegroupConfig",
            code="InvalidParameterException",
            message="Desired capacity 41 can't be greater than max size 40",
        )
    )

    set_alarm(cloud, HIGH, "ALARM")

    (execution,) = new_executions(cloud, before)
    assert execution["status"] == "FAILED"
    (note,) = cloud.notifications()
    assert "Rejected" in note["subject"]
    # The mail says it as a person would (the EKS message, what to do); the raw error stays in the decision record.
    assert "Rejected - Desired capacity 41 can't be greater than max size 40" in note["message"]
    assert "What to do:" in note["message"]
    assert "Eks.InvalidParameterException" not in note["message"]
    logged = decisions(cloud)[-1]
    assert any("Eks.InvalidParameterException" in r["detail"] for r in logged["results"].values())


def test_a_node_group_eks_denies_is_a_failed_decision_notified_once(cloud: LocalCloud) -> None:
    """GIVEN EKS answering DescribeNodegroup with AccessDeniedException (the node group is outside the role's
    ScalingNodegroupArns) THEN the execution fails as ScalingFailed with one notification in words naming the
    parameter; the next trigger is recorded FAILED too but mails nobody; nothing is resized."""
    before = {e["executionArn"] for e in cloud.scaling_executions()}
    start = sizes(cloud)
    denied = ApiFault(
        service="eks", operation="DescribeNodegroup", code="AccessDeniedException", message="not authorized", times=None
    )
    cloud.faults.api.append(denied)

    set_alarm(cloud, HIGH, "ALARM")
    (first,) = new_executions(cloud, before)
    (note,) = cloud.notifications()
    set_alarm(cloud, CRITICAL, "ALARM")
    (second,) = new_executions(cloud, before | {first["executionArn"]})

    assert (first["status"], cloud.describe(first["executionArn"])["error"]) == ("FAILED", "ScalingFailed")
    assert "not granted" in note["subject"]
    assert "outside the template parameter ScalingNodegroupArns (EKS answered AccessDeniedException)" in note["message"]
    assert "not authorized" not in note["message"]
    assert "Traceback" not in note["message"]
    assert second["status"] == "SUCCEEDED"  # recorded, not notified again
    assert cloud.notifications() == []
    assert [(d["status"], d["outcome"]) for d in decisions(cloud)[-2:]] == [("FAILED", "NotGranted")] * 2
    assert denied.hits >= 2
    cloud.faults.api.remove(denied)  # the test's own DescribeNodegroup
    assert sizes(cloud) == start


def test_schedule_re_evaluates_the_policy(cloud: LocalCloud) -> None:
    before = {e["executionArn"] for e in cloud.scaling_executions()}
    (schedule,) = [s for s in cloud.schedules() if "ScalingEvaluation" in s]

    cloud.fire_schedule(schedule)

    (execution,) = new_executions(cloud, before)
    assert execution["status"] == "SUCCEEDED"
    assert "no scale-out or scale-in alarm in ALARM" in decisions(cloud)[-1]["reason"]

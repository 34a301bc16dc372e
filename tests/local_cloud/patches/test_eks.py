"""Guards of eks_updates, the fixes of cli/mlcp_cli/local/patches/eks.py: each test shows the gap on plain moto, then
the AWS behaviour with the fix (test_install.py says how the guards are organised).
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from mlcp_cli.local.backends.clock import SimClock
from mlcp_cli.local.faults import JobFault
from mlcp_cli.local.patches.eks import EKS_UPDATE_SECONDS, MOTO_HAS_EKS_DESCRIBE_UPDATE
from tests.local_cloud.patches.support import (
    Sandbox,
    eks_nodegroup,
)


# --- eks_updates -------------------------------------------------------------------------------------------------
def test_eks_updates_plain_moto_applies_at_once_unvalidated(box: Sandbox) -> None:
    eks = eks_nodegroup(box)

    update = eks.update_nodegroup_config(clusterName="c1", nodegroupName="gpu", scalingConfig={"desiredSize": 9})

    assert update["update"]["status"] == "Successful"
    nodegroup = eks.describe_nodegroup(clusterName="c1", nodegroupName="gpu")["nodegroup"]
    assert nodegroup["scalingConfig"]["desiredSize"] == 9  # above maxSize 5, accepted
    assert MOTO_HAS_EKS_DESCRIBE_UPDATE is False


def test_eks_updates_validate_progress_and_describe(box: Sandbox) -> None:
    eks = eks_nodegroup(box)
    # A slower clock than the sandbox's: the InProgress checks below must run inside the update's 180 simulated
    # seconds (18 ms of wall time at the default speed, which a loaded machine can miss).
    box.context.clock = SimClock(speed=200.0)
    box.activate()

    with pytest.raises(ClientError) as invalid:
        eks.update_nodegroup_config(clusterName="c1", nodegroupName="gpu", scalingConfig={"desiredSize": 9})
    assert invalid.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "Desired capacity 9 can't be greater than max size 5" in str(invalid.value)
    with pytest.raises(ClientError, match="Minimum capacity 3 can't be greater than desired size 2"):
        eks.update_nodegroup_config(clusterName="c1", nodegroupName="gpu", scalingConfig={"minSize": 3})

    update = eks.update_nodegroup_config(clusterName="c1", nodegroupName="gpu", scalingConfig={"desiredSize": 4})
    update_id = update["update"]["id"]
    assert update["update"]["status"] == "InProgress"
    assert eks.describe_nodegroup(clusterName="c1", nodegroupName="gpu")["nodegroup"]["status"] == "UPDATING"
    with pytest.raises(ClientError) as busy:
        eks.update_nodegroup_config(clusterName="c1", nodegroupName="gpu", scalingConfig={"desiredSize": 3})
    assert busy.value.response["Error"]["Code"] == "ResourceInUseException"

    box.clock.sleep(EKS_UPDATE_SECONDS)
    described = eks.describe_update(name="c1", updateId=update_id, nodegroupName="gpu")["update"]
    assert described["status"] == "Successful"
    assert described["params"] == [{"type": "DesiredSize", "value": "4"}]
    nodegroup = eks.describe_nodegroup(clusterName="c1", nodegroupName="gpu")["nodegroup"]
    assert nodegroup["status"] == "ACTIVE"
    assert nodegroup["scalingConfig"] == {"minSize": 1, "maxSize": 5, "desiredSize": 4}
    assert eks.list_updates(name="c1", nodegroupName="gpu")["updateIds"] == [update_id]


def test_eks_updates_injected_failure_and_the_state_machine_path(box: Sandbox) -> None:
    eks = eks_nodegroup(box)
    box.activate()
    box.faults.jobs.append(JobFault(job="c1/gpu", reason="NodeCreationFailure: injected"))
    update_state = {
        "StartAt": "Update",
        "States": {
            "Update": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:eks:updateNodegroupConfig",
                "Parameters": {"ClusterName": "c1", "NodegroupName": "gpu", "ScalingConfig": {"DesiredSize": 3}},
                "ResultPath": "$.update",
                "Next": "Wait",
            },
            "Wait": {"Type": "Wait", "Seconds": 600, "Next": "Describe"},
            "Describe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:eks:describeUpdate",
                "Parameters": {"Name": "c1", "NodegroupName": "gpu", "UpdateId.$": "$.update.Update.Id"},
                "End": True,
            },
        },
    }

    result = box.execute(update_state)

    assert result["status"] == "SUCCEEDED", result
    update = json.loads(result["output"])["Update"]
    assert update["Status"] == "Failed"
    assert update["Errors"][0]["ErrorMessage"] == "NodeCreationFailure: injected"
    assert (
        eks.describe_nodegroup(clusterName="c1", nodegroupName="gpu")["nodegroup"]["scalingConfig"]["desiredSize"] == 2
    )
    # EKS leaves the node group DEGRADED with the cause in health.issues; it still takes an update, and a successful
    # one makes it ACTIVE and healthy again.
    described = eks.describe_nodegroup(clusterName="c1", nodegroupName="gpu")["nodegroup"]
    assert described["status"] == "DEGRADED"
    (issue,) = described["health"]["issues"]
    assert (issue["code"], issue["message"]) == ("NodeCreationFailure", "injected")
    box.faults.jobs.clear()
    update_id = eks.update_nodegroup_config(clusterName="c1", nodegroupName="gpu", scalingConfig={"desiredSize": 3})[
        "update"
    ]["id"]
    box.clock.sleep(600)
    assert eks.describe_update(name="c1", nodegroupName="gpu", updateId=update_id)["update"]["status"] == "Successful"
    healed = eks.describe_nodegroup(clusterName="c1", nodegroupName="gpu")["nodegroup"]
    assert (healed["status"], healed["health"]["issues"], healed["scalingConfig"]["desiredSize"]) == ("ACTIVE", [], 3)

"""Guards of batch_compute_resize, the fixes of cli/mlcp_cli/local/patches/batch.py: each test shows the gap on plain
moto, then the AWS behaviour with the fix (test_install.py says how the guards are organised).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.local_cloud.patches.support import (
    Sandbox,
    task,
)


# --- batch_compute_resize ----------------------------------------------------------------------------------------
def _fargate_environment(box: Sandbox) -> str:
    ec2 = box.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"][0]["GroupId"]
    role = box.client("iam").create_role(RoleName="batch-service", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    arn: str = box.client("batch").create_compute_environment(
        computeEnvironmentName="spot",
        type="MANAGED",
        serviceRole=role,
        computeResources={"type": "FARGATE_SPOT", "maxvCpus": 4, "subnets": [subnet], "securityGroupIds": [group]},
    )["computeEnvironmentArn"]
    return arn


def _max_vcpus(box: Sandbox, arn: str) -> int:
    described = box.client("batch").describe_compute_environments(computeEnvironments=[arn])["computeEnvironments"]
    return int(described[0]["computeResources"]["maxvCpus"])


def test_batch_compute_resize_plain_moto_ignores_compute_resources(box: Sandbox) -> None:
    arn = _fargate_environment(box)
    box.client("batch").update_compute_environment(computeEnvironment=arn, computeResources={"maxvCpus": 64})
    assert _max_vcpus(box, arn) == 4


def test_batch_compute_resize_applies_max_vcpus_with_batch_validation(box: Sandbox) -> None:
    arn = _fargate_environment(box)
    box.activate()
    batch = box.client("batch")
    batch.update_compute_environment(computeEnvironment=arn, computeResources={"maxvCpus": 64})
    assert _max_vcpus(box, arn) == 64
    with pytest.raises(ClientError, match="not applicable to Fargate"):
        batch.update_compute_environment(computeEnvironment=arn, computeResources={"minvCpus": 2})
    assert _max_vcpus(box, arn) == 64
    # and through Step Functions' aws-sdk integration, PascalCase as the batch pipeline sends it
    restored = box.execute(
        task(
            "arn:aws:states:::aws-sdk:batch:updateComputeEnvironment",
            {"ComputeEnvironment": arn, "ComputeResources": {"MaxvCpus": 4}},
        )
    )
    assert restored["status"] == "SUCCEEDED", restored
    assert _max_vcpus(box, arn) == 4

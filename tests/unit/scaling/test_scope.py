"""The node groups the scaling controller may update (mlcp.scaling.scope, template ScalingNodegroupArns)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlcp.errors import NodegroupNotGranted, PolicyInvalid
from mlcp.scaling.policy import parse_policy
from mlcp.scaling.preflight import check_policy
from mlcp.scaling.scope import NODEGROUPS_PARAMETER, NodegroupScope, not_granted, partition

ROOT = Path(__file__).resolve().parents[3]
POLICY = parse_policy(yaml.safe_load((ROOT / "examples" / "scaling" / "policy.yaml").read_bytes()))
ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.mark.parametrize(
    ("grant", "allowed"),
    [
        (f"arn:aws:eks:{REGION}:{ACCOUNT}:nodegroup/ml-inference/*", True),
        (f"arn:aws:eks:{REGION}:{ACCOUNT}:nodegroup/ml-inference/gpu/*", True),
        (f"arn:aws:eks:{REGION}:{ACCOUNT}:nodegroup/ml-inference/gpu-b/*", False),
        (f"arn:aws:eks:{REGION}:{ACCOUNT}:nodegroup/ml-inference2/*", False),
        (f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/ml-inference", False),  # a cluster ARN is not a node group's
        (f"arn:aws:eks:eu-west-1:{ACCOUNT}:nodegroup/ml-inference/*", False),
        (f"arn:aws-cn:eks:{REGION}:{ACCOUNT}:nodegroup/ml-inference/*", False),
        ("arn:aws:eks:*:*:nodegroup/ml-*/*", True),
    ],
)
def test_a_grant_matches_the_node_groups_arn_as_iam_would(grant: str, allowed: bool) -> None:
    scope = NodegroupScope.parse(grant, account=ACCOUNT, region=REGION)
    assert scope.allows("ml-inference", "gpu") is allowed


def test_without_the_account_only_the_resource_part_is_compared() -> None:
    scope = NodegroupScope.parse("arn:aws:eks:eu-west-1:111122223333:nodegroup/ml-inference/*")
    assert scope.allows("ml-inference", "gpu")
    assert not scope.allows("other", "gpu")


def test_the_preflight_refuses_every_node_group_outside_the_scope_naming_the_parameter() -> None:
    with pytest.raises(PolicyInvalid) as caught:
        check_policy(POLICY, checker=None, source="policy", scope=NodegroupScope.parse("", account=ACCOUNT))
    fields = [e.field for e in caught.value.errors]
    assert fields == [f"nodegroups[{i}].name" for i in range(len(POLICY.nodegroups))]
    assert all(NODEGROUPS_PARAMETER in e.message and "(now: none)" in e.message for e in caught.value.errors)
    granted = NodegroupScope.parse(
        f"arn:aws:eks:{REGION}:{ACCOUNT}:nodegroup/{POLICY.cluster}/*", account=ACCOUNT, region=REGION
    )
    check_policy(POLICY, checker=None, source="policy", scope=granted)


@pytest.mark.parametrize(
    ("region", "expected"), [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")]
)
def test_partition_of_a_region(region: str, expected: str) -> None:
    assert partition(region) == expected


def test_check_names_every_node_group_outside_the_grants_and_how_to_grant_it() -> None:
    scope = NodegroupScope.parse(
        f"arn:aws:eks:{REGION}:{ACCOUNT}:nodegroup/ml-inference/gpu-a/*", account=ACCOUNT, region=REGION
    )
    scope.check("ml-inference", ["gpu-a"])  # granted: no error

    with pytest.raises(NodegroupNotGranted) as raised:
        scope.check("ml-inference", ["gpu-a", "gpu-b", "gpu-c"])

    reason = raised.value.reason
    assert reason.startswith(
        f"node group ml-inference/gpu-b, ml-inference/gpu-c is outside the template parameter {NODEGROUPS_PARAMETER}:"
    )
    assert "arn:aws:eks:<region>:<account>:nodegroup/ml-inference/gpu-b/*" in reason
    assert raised.value.details["nodegroups"] == ["gpu-b", "gpu-c"]
    assert "AccessDeniedException" not in reason
    assert "(EKS answered AccessDeniedException)" in not_granted("c", ["n"], denied_by_eks=True).reason

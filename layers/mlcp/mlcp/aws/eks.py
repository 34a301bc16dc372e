"""EKS adapter: the node groups the scaling controller reads (the state machine itself calls UpdateNodegroupConfig)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from mlcp.aws.clients import client, error_code
from mlcp.scaling.scope import not_granted


class EksAdapter:
    def __init__(self, eks: Any | None = None) -> None:
        self._eks = eks

    @property
    def eks(self) -> Any:
        if self._eks is None:
            self._eks = client("eks")
        return self._eks

    def describe_nodegroup(self, cluster: str, nodegroup: str) -> Mapping[str, Any] | None:
        """DescribeNodegroup's ``nodegroup``; None when it does not exist; NodegroupNotGranted when EKS answers
        AccessDeniedException (the role grants only ScalingNodegroupArns:
        https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeNodegroup.html#API_DescribeNodegroup_Errors)."""
        try:
            response = self.eks.describe_nodegroup(clusterName=cluster, nodegroupName=nodegroup)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            if error_code(exc) == "AccessDeniedException":
                raise not_granted(cluster, [nodegroup], denied_by_eks=True) from exc
            raise
        found: Mapping[str, Any] = response["nodegroup"]
        return found

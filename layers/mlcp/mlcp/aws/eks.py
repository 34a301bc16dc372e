"""EKS adapter: the node groups the scaling controller reads (the state machine itself calls UpdateNodegroupConfig)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from mlcp.aws.clients import client, error_code


class EksAdapter:
    def __init__(self, eks: Any | None = None) -> None:
        self._eks = eks

    @property
    def eks(self) -> Any:
        if self._eks is None:
            self._eks = client("eks")
        return self._eks

    def describe_nodegroup(self, cluster: str, nodegroup: str) -> Mapping[str, Any] | None:
        try:
            response = self.eks.describe_nodegroup(clusterName=cluster, nodegroupName=nodegroup)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise
        found: Mapping[str, Any] = response["nodegroup"]
        return found

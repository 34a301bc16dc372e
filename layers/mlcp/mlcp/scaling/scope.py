"""Which EKS node groups the scaling controller may update: those the operator granted by the template parameter
ScalingNodegroupArns (node group ARNs, ``*`` wildcards as in IAM; none by default). The state machine's role
allows eks:UpdateNodegroupConfig (and the decide function eks:DescribeNodegroup) on exactly these ARNs, so a
policy naming another cluster or node group is refused at registration, naming the parameter, instead of failing
with AccessDeniedException at its first scaling action (or, before, succeeding on any node group of the account).

A node group's ARN is ``arn:<partition>:eks:<region>:<account>:nodegroup/<cluster>/<nodegroup>/<id>``
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelastickubernetesservice.html);
the id is EKS's and unknown to a policy, so grants end in ``/*``: ``.../nodegroup/ml-inference/*`` (every node
group of the cluster) or ``.../nodegroup/ml-inference/gpu-a/*`` (one node group).
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from mlcp.common.preflight import split_list
from mlcp.errors import FieldError, NodegroupNotGranted

if TYPE_CHECKING:
    from mlcp.scaling.policy import ScalingPolicy

NODEGROUPS_PARAMETER = "ScalingNodegroupArns"
_SAMPLE_ID = "00000000-0000-0000-0000-000000000000"  # stands for EKS's node group id when matching a grant


def not_granted(cluster: str, nodegroups: list[str], *, denied_by_eks: bool = False) -> NodegroupNotGranted:
    """The error for node groups outside ScalingNodegroupArns, saying how to grant them (no AWS detail)."""
    names = ", ".join(f"{cluster}/{name}" for name in nodegroups)
    how = " (EKS answered AccessDeniedException)" if denied_by_eks else ""
    example = f"arn:aws:eks:<region>:<account>:nodegroup/{cluster}/{nodegroups[0] if nodegroups else '<nodegroup>'}/*"
    return NodegroupNotGranted(
        f"node group {names} is outside the template parameter {NODEGROUPS_PARAMETER}{how}: the stack may not "
        f"describe or update it; add its ARN to the stack parameter (e.g. {example}) and redeploy",
        cluster=cluster,
        nodegroups=nodegroups,
    )


def partition(region: str) -> str:
    """The ARN partition of ``region`` (aws, aws-cn, aws-us-gov)."""
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


@dataclass(frozen=True)
class NodegroupScope:
    """The granted node group ARN patterns; ``account``/``region`` None (the CLI without them): only the
    ``nodegroup/<cluster>/<nodegroup>`` part of each grant is compared."""

    grants: tuple[str, ...]
    account: str | None = None
    region: str | None = None

    @classmethod
    def parse(cls, text: str, *, account: str | None = None, region: str | None = None) -> NodegroupScope:
        return cls(split_list(text), account, region)

    def allows(self, cluster: str, nodegroup: str) -> bool:
        resource = f"nodegroup/{cluster}/{nodegroup}/{_SAMPLE_ID}"
        if self.account is not None and self.region is not None:
            arn = f"arn:{partition(self.region)}:eks:{self.region}:{self.account}:{resource}"
            return any(fnmatchcase(arn, grant) for grant in self.grants)
        return any(fnmatchcase(resource, grant.split(":", 5)[-1]) for grant in self.grants)

    def check(self, cluster: str, nodegroups: list[str]) -> None:
        """Raise NodegroupNotGranted naming the node groups of ``cluster`` outside the grants."""
        outside = [name for name in nodegroups if not self.allows(cluster, name)]
        if outside:
            raise not_granted(cluster, outside)

    def problems(self, policy: ScalingPolicy) -> list[FieldError]:
        """A FieldError for each node group of ``policy`` outside the grants, naming ScalingNodegroupArns."""
        granted = ", ".join(self.grants) or "none"
        return [
            FieldError(
                f"nodegroups[{i}].name",
                f"node group {policy.cluster}/{member.name} is not granted to the scaling controller by the template "
                f"parameter {NODEGROUPS_PARAMETER} (now: {granted}); add its ARN (e.g. "
                f"arn:aws:eks:<region>:<account>:nodegroup/{policy.cluster}/{member.name}/*) and redeploy",
            )
            for i, member in enumerate(policy.nodegroups)
            if not self.allows(policy.cluster, member.name)
        ]

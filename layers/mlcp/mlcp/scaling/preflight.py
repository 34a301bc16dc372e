"""The scaling controller's preflight: the EKS UpdateNodegroupConfig requests a policy can send, checked against
AWS's service model before the policy is registered or a decision is applied (mlcp.common.preflight).

For every node group of the policy, the requests at the policy's extremes (each member's share of ``min_size``
and of ``max_size``, split by weight as the controller splits) in the policy's mode: ``desired`` sends
minSize/maxSize/desiredSize, ``bounds`` only minSize/maxSize. EKS also requires minSize <= desiredSize <= maxSize
(https://docs.aws.amazon.com/eks/latest/APIReference/API_NodegroupScalingConfig.html).

Raises :class:`mlcp.errors.PolicyInvalid` naming policy fields, never request paths.
"""

from __future__ import annotations

from typing import Any

from mlcp.common.ports import RequestChecker
from mlcp.common.preflight import Findings, Route
from mlcp.common.preflight import model_findings as _model_findings
from mlcp.errors import PolicyInvalid
from mlcp.scaling.decide import split
from mlcp.scaling.policy import ScalingPolicy
from mlcp.scaling.scope import NodegroupScope

SAMPLE_DECISION_ID = "mlcp-scaling-0123456789abcdef0123456789abcdef"  # an EventBridge event id's length


def requests(policy: ScalingPolicy) -> list[tuple[int, dict[str, Any]]]:
    """(member index, UpdateNodegroupConfig request as the state machine sends it) at the policy's extremes."""
    weights = [m.weight for m in policy.nodegroups]
    lows, highs = split(policy.min_size, weights), split(policy.max_size, weights)
    found: list[tuple[int, dict[str, Any]]] = []
    for i, member in enumerate(policy.nodegroups):
        for want in sorted({lows[i], highs[i]}):
            config: dict[str, int] = {"MinSize": lows[i], "MaxSize": max(highs[i], 1)}
            if policy.mode == "desired":
                config["DesiredSize"] = want
            found.append(
                (
                    i,
                    {
                        "ClusterName": policy.cluster,
                        "NodegroupName": member.name,
                        "ScalingConfig": config,
                        "ClientRequestToken": f"{SAMPLE_DECISION_ID}-{member.name}",
                    },
                )
            )
    return found


def check_policy(
    policy: ScalingPolicy, *, checker: RequestChecker | None, source: str, scope: NodegroupScope | None = None
) -> None:
    """Check every UpdateNodegroupConfig request of ``policy`` and, with ``scope``, that its node groups are granted
    (ScalingNodegroupArns); raise PolicyInvalid naming the fields."""
    findings = Findings()
    for problem in scope.problems(policy) if scope is not None else []:
        findings.add(problem.field, problem.message)
    for i, request in requests(policy):
        config = request["ScalingConfig"]
        desired = config.get("DesiredSize", config["MinSize"])
        if not config["MinSize"] <= desired <= config["MaxSize"]:
            findings.add(
                "max_size",
                f"node group {request['NodegroupName']} would get minSize {config['MinSize']}, desiredSize "
                f"{desired}, maxSize {config['MaxSize']}; EKS requires minSize <= desiredSize <= maxSize: raise "
                "max_size or lower min_size",
            )
        routes: list[Route] = [
            (("ClusterName",), "cluster"),
            (("NodegroupName",), f"nodegroups[{i}].name"),
            (("ScalingConfig", "MinSize"), "min_size"),
            (("ScalingConfig", "MaxSize"), "max_size"),
            (("ScalingConfig", "DesiredSize"), "max_size"),
            (("ClientRequestToken",), f"nodegroups[{i}].name"),
        ]
        _model_findings(
            checker, "eks", "UpdateNodegroupConfig", request, routes=routes, default="nodegroups", findings=findings
        )
    if findings.errors:
        raise PolicyInvalid(source, findings.errors)

"""The scaling preflight: the UpdateNodegroupConfig requests a policy can send, against EKS's service model."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlcp.aws.service_models import ServiceModels
from mlcp.common.ports import RequestProblem
from mlcp.errors import PolicyInvalid
from mlcp.scaling.policy import parse_policy
from mlcp.scaling.preflight import check_policy, requests

ROOT = Path(__file__).resolve().parents[3]
CHECKER = ServiceModels()


def _policy_data() -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load((ROOT / "examples" / "scaling" / "policy.yaml").read_bytes())
    return data


def test_the_example_policys_requests_pass_the_eks_model() -> None:
    policy = parse_policy(_policy_data())
    built = requests(policy)
    assert {r["NodegroupName"] for _, r in built} == {m.name for m in policy.nodegroups}
    assert not [p for _, r in built for p in CHECKER.check("eks", "UpdateNodegroupConfig", r)]
    check_policy(policy, checker=CHECKER, source="policy")


def test_requests_follow_the_mode() -> None:
    data = _policy_data()
    data["mode"] = "bounds"
    for _, request in requests(parse_policy(data)):
        assert "DesiredSize" not in request["ScalingConfig"]


class _Refuses:
    """A checker that refuses one member of every request (what EKS's model would say of a bad value)."""

    def __init__(self, path: tuple[str, ...]) -> None:
        self.path = path

    def check(self, service: str, operation: str, params: Mapping[str, Any]) -> list[RequestProblem]:
        assert (service, operation) == ("eks", "UpdateNodegroupConfig")
        return [RequestProblem(self.path, "is refused")]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (("ClusterName",), "cluster"),
        (("NodegroupName",), "nodegroups[0].name"),
        (("ScalingConfig", "MaxSize"), "max_size"),
    ],
)
def test_a_problem_with_a_request_names_the_policy_field(path: tuple[str, ...], field: str) -> None:
    with pytest.raises(PolicyInvalid) as exc:
        check_policy(parse_policy(_policy_data()), checker=_Refuses(path), source="policy")
    assert exc.value.errors[0].field == field
    assert "UpdateNodegroupConfig" in exc.value.errors[0].message

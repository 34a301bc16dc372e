"""First deploy in a fresh region: the API stage (access logging) is created after API Gateway's CloudWatch role is
set, in the template CloudFormation really receives (after the SAM transform).

API Gateway refuses a stage with access logging while the account has no CloudWatch Logs role ("CloudWatch Logs role
ARN must be set in account settings to enable logging"); nothing but an explicit dependency orders the stage after
``AWS::ApiGateway::Account``. CloudFormation's DependsOn cannot name a resource whose Condition is false, so the
template goes through a ``WaitConditionHandle`` whose Metadata refers to the account resource only when it exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mlcp_cli.local import deploy
from tests.support import load_template


def _transformed(manage_account: str) -> dict[str, Any]:
    template = load_template()
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = "s3://deploy-bucket/code.zip"
        if isinstance(properties.pop("DefinitionUri", None), str):
            properties["Definition"] = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    return deploy.transform(template, {"ManageApiGatewayAccount": manage_account})


def _references(node: Any) -> Iterator[str]:
    """Logical ids a node refers to (Ref, Fn::GetAtt, ${Name} in Fn::Sub)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt":
                yield (value.split(".")[0] if isinstance(value, str) else value[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                yield from (part.split("}")[0].split(".")[0] for part in text.split("${")[1:])
                if not isinstance(value, str):
                    yield from _references(value[1])
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def _depends_on(template: dict[str, Any], logical_id: str) -> set[str]:
    """Everything ``logical_id`` waits for: DependsOn and references, transitively."""
    resources = template["Resources"]
    seen: set[str] = set()
    todo = [logical_id]
    while todo:
        resource = resources[todo.pop()]
        explicit = resource.get("DependsOn", [])
        direct = {*([explicit] if isinstance(explicit, str) else explicit), *_references(resource)}
        for name in direct & set(resources) - seen:
            seen.add(name)
            todo.append(name)
    return seen


def _logging_stages(template: dict[str, Any]) -> list[str]:
    return [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::ApiGateway::Stage" and "AccessLogSetting" in resource.get("Properties", {})
    ]


def test_the_access_logging_stage_waits_for_the_api_gateway_account() -> None:
    template = _transformed("true")
    stages = _logging_stages(template)
    assert stages, "the transformed template has no API stage with access logging"
    for stage in stages:
        assert "ApiGatewayAccount" in _depends_on(template, stage), stage


def test_without_the_account_resource_nothing_depends_on_it() -> None:
    """ManageApiGatewayAccount=false: the handle's Metadata resolves to nothing, so no dangling dependency."""
    template = _transformed("false")
    handle = template["Resources"]["ApiGatewayAccountReady"]
    assert handle["Type"] == "AWS::CloudFormation::WaitConditionHandle"
    reference = handle["Metadata"]["ApiGatewayAccount"]
    assert reference == {"Fn::If": ["ManagesApiGatewayAccount", {"Ref": "ApiGatewayAccount"}, {"Ref": "AWS::NoValue"}]}
    for logical_id, resource in template["Resources"].items():
        explicit = resource.get("DependsOn", [])
        assert "ApiGatewayAccount" not in ([explicit] if isinstance(explicit, str) else explicit), logical_id


@pytest.mark.parametrize("manage_account", ["true", "false"])
def test_the_api_depends_on_the_handle_after_the_transform(manage_account: str) -> None:
    template = _transformed(manage_account)
    rest_apis = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::ApiGateway::RestApi"]
    assert rest_apis
    for logical_id in rest_apis:
        depends = template["Resources"][logical_id].get("DependsOn", [])
        assert "ApiGatewayAccountReady" in ([depends] if isinstance(depends, str) else depends), logical_id

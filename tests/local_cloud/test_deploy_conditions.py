"""The local deploy evaluates the template's conditions as CloudFormation does (which resources the stack has)."""

from __future__ import annotations

from typing import Any

import pytest

from mlcp_cli.local.deploy import Deployment, _condition_holds, resolve_conditionals
from tests.support import load_template


def _deployment(conditions: dict[str, Any], parameters: dict[str, str]) -> Deployment:
    template = {
        "Parameters": {"Email": {"Type": "String", "Default": ""}, "Manage": {"Type": "String", "Default": "false"}},
        "Conditions": conditions,
    }
    return Deployment("s", template, physical={}, types={}, outputs={}, parameters=parameters)


@pytest.mark.parametrize(
    ("condition", "parameters", "expected"),
    [
        ({"Fn::Not": [{"Fn::Equals": [{"Ref": "Email"}, ""]}]}, {}, False),
        ({"Fn::Not": [{"Fn::Equals": [{"Ref": "Email"}, ""]}]}, {"Email": "a@b.c"}, True),
        ({"Fn::Equals": [{"Ref": "Manage"}, "true"]}, {}, False),
        ({"Fn::Equals": [{"Ref": "Manage"}, "true"]}, {"Manage": "true"}, True),
        ({"Fn::And": [{"Condition": "Other"}, {"Fn::Equals": [{"Ref": "Manage"}, "true"]}]}, {"Manage": "true"}, True),
        ({"Fn::And": [{"Condition": "Other"}, {"Fn::Equals": [{"Ref": "Manage"}, "true"]}]}, {"Manage": "no"}, False),
        ({"Fn::Or": [{"Condition": "Other"}, {"Fn::Equals": [{"Ref": "Email"}, "x"]}]}, {"Manage": "no"}, True),
        ({"Fn::Or": [{"Fn::Equals": ["a", "b"]}, {"Fn::Equals": [{"Ref": "Email"}, "x"]}]}, {}, False),
    ],
)
def test_conditions_evaluate_like_cloudformation(condition: Any, parameters: dict[str, str], expected: bool) -> None:
    deployment = _deployment({"Tested": condition, "Other": {"Fn::Equals": ["1", "1"]}}, parameters)
    assert _condition_holds(deployment, "Tested") is expected


def test_an_unknown_parameter_or_function_is_a_clear_error() -> None:
    deployment = _deployment(
        {"Unknown": {"Fn::Equals": [{"Ref": "Nope"}, ""]}, "Odd": {"Fn::If": ["Other", "a", "b"]}}, {}
    )
    with pytest.raises(ValueError, match="condition Unknown has a shape"):
        _condition_holds(deployment, "Unknown")
    with pytest.raises(ValueError, match="condition Odd has a shape"):
        _condition_holds(deployment, "Odd")


def test_every_condition_of_the_template_evaluates() -> None:
    template = load_template()
    deployment = Deployment("s", template, physical={}, types={}, outputs={}, parameters={})
    results = {name: _condition_holds(deployment, name) for name in template["Conditions"]}
    assert results["HasSchedule"] is False  # defaults: no scheduled pipeline, no e-mail
    assert results["HasEmail"] is False
    assert set(results) == set(template["Conditions"])


@pytest.mark.parametrize(("buckets", "expected"), [("", False), ("a", True), ("a,b", True)])
def test_a_join_over_a_comma_delimited_list_parameter_evaluates(buckets: str, expected: bool) -> None:
    """The template's HasDataBuckets / HasExtraSageMakerRoles shape."""
    condition = {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": [",", {"Ref": "Email"}]}, ""]}]}
    deployment = _deployment({"Has": condition}, {"Email": buckets})
    assert _condition_holds(deployment, "Has") is expected


@pytest.mark.parametrize(("email", "statements"), [("", ["Always"]), ("a@b.c", ["Always", "OnlyWithEmail"])])
def test_fn_if_is_resolved_and_no_value_dropped_as_cloudformation_does(email: str, statements: list[str]) -> None:
    conditions = {"HasEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Email"}, ""]}]}}
    node = {
        "Statement": [
            {"Sid": "Always"},
            {"Fn::If": ["HasEmail", {"Sid": "OnlyWithEmail"}, {"Ref": "AWS::NoValue"}]},
        ],
        "Extra": {"Fn::If": ["HasEmail", "yes", {"Ref": "AWS::NoValue"}]},
    }
    resolved = resolve_conditionals(node, _deployment(conditions, {"Email": email}))
    assert [s["Sid"] for s in resolved["Statement"]] == statements
    assert ("Extra" in resolved) is bool(email)

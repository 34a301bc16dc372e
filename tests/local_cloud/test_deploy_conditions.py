"""The local deploy evaluates the template's conditions as CloudFormation does (which resources the stack has)."""

from __future__ import annotations

from typing import Any

import pytest

from mlcp_cli.local.deploy import Deployment, _condition_holds
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

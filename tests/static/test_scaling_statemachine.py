"""Static checks of statemachines/nodegroup_scaling.asl.json and its template wiring."""

from __future__ import annotations

import json
from typing import Any

from mlcp.scaling.payloads import DecideInput, RecordInput
from mlcp.scaling.policy import ALARM_PREFIX
from tests.static.test_statemachines import _states
from tests.support import STATEMACHINES, load_template

DEFINITION: dict[str, Any] = json.loads((STATEMACHINES / "nodegroup_scaling.asl.json").read_text())
STATES = _states(DEFINITION)


def _sent(state: dict[str, Any]) -> set[str]:
    return {key.removesuffix(".$") for key in state["Parameters"]}


def test_lambda_tasks_send_what_the_handlers_parse() -> None:
    for name, model in (("Decide Scaling", DecideInput), ("Record Scaling", RecordInput)):
        required = {k for k, f in model.model_fields.items() if f.is_required()}
        assert required <= _sent(STATES[name]) <= set(model.model_fields), name


def test_eks_errors_resource_in_use_retried_invalid_parameter_caught() -> None:
    update = STATES["Update Nodegroup Config"]
    assert update["Resource"] == "arn:aws:states:::aws-sdk:eks:updateNodegroupConfig"
    (in_use,) = [r for r in update["Retry"] if r["ErrorEquals"] == ["Eks.ResourceInUseException"]]
    assert in_use["MaxAttempts"] >= 3
    assert in_use["JitterStrategy"] == "FULL"
    caught = {e for rule in update["Catch"] for e in rule["ErrorEquals"]}
    assert {"Eks.InvalidParameterException", "Eks.ResourceInUseException", "States.ALL"} <= caught
    assert all(rule["Next"] == "Update Not Applied" for rule in update["Catch"])


def test_describe_loop_is_bounded_and_ends_on_every_terminal_status() -> None:
    choices = STATES["Update Done?"]["Choices"]
    statuses = {c["StringEquals"] for c in choices if c.get("Variable") == "$.result.Status"}
    assert statuses == {"Successful", "Failed", "Cancelled"}
    assert any(c.get("NumericGreaterThanEqualsPath") == "$.max_polls" for c in choices)
    assert STATES["Update Done?"]["Default"] == "Count Poll"
    assert STATES["Wait Before Next Poll"]["Next"] == "Describe Update"
    assert STATES["Wait For Update"]["SecondsPath"] == "$.first_wait_seconds"


def test_every_failure_is_notified_and_the_lease_released() -> None:
    assert STATES["Update Node Groups"]["Next"] == "Record Scaling"
    assert STATES["Updates Interrupted"]["Next"] == "Record Scaling"  # the Map failing still releases the lease
    assert STATES["Scaling Failed?"]["Choices"][0]["Next"] == "Claim Scaling Failure Notice"
    assert STATES["Claim Scaling Failure Notice"]["Next"] == "Notify Scaling Failure"
    for name in ("Decide Scaling", "Record Scaling"):
        assert {r["Next"] for r in STATES[name]["Catch"]} == {"Claim Controller Error Notice"}
    assert STATES["Claim Controller Error Notice"]["Next"] == "Notify Controller Error"
    assert STATES["Notify Scaling Failure"]["Next"] == "Scaling Failed"
    assert STATES["Notify Controller Error"]["Next"] == "Controller Error"


def test_template_rule_forwards_only_the_controllers_alarms() -> None:
    machine = load_template()["Resources"]["NodegroupScaling"]["Properties"]
    pattern = machine["Events"]["AlarmStateChanged"]["Properties"]["Pattern"]
    assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    # Only this stack's alarms (mlcp-scaling-<EnvironmentName>-), so two stacks in one account never cross-talk.
    assert pattern["detail"]["alarmName"] == [{"prefix": {"Fn::Sub": f"{ALARM_PREFIX}${{EnvironmentName}}-"}}]
    assert machine["Type"] == "STANDARD"

"""What travels between the states of nodegroup_scaling: the trigger, the decision, the update's outcome."""

from __future__ import annotations

from typing import Any

from mlcp.common.payloads import Payload
from mlcp.scaling.policy import Decision


class DecideInput(Payload):
    """What "Decide Scaling" sends: the triggering event (alarm state change or schedule input) and the execution."""

    event: dict[str, Any]
    execution_arn: str


class WaitSettings(Payload):
    first_wait_seconds: int
    poll_seconds: int
    max_polls: int


class RecordResult(Payload):
    failed: bool
    outcome: str
    subject: str
    message: str


class DecideResult(Payload):
    decision: Decision
    decision_key: str
    duplicate: bool = False
    settings: WaitSettings
    # A decision that failed before any update (node groups outside ScalingNodegroupArns): the notification to
    # publish ("Apply?" sends it to "Claim Scaling Failure Notice"); None otherwise, or when already notified.
    record: RecordResult | None = None


class UpdateOutcome(Payload):
    """One Map iteration's final state: the update's id, its last DescribeUpdate, or the error that ended it."""

    nodegroup: str = "(all)"  # the Map itself was interrupted
    update: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    counter: dict[str, Any] | None = None


class RecordInput(Payload):
    decision: Decision
    decision_key: str
    results: list[UpdateOutcome] = []
    error: dict[str, Any] | None = None
    execution_arn: str

"""A decision on node groups outside the stack's ScalingNodegroupArns: recorded as failed, notified once.

The operator may narrow the parameter after a policy was registered (registration refuses policies outside it),
so decide checks the scope before any EKS call, and the EKS adapter maps AccessDeniedException to the same
NodegroupNotGranted. The decision is written FAILED (outcome ``NotGranted``) with the reason naming the parameter;
the notification (words, no stack trace) goes out for the first such decision only: the controller state keeps the
reason (``not_granted``) until a decision passes the scope again, so an alarm storm or a re-evaluation schedule
adds records, not mails, and nothing is retried.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from mlcp.common import notifications
from mlcp.errors import NodegroupNotGranted
from mlcp.scaling.payloads import DecideResult, RecordResult, WaitSettings
from mlcp.scaling.policy import AnyTrigger, ControllerState, Decision, ScalingPolicy

if TYPE_CHECKING:
    from mlcp.scaling.use_cases import ScalingDeps

OUTCOME = "NotGranted"
STATE_WRITE_ATTEMPTS = 4


def _first_notice(policy: str, reason: str, deps: ScalingDeps) -> bool:
    """Remember ``reason`` on the controller state; False when it was already there (notified before)."""
    for _ in range(STATE_WRITE_ATTEMPTS):
        stored = deps.state.get_state(policy)
        state = ControllerState.model_validate(stored) if stored else ControllerState(policy=policy)
        if state.not_granted == reason:
            return False
        marked = state.model_copy(update={"not_granted": reason})
        if deps.state.put_state(policy, marked.model_dump(mode="json"), expected_version=state.version):
            return True
    return True  # the state kept changing: rather one mail too many than a silent failure


def message(decision: Decision, decision_key: str, execution_arn: str) -> str:
    """The notification: what failed, why (the parameter), what to do; no AWS error text."""
    cluster = decision.cluster
    return "\n".join(
        [
            f"Scaling of {decision.policy} (cluster {cluster}) was not attempted: nothing was changed.",
            f"Why: {decision.reason}.",
            "",
            "What to do:",
            f"  - add the node group ARNs of policy {decision.policy} to the stack parameter ScalingNodegroupArns "
            "and redeploy (sam deploy --parameter-overrides ScalingNodegroupArns=...), or delete the policy "
            f"(scaling/{decision.policy}/policy.yaml) if the stack should no longer scale it.",
            "  - until then every trigger of this policy is recorded as failed in the decisions table; this is the "
            "only notification until a decision passes the scope again.",
            "",
            f"The decision record is {decision_key} (mlcp scaling get, or GET /scaling/{cluster}/<nodegroup>); "
            f"execution {execution_arn}.",
        ]
    )


def refuse(  # noqa: PLR0917 - decide_scaling's locals, passed on
    policy: ScalingPolicy,
    trigger: AnyTrigger,
    decision_id: str,
    key: str,
    exc: NodegroupNotGranted,
    settings: WaitSettings,
    execution_arn: str,
    deps: ScalingDeps,
) -> DecideResult:
    """Record the decision as FAILED (outcome NotGranted, the reason naming ScalingNodegroupArns) and return it
    with ``record`` (the notification) on the first such decision of the policy, None after."""
    now = deps.clock()
    decision = Decision(
        decision_id=decision_id,
        policy=policy.key,
        cluster=policy.cluster,
        at=now,
        action="noop",
        reason=exc.reason,
        capacity=0,
        target=0,
        trigger=trigger,
        nodegroups=[],
        state_version=0,
        decided_at=now,
    )
    deps.decisions.complete(
        policy.key,
        key,
        decision.model_dump(mode="json")
        | {"status": "FAILED", "outcome": OUTCOME, "completed_at": now.astimezone(dt.UTC).isoformat()},
    )
    deps.meter.add("ScalingDecisions", 1, "Count")
    deps.meter.add("ScalingNodegroupsNotGranted", 1, "Count")
    record = None
    if _first_notice(policy.key, exc.reason, deps):
        record = RecordResult(
            failed=True,
            outcome=OUTCOME,
            subject=notifications.subject(f"scaling {policy.key} not granted (ScalingNodegroupArns)"),
            message=message(decision, key, execution_arn),
        )
    return DecideResult(decision=decision, decision_key=key, settings=settings, record=record)

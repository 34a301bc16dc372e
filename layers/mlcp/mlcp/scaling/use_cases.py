"""The scaling controller's use cases (one per handler): register a policy, decide, record the outcome.

Data in, data out, through the ports in :class:`ScalingDeps`; the decision itself is mlcp.scaling.decide (pure).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from mlcp.common import notifications
from mlcp.common.documents import read_document
from mlcp.common.ports import Meter, Notifier, ObjectStore, RequestChecker
from mlcp.common.s3_events import (
    KeyAction,
    KeyDecision,
    S3Object,
    classify_key,
    parse_s3_event,
    refuse,
    resolve_key,
    wildcard_regex,
)
from mlcp.common.validation import field_errors
from mlcp.errors import EventIgnored, EventInvalid, FieldError, NodegroupNotGranted, PolicyInvalid, PolicyNotFound
from mlcp.scaling import not_granted
from mlcp.scaling.decide import complete, decide
from mlcp.scaling.payloads import DecideInput, DecideResult, RecordInput, RecordResult, UpdateOutcome, WaitSettings
from mlcp.scaling.policy import (
    AlarmReading,
    AlarmTrigger,
    AnyTrigger,
    ControllerState,
    Decision,
    ManualTrigger,
    NodegroupConfig,
    ScalingPolicy,
    ScheduleTrigger,
    parse_policy,
    registration_problems,
)
from mlcp.scaling.ports import AlarmStates, DecisionLog, Nodegroups, ScalingPolicyStore, ScalingStateStore
from mlcp.scaling.preflight import check_policy
from mlcp.scaling.settings import ScalingSettings

# template.yaml's ScalingPolicyUploaded rule matches these wildcards (tests/static/test_trigger_rules.py).
POLICY_WILDCARDS = ("scaling/*/*/policy.yaml", "scaling/*/*/policy.yml", "scaling/*/*/policy.json")
POLICY_KEY = re.compile(r"^scaling/(?P<cluster>[^/]+)/(?P<name>[^/]+)/policy\.(?:ya?ml|json)$")
STATE_WRITE_ATTEMPTS = 4
MANUAL_SOURCE = "mlcp.scaling.manual"  # the execution input of a manual change (POST /scaling/.../actions)


@dataclass
class ScalingDeps:
    settings: ScalingSettings
    objects: ObjectStore
    nodegroups: Nodegroups
    alarms: AlarmStates
    policies: ScalingPolicyStore
    state: ScalingStateStore
    decisions: DecisionLog
    notifier: Notifier
    meter: Meter
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    requests: RequestChecker | None = None  # AWS's request rules (mlcp.aws.service_models); None: limits only


def checked_policy(
    document: str | bytes | dict[str, Any], deps: ScalingDeps, *, source: str, scoped: bool = False
) -> ScalingPolicy:
    """Parse a policy and run its preflight (the UpdateNodegroupConfig requests it can send; with ``scoped``, the
    node groups the stack may update: ScalingNodegroupArns); PolicyInvalid."""
    policy = parse_policy(document, source=source)
    scope = deps.settings.nodegroup_scope() if scoped else None
    check_policy(policy, checker=deps.requests, source=source, scope=scope)
    return policy


# --- registration ------------------------------------------------------------------------------------------------
class PolicyRegistration(BaseModel):
    model_config = ConfigDict(frozen=True)

    policy: str
    status: str  # registered | rejected | stale (a newer upload is registered) | refused (bad key) | ignored
    source: str
    errors: list[dict[str, str]] = []


def classify_policy_key(key: str) -> KeyDecision:
    """register_scaling_policy's decision on a (decoded) key: accept, refuse (notified) or ignore. Pure."""
    expected = "scaling/<cluster>/<name>/policy.yaml (or .yml, .json): cluster and name are one path segment each"
    decision = classify_key(key, wildcard_regex(POLICY_WILDCARDS), POLICY_KEY, expected)
    if decision.action == KeyAction.REFUSE:  # recorded under <cluster>/<the rest>, where a policy would be
        rest = key.removeprefix("scaling/").rsplit("/", 1)[0]
        return KeyDecision(KeyAction.REFUSE, reason=decision.reason, name=rest)
    return decision


def _overlaps(policy: ScalingPolicy, key: str, deps: ScalingDeps) -> list[FieldError]:
    """One node group, one policy: each member already covered by another registered policy, naming that policy
    (two policies on one node group would fight; before, the one whose key sorted first silently won)."""
    found = []
    for i, member in enumerate(policy.nodegroups):
        holder = deps.policies.policy_for_nodegroup(policy.cluster, member.name)
        if holder is not None and holder != key:
            message = (
                f"{member.name!r} is already scaled by the registered policy {holder!r}; one policy per node group"
            )
            found.append(FieldError(f"nodegroups[{i}].name", message))
    return found


def register_scaling_policy(event: Mapping[str, Any], deps: ScalingDeps) -> PolicyRegistration:
    """S3 ``scaling/<cluster>/<name>/policy.yaml`` uploaded: validate and register it (with its alarm index), or
    reject it with a notification naming the fields; a rejected upload leaves the registered policy in place, and so
    does a late re-delivery of an older upload (per-key S3 sequencer). The policy is read at the event's version."""
    try:
        obj = parse_s3_event(event)
    except EventIgnored as exc:
        deps.meter.add("TriggersIgnored", 1, "Count")
        return PolicyRegistration(policy="", status="ignored", source=exc.reason)
    decision = classify_policy_key(obj.key)
    if decision.action == KeyAction.IGNORE:
        deps.meter.add("TriggersIgnored", 1, "Count")
        return PolicyRegistration(policy="", status="ignored", source=obj.source)
    if decision.action == KeyAction.REFUSE:
        refuse(
            obj,
            decision,
            trigger="scaling policy",
            refusals=deps.policies,
            notifier=deps.notifier,
            meter=deps.meter,
            at=deps.clock(),
        )
        errors = [{"field": "detail.object.key", "message": decision.reason}]
        return PolicyRegistration(policy=decision.name, status="refused", source=obj.source, errors=errors)
    return _register_policy(resolve_key(obj, deps.objects), deps)


def _register_policy(obj: S3Object, deps: ScalingDeps) -> PolicyRegistration:
    match = POLICY_KEY.match(obj.key)
    if match is None:
        raise EventInvalid(
            f"object key {obj.key!r}",
            [FieldError("detail.object.key", "expected scaling/<cluster>/<name>/policy.yaml")],
        )
    key = f"{match['cluster']}/{match['name']}"
    try:
        body = read_document(deps.objects, obj.uri, obj.version_id, source=obj.source, error=PolicyInvalid)
        policy = checked_policy(body, deps, source=obj.source, scoped=True)
        if policy.key != key:
            raise PolicyInvalid(obj.source, [FieldError("cluster", f"policy {policy.key!r} uploaded under {key!r}")])
        problems = registration_problems(policy, deps.settings.environment) + _overlaps(policy, key, deps)
        if problems:
            raise PolicyInvalid(obj.source, problems)
    except PolicyInvalid as exc:
        errors = [e.as_dict() for e in exc.errors]
        deps.policies.record_rejection(key, obj.source, errors, deps.clock())
        deps.notifier.publish(
            subject=notifications.subject(f"scaling policy {key} rejected"),
            message=notifications.rejection_message(
                "scaling policy", obj.source, exc.errors, f"{key} keeps its previous policy"
            ),
            attributes={"event": "scaling_policy_rejected", "policy": key},
        )
        deps.meter.add("ScalingPoliciesRejected", 1, "Count")
        return PolicyRegistration(policy=key, status="rejected", source=obj.source, errors=errors)
    stored = deps.policies.put_policy(
        key,
        policy.model_dump(mode="json"),
        policy.alarm_names(),
        version=obj.identity or "unversioned",
        source=obj.source,
        order=obj.sequencer or "",
    )
    deps.meter.add("ScalingPoliciesRegistered", 1 if stored else 0, "Count")
    return PolicyRegistration(policy=key, status="registered" if stored else "stale", source=obj.source)


# --- decide ------------------------------------------------------------------------------------------------------
def parse_trigger(event: Mapping[str, Any]) -> AnyTrigger:
    """A "CloudWatch Alarm State Change" event, or the input of a scaling schedule (see template.yaml)."""
    try:
        if event.get("detail-type") == "CloudWatch Alarm State Change":
            detail = event.get("detail") or {}
            return AlarmTrigger.model_validate(
                {
                    "alarm": detail.get("alarmName"),
                    "state": (detail.get("state") or {}).get("value"),
                    "previous_state": (detail.get("previousState") or {}).get("value", ""),
                    "at": event.get("time"),
                    "state_at": (detail.get("state") or {}).get("timestamp"),
                    "event_id": event.get("id", ""),
                }
            )
        if event.get("source") == MANUAL_SOURCE:
            return ManualTrigger.model_validate({k: v for k, v in event.items() if k != "source"})
        if event.get("source") == "mlcp.scaling.schedule":
            return ScheduleTrigger.model_validate(
                {
                    "policy": event.get("policy"),
                    "schedule": event.get("schedule_arn", ""),
                    "at": event.get("scheduled_time"),
                }
            )
    except ValidationError as exc:
        raise EventInvalid("scaling trigger", field_errors(exc)) from exc
    raise EventInvalid(
        "scaling trigger",
        [
            FieldError(
                "detail-type",
                f"expected a CloudWatch Alarm State Change event, a mlcp.scaling.schedule or a {MANUAL_SOURCE} input",
            )
        ],
    )


def _decision_id(trigger: AnyTrigger) -> str:
    if isinstance(trigger, AlarmTrigger) and trigger.event_id:
        return trigger.event_id
    if isinstance(trigger, ManualTrigger) and trigger.request_id:
        return trigger.request_id
    subject = trigger.alarm if isinstance(trigger, AlarmTrigger) else trigger.policy
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"{subject}-{trigger.at.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}")


def _key(trigger: AnyTrigger, decision_id: str) -> str:
    return f"{trigger.at.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%S.%fZ}#{decision_id}"


def decision_key(decision: Decision) -> str:
    """The decision's sort key in the decisions table: the trigger's time, then the decision id."""
    return _key(decision.trigger, decision.decision_id)


def _policy(trigger: AnyTrigger, deps: ScalingDeps) -> ScalingPolicy:
    key = deps.policies.policy_for_alarm(trigger.alarm) if isinstance(trigger, AlarmTrigger) else trigger.policy
    stored = deps.policies.get_policy(key) if key else None
    if stored is None:
        what = (
            f"alarm {trigger.alarm}"
            if isinstance(trigger, AlarmTrigger)
            else f"manual change of {trigger.policy}"
            if isinstance(trigger, ManualTrigger)
            else f"schedule of {trigger.policy}"
        )
        raise PolicyNotFound(f"no scaling policy is registered for the {what}")
    return checked_policy(stored, deps, source=f"registered scaling policy {key}")


def _state(deps: ScalingDeps, policy: str) -> ControllerState:
    stored = deps.state.get_state(policy)
    return ControllerState.model_validate(stored) if stored else ControllerState(policy=policy)


def read_alarms(policy: ScalingPolicy, deps: ScalingDeps) -> dict[str, AlarmReading]:
    """The current state of every alarm the policy's rules name (CloudWatch DescribeAlarms, batched); ``MISSING``
    for an alarm CloudWatch does not know, which therefore never counts as in ALARM."""
    found = deps.alarms.describe_alarms(policy.alarm_names(), values_for=policy.tracked_alarms())
    return {
        name: AlarmReading.model_validate(found[name]) if name in found else AlarmReading(state="MISSING")
        for name in policy.alarm_names()
    }


def decide_scaling(inp: DecideInput, deps: ScalingDeps) -> DecideResult:
    """Decide, take the lease with a conditional write (re-deciding if another decision wrote first), log it.

    The decision is made as of the trigger's time (the alarm's state change, the schedule's scheduled time), on the
    alarms' states as CloudWatch holds them now (read before every attempt and recorded on the decision), so the
    decisions table can replay it exactly; ``decided_at`` is the controller's own clock.
    """
    trigger = parse_trigger(inp.event)
    decision_id = _decision_id(trigger)
    key = _key(trigger, decision_id)
    settings = WaitSettings(
        first_wait_seconds=deps.settings.scaling_first_wait_seconds,
        poll_seconds=deps.settings.scaling_poll_seconds,
        max_polls=deps.settings.scaling_max_polls,
    )
    try:
        policy = _policy(trigger, deps)
    except PolicyNotFound as exc:
        if not isinstance(trigger, ScheduleTrigger):
            raise  # an mlcp-scaling-* alarm without a policy is a configuration error worth a notification
        # A re-evaluation schedule may exist before its policy is uploaded: a recorded no-op, not a page.
        unregistered = _noop(trigger.policy, trigger, decision_id, exc.reason, deps)
        deps.decisions.add(trigger.policy, key, unregistered.model_dump(mode="json") | {"status": "NOOP"})
        return DecideResult(decision=unregistered, decision_key=key, settings=settings)
    # Claim the trigger first: a redelivered event must neither decide again nor leave a lease behind.
    if not deps.decisions.add(policy.key, key, {"status": "DECIDING", "execution_arn": inp.execution_arn}):
        duplicate = _noop(policy.key, trigger, decision_id, f"duplicate trigger: decision {key} exists", deps)
        return DecideResult(decision=duplicate, decision_key=key, duplicate=True, settings=settings)
    try:
        decision = _decide_under_state(policy, trigger, decision_id, deps)
    except NodegroupNotGranted as exc:  # outside ScalingNodegroupArns: a recorded failure, notified once
        return not_granted.refuse(policy, trigger, decision_id, key, exc, settings, inp.execution_arn, deps)
    deps.decisions.complete(
        policy.key, key, decision.model_dump(mode="json") | {"status": "IN_PROGRESS" if decision.applied else "NOOP"}
    )
    deps.meter.add("ScalingDecisions", 1, "Count")
    deps.meter.add("ScalingUpdatesRequested", 1 if decision.applied else 0, "Count")
    return DecideResult(decision=decision, decision_key=key, settings=settings)


def _decide_under_state(policy: ScalingPolicy, trigger: AnyTrigger, decision_id: str, deps: ScalingDeps) -> Decision:
    """Check the scope (NodegroupNotGranted before any EKS call), then decide on the node groups and state read
    now and write the state conditionally, re-deciding if another decision wrote first."""
    scope = deps.settings.nodegroup_scope()
    if scope is not None:
        scope.check(policy.cluster, [m.name for m in policy.nodegroups])
    for _ in range(STATE_WRITE_ATTEMPTS):
        described = [deps.nodegroups.describe_nodegroup(policy.cluster, m.name) for m in policy.nodegroups]
        nodegroups = [NodegroupConfig.from_describe(dict(d)) for d in described if d is not None]
        state = _state(deps, policy.key)
        if state.not_granted is not None:  # in scope again: a later refusal is notified anew
            state = state.model_copy(update={"not_granted": None})
        outcome = decide(
            decision_id=decision_id,
            trigger=trigger,
            nodegroups=nodegroups,
            policy=policy,
            state=state,
            now=trigger.at,
            alarms=read_alarms(policy, deps),
        )
        if deps.state.put_state(policy.key, outcome.state.model_dump(mode="json"), expected_version=state.version):
            decision = outcome.decision
            break
    else:
        decision = outcome.decision.model_copy(
            update={"action": "noop", "direction": None, "updates": [], "reason": "controller state kept changing"}
        )
    return decision.model_copy(update={"decided_at": deps.clock()})


def _noop(policy: str, trigger: AnyTrigger, decision_id: str, reason: str, deps: ScalingDeps) -> Decision:
    return Decision(
        decision_id=decision_id,
        policy=policy,
        cluster=policy.partition("/")[0],
        at=deps.clock(),
        action="noop",
        reason=reason,
        capacity=0,
        target=0,
        trigger=trigger,
        nodegroups=[],
        state_version=0,
    )


# --- record ------------------------------------------------------------------------------------------------------
_ERROR_OUTCOMES = {
    "Eks.ResourceInUseException": "ResourceInUse",
    "Eks.InvalidParameterException": "Rejected",
    "Eks.ResourceNotFoundException": "NotFound",
    "Eks.AccessDeniedException": "NotGranted",  # the role grants ScalingNodegroupArns only
}


_ADVICE = {
    "ResourceInUse": "another update of the node group was still running; the next alarm or re-evaluation retries.",
    "Rejected": "EKS refused the sizes; check the policy's min_size/max_size against the node group's limits.",
    "NotFound": "the node group does not exist; fix the policy's nodegroups or create the node group.",
    "Failed": "EKS could not apply the change to {nodegroup}; check its health issues (mlcp scaling get {cluster} "
    "{nodegroup}) and the account's EC2 capacity and quotas, then retry (mlcp scaling set {cluster} {nodegroup} "
    "--desired N, or POST /scaling/{cluster}/{nodegroup}/actions).",
    "NotGranted": "the node group is outside the stack parameter ScalingNodegroupArns; add its ARN "
    "(arn:aws:eks:<region>:<account>:nodegroup/{cluster}/{nodegroup}/*) and redeploy.",
    "TimedOut": "EKS did not finish in time; the update may still complete; check it before retrying.",
}


def _message_of(cause: str) -> str:
    """A person's line from an error cause: the message of a JSON cause (Lambda, aws-sdk), never a stack trace."""
    text = cause.strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            text = str(parsed.get("errorMessage") or parsed.get("message") or parsed.get("Message") or "")
    first = text.splitlines()[0] if text else ""
    first = re.sub(r"\s*\(Service: .*$", "", first)  # the SDK's "(Service: Eks, Status Code: 400, Request ID: ...)"
    return first[:200]


def _outcome(result: UpdateOutcome) -> tuple[str, str]:
    """(outcome, detail) of one node group's update; the detail is the full error, for the decision record."""
    if result.error:
        name = str(result.error.get("Error", "Error"))
        return _ERROR_OUTCOMES.get(name, "Error"), f"{name}: {result.error.get('Cause', '')}"[:2000]
    status = str((result.result or {}).get("Status", "Unknown"))
    if status == "InProgress":
        polls = (result.counter or {}).get("polls", 0)
        return "TimedOut", f"still InProgress after {polls} extra polls"
    errors = (result.result or {}).get("Errors") or []
    detail = "; ".join(f"{e.get('ErrorCode')}: {e.get('ErrorMessage')}" for e in errors)
    return status, detail


def _release(deps: ScalingDeps, decision: Decision, succeeded: bool) -> str | None:
    """Release the lease (a success starts the cooldown); why it could not be released, or None."""
    for _ in range(STATE_WRITE_ATTEMPTS):
        state = _state(deps, decision.policy)
        done = complete(state, decision.decision_id, decision.direction or "", succeeded, decision.at)
        if done == state or deps.state.put_state(
            decision.policy, done.model_dump(mode="json"), expected_version=state.version
        ):
            return None
    expires = f"{decision.at + dt.timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}"
    return (
        f"the controller state of {decision.policy} kept changing ({STATE_WRITE_ATTEMPTS} attempts): the lease of "
        f"{decision.decision_id} was not released and blocks further updates until it expires (lease_seconds after "
        f"{decision.at.astimezone(dt.UTC):%H:%M:%SZ}, by default {expires})"
    )


def record_scaling(inp: RecordInput, deps: ScalingDeps) -> RecordResult:
    """Record the outcome on the decision (with every error's detail), release the lease (a success starts the
    cooldown; when the lease cannot be released after retries the record and the notification say so), and build a
    notification a person can act on (reason, numbers, what to do; no raw error)."""
    decision = inp.decision
    outcomes = {r.nodegroup: _outcome(r) for r in inp.results}
    if inp.error is not None and not outcomes:
        outcomes = {"(all)": ("Error", f"{inp.error.get('Error')}: {inp.error.get('Cause', '')}"[:2000])}
    succeeded = bool(outcomes) and all(o == "Successful" for o, _ in outcomes.values())
    overall = "Successful" if succeeded else next((o for o, _ in outcomes.values() if o != "Successful"), "Error")
    now = deps.clock()
    stuck = _release(deps, decision, succeeded)
    deps.decisions.complete(
        decision.policy,
        inp.decision_key,
        {
            "status": "SUCCEEDED" if succeeded and not stuck else "FAILED",
            "outcome": overall,
            "results": {name: {"outcome": o, "detail": d} for name, (o, d) in outcomes.items()},
            "completed_at": now.astimezone(dt.UTC).isoformat(),
            **({"lease_error": stuck} if stuck else {}),
        },
    )
    deps.meter.add("ScalingUpdatesSucceeded" if succeeded else "ScalingUpdatesFailed", 1, "Count")
    verb = f"{decision.capacity} -> {decision.target}"
    return RecordResult(
        failed=not succeeded or stuck is not None,
        outcome=overall if not stuck else "LeaseNotReleased",
        subject=notifications.subject(f"scaling {decision.policy} {verb} {'done' if succeeded else overall}"),
        message=_message(inp, outcomes, succeeded, stuck),
    )


def _message(inp: RecordInput, outcomes: dict[str, tuple[str, str]], succeeded: bool, stuck: str | None) -> str:
    decision = inp.decision
    head = "was applied" if succeeded else "did not complete"
    failed = [name for name, (o, _) in sorted(outcomes.items()) if o != "Successful"]
    shown = (failed or sorted(outcomes) or ["<nodegroup>"])[0]
    lines = [
        f"Scaling of {decision.policy} (cluster {decision.cluster}) {head}: {decision.capacity} -> "
        f"{decision.target} nodes.",
        f"Why: {decision.reason}.",
        "",
    ]
    for name, (outcome, detail) in sorted(outcomes.items()):
        said = _message_of(detail.partition(": ")[2] if ": " in detail else detail)
        lines.append(f"  {name}: {outcome}" + (f" - {said}" if said and outcome != "Successful" else ""))
    first = {o: name for name, (o, _) in sorted(outcomes.items(), reverse=True)}  # each outcome's first node group
    advice = sorted(_ADVICE[o].format(cluster=decision.cluster, nodegroup=n) for o, n in first.items() if o in _ADVICE)
    if stuck:
        advice.append(stuck)
    if advice:
        lines += ["", "What to do:", *(f"  - {a}" for a in advice)]
    lines += [
        "",
        f"The full error detail is in the decision record {inp.decision_key} (mlcp scaling get {decision.cluster} "
        f"{shown}, or GET /scaling/{decision.cluster}/{shown}); execution {inp.execution_arn}.",
    ]
    return "\n".join(lines)

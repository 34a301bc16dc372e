"""The use cases behind /scaling (functions/api): data in, data out, errors as mlcp exceptions."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from mlcp.common import naming
from mlcp.common.ports import ExecutionControl, Executions
from mlcp.errors import (
    Conflict,
    FieldError,
    InputInvalid,
    NotFound,
)
from mlcp.scaling import use_cases
from mlcp.scaling.api_models import ScalingActionRequest, ScalingActionResponse, ScalingView
from mlcp.scaling.policy import BUSY_STATUSES, ControllerState, parse_policy
from mlcp.scaling.ports import DecisionHistory, ScalingPolicyIndex
from mlcp.scaling.use_cases import ScalingDeps


@dataclass
class ScalingApi:
    """What /scaling needs: the controller's ports, the node group -> policy lookup and the decision history."""

    controller: ScalingDeps
    index: ScalingPolicyIndex
    history: DecisionHistory
    control: ExecutionControl  # DescribeExecution of a manual action (idempotency)
    executions: Executions  # StartExecution of nodegroup_scaling


def _policy_key(cluster: str, nodegroup: str, scaling: ScalingApi) -> str:
    key = scaling.index.policy_for_nodegroup(cluster, nodegroup)
    if key is None:
        raise NotFound(
            f"no scaling policy covers node group {nodegroup!r} of cluster {cluster!r}: upload "
            f"scaling/{cluster}/<name>/policy.yaml listing it"
        )
    return key


def _check_scope(cluster: str, nodegroup: str, scaling: ScalingApi) -> None:
    """NodegroupNotGranted (403) before any EKS call when the node group is outside ScalingNodegroupArns (the
    settings carry the scope); without it the EKS adapter maps AccessDeniedException to the same error."""
    scope = scaling.controller.settings.nodegroup_scope()
    if scope is not None:
        scope.check(cluster, [nodegroup])


def get_scaling(cluster: str, nodegroup: str, *, limit: int, scaling: ScalingApi) -> ScalingView:
    """GET /scaling/{cluster}/{nodegroup}: the policy covering it, the node group now, the controller state and
    the policy's last decisions (newest first). NodegroupNotGranted (403) outside ScalingNodegroupArns; NotFound."""
    controller = scaling.controller
    _check_scope(cluster, nodegroup, scaling)
    key = _policy_key(cluster, nodegroup, scaling)
    policy = controller.policies.get_policy(key) or {}
    described = controller.nodegroups.describe_nodegroup(cluster, nodegroup)
    config = None
    if described is not None:
        config = {
            "status": described.get("status"),
            **dict(described.get("scalingConfig") or {}),
            "health_issues": list((described.get("health") or {}).get("issues") or []),
        }
    stored = controller.state.get_state(key)
    state = ControllerState.model_validate(stored) if stored else ControllerState(policy=key)
    return ScalingView(
        cluster=cluster,
        nodegroup=nodegroup,
        policy_key=key,
        policy=policy,
        nodegroup_config=config,
        state=state.model_dump(mode="json"),
        decisions=operator_view(scaling.history.recent(key, HISTORY_WINDOW), nodegroup, limit),
    )


HISTORY_WINDOW = 200  # decisions read to order by decision time and find the manual changes among them


def _decided(item: dict[str, Any]) -> str:
    """When the controller decided (its own clock); older items without it: the trigger's time from the key."""
    at = item.get("decided_at") or item.get("at") or str(item.get("decision", "")).split("#")[0]
    try:
        return dt.datetime.fromisoformat(str(at).replace("Z", "+00:00")).astimezone(dt.UTC).isoformat()
    except ValueError:
        return str(at)


def _changes(item: dict[str, Any]) -> dict[str, str]:
    """{node group: "before -> after"} of the desired size (max size in bounds mode) each update asked for."""
    before = {n.get("name"): n for n in item.get("nodegroups") or [] if isinstance(n, dict)}
    changes = {}
    for update in item.get("updates") or []:
        config = update.get("scaling_config") or {}
        was = before.get(update.get("nodegroup")) or {}
        if config.get("desiredSize") is not None:
            changes[update["nodegroup"]] = f"{was.get('desired_size', '?')} -> {config['desiredSize']}"
        else:
            changes[update["nodegroup"]] = f"max {was.get('max_size', '?')} -> {config.get('maxSize')}"
    return changes


def operator_view(items: list[dict[str, Any]], nodegroup: str, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` latest decisions by real decision time (``decided_at``), newest first, plus every manual change
    among the recent ones (never hidden by the limit); each with ``decided_at`` and ``changes`` per node group and
    ``change``, this node group's own."""
    ordered = sorted(items, key=_decided, reverse=True)
    shown = ordered[:limit]
    shown += [i for i in ordered[limit:] if (i.get("trigger") or {}).get("kind") == "manual"]
    view = []
    for item in shown:
        changes = _changes(item)
        view.append({**item, "decided_at": _decided(item), "changes": changes, "change": changes.get(nodegroup, "-")})
    return view


def _action_errors(request: ScalingActionRequest) -> list[FieldError]:
    errors = []
    if request.desired is None and request.min is None and request.max is None:
        errors.append(FieldError("desired", "give at least one of desired, min, max"))
    if request.min is not None and request.max is not None and request.min > request.max:
        errors.append(FieldError("min", f"must be <= max ({request.max})"))
    if request.desired is not None:
        if request.min is not None and request.desired < request.min:
            errors.append(FieldError("desired", f"must be >= min ({request.min})"))
        if request.max is not None and request.desired > request.max:
            errors.append(FieldError("desired", f"must be <= max ({request.max})"))
    return errors


def scaling_action(
    cluster: str,
    nodegroup: str,
    request: ScalingActionRequest,
    *,
    caller: str,
    idempotency_key: str | None,
    request_id: str,
    scaling: ScalingApi,
    requested_at: dt.datetime | None = None,
) -> ScalingActionResponse:
    """POST /scaling/{cluster}/{nodegroup}/actions: start nodegroup_scaling with a manual trigger, so the change
    goes through the controller (decide: clamp to the policy, take the lease; the decisions table; the update
    loop; record). Refused up front (409) while an update is in flight; decide re-checks under the lease; a node
    group outside ScalingNodegroupArns: NodegroupNotGranted (403). The trigger's time is ``requested_at`` (API
    Gateway's request time), else the controller's clock."""
    errors = _action_errors(request)
    if errors:
        raise InputInvalid("request body", errors)
    _check_scope(cluster, nodegroup, scaling)
    controller = scaling.controller
    machine = controller.settings.scaling_state_machine_arn
    if not machine:
        raise RuntimeError("the API function has no SCALING_STATE_MACHINE_ARN")
    key = _policy_key(cluster, nodegroup, scaling)
    stored = controller.policies.get_policy(key)
    if stored is None:
        raise NotFound(f"scaling policy {key!r} is not registered")
    policy = parse_policy(stored, source=f"registered scaling policy {key}")
    described = controller.nodegroups.describe_nodegroup(cluster, nodegroup)
    if described is None:
        raise NotFound(f"node group {nodegroup!r} does not exist in cluster {cluster!r}")
    status = str(described.get("status", "ACTIVE"))
    if status in BUSY_STATUSES:  # DEGRADED and the *_FAILED statuses take an update (EKS's own rule)
        raise Conflict(f"node group {nodegroup!r} is {status}: EKS takes no update until it is done; retry later")
    now = requested_at or controller.clock()
    state_item = controller.state.get_state(key)
    state = ControllerState.model_validate(state_item) if state_item else ControllerState(policy=key)
    if state.lease is not None and state.lease.expires_at > now:
        until = state.lease.expires_at.astimezone(dt.UTC)
        raise Conflict(f"an update of {key} is in flight ({state.lease.holder}, lease until {until:%H:%M:%S}Z)")
    identity = ("key", caller, idempotency_key) if idempotency_key else ("request", request_id)
    decision_id = naming.execution_name(f"{policy.name}-manual", nodegroup, cluster, *identity)
    fields = request.model_dump(include={"desired", "min", "max"}, exclude_none=True)
    event = {
        "source": use_cases.MANUAL_SOURCE,
        "kind": "manual",
        "policy": key,
        "nodegroup": nodegroup,
        **fields,
        "requested_by": caller[:2048],
        "note": request.reason or "",
        "request_id": decision_id,
        "at": now.isoformat(),
    }
    arn = naming.execution_arn(machine, decision_id)
    existing = scaling.control.describe(arn)
    if existing is not None:
        sent = json.loads(str(existing.get("input") or "{}"))
        if not isinstance(sent, dict) or {k: v for k, v in sent.items() if k != "at"} != {
            k: v for k, v in event.items() if k != "at"
        }:
            raise Conflict(f"decision {decision_id!r} exists with another request: use a new Idempotency-Key")
        return ScalingActionResponse(decision_id=decision_id, policy_key=key, execution_arn=arn, started=False)
    arn, started = scaling.executions.start(machine, decision_id, event)
    controller.meter.add("ScalingManualActions", 1, "Count")
    return ScalingActionResponse(decision_id=decision_id, policy_key=key, execution_arn=arn, started=started)

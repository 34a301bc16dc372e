"""``eks_updates``: UpdateNodegroupConfig validates the scaling config as EKS does (InvalidParameterException) and
refuses a second update while one is in progress (ResourceInUseException); the update is ``InProgress`` on the
simulated clock, the node group ``UPDATING``, then ``Successful`` and ``ACTIVE`` with the new sizes (or ``Failed``
and the node group ``DEGRADED`` with the cause in ``health.issues``, for an injected JobFault on
``<cluster>/<nodegroup>``; DEGRADED takes updates, as on EKS); DescribeUpdate and ListUpdates exist (moto: the update is
applied at once, unvalidated, and there is no DescribeUpdate).

The scaling pipeline waits for its node-group updates with DescribeUpdate, so moto's instant, unvalidated update
would hide every path but the happy one. The update's lifecycle is small and lives with the patch: it is kept on
moto's EKS backend and brought up to the simulated clock whenever a node group or an update is described (nothing
runs in the background), like the job backends of :mod:`mlcp_cli.local.backends`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import botocore.session
from moto.core.responses import ActionResult
from moto.eks import exceptions as eks_exceptions
from moto.eks import models as eks_models
from moto.eks import responses as eks_responses
from moto.eks import urls as eks_urls

from mlcp_cli.local.patches.context import LocalContext, active

# Simulated seconds a managed node group takes to apply a scaling change (EKS: typically a few minutes).
EKS_UPDATE_SECONDS = 180.0

# Whether moto itself has DescribeUpdate (the guard test fails once it does).
MOTO_HAS_EKS_DESCRIBE_UPDATE = hasattr(eks_models.EKSBackend, "describe_update")

# EKS's NodegroupIssueCode values (from botocore's service model, so that the list follows the SDK)
_ISSUE_CODES = frozenset(
    botocore.session.get_session().get_service_model("eks").shape_for("NodegroupIssueCode").enum  # type: ignore[attr-defined]
)

# scalingConfig member -> the update's parameter type, in the order EKS lists them
_SCALING_PARAMS = (("minSize", "MinSize"), ("maxSize", "MaxSize"), ("desiredSize", "DesiredSize"))


@dataclass
class _NodegroupUpdate:
    id: str
    cluster: str
    nodegroup: str
    scaling: dict[str, int]
    params: list[dict[str, str]]
    created: dt.datetime
    due: float  # simulated seconds
    failure: str | None
    status: str = "InProgress"

    def response(self) -> dict[str, Any]:
        errors = (
            []
            if self.failure is None or self.status != "Failed"
            else [{"errorCode": "Unknown", "errorMessage": self.failure, "resourceIds": [self.nodegroup]}]
        )
        return {
            "id": self.id,
            "status": self.status,
            "type": "ConfigUpdate",
            "params": self.params,
            "createdAt": self.created,
            "errors": errors,
        }


def _eks_updates(backend: Any) -> dict[str, _NodegroupUpdate]:
    updates: dict[str, _NodegroupUpdate] = backend.__dict__.setdefault("_mlcp_nodegroup_updates", {})
    return updates


def _eks_refresh(backend: Any, context: LocalContext) -> None:
    """Bring every node-group update up to the simulated clock (apply the sizes when it succeeds)."""
    now = context.clock.seconds()
    for update in _eks_updates(backend).values():
        if update.status != "InProgress" or now < update.due:
            continue
        nodegroup = backend.clusters[update.cluster].nodegroups[update.nodegroup]
        if update.failure is None:
            nodegroup.scaling_config.update(update.scaling)
            update.status = "Successful"
            nodegroup.status, nodegroup.health = "ACTIVE", {"issues": []}
        else:
            # EKS leaves a node group whose scale-out failed DEGRADED, the cause in health.issues (an update that
            # succeeds later makes it ACTIVE again): https://docs.aws.amazon.com/eks/latest/APIReference/API_Issue.html
            update.status = "Failed"
            nodegroup.status, nodegroup.health = "DEGRADED", {"issues": [_issue(nodegroup, update.failure)]}
        nodegroup.modified_at = context.clock.now()


def _issue(nodegroup: Any, failure: str) -> dict[str, Any]:
    """A health issue from an injected failure: its code when the reason starts with one of EKS's issue codes
    (``"AsgInstanceLaunchFailures: ..."``), else ``Unknown``."""
    code, _, message = failure.partition(":")
    known = code.strip() in _ISSUE_CODES
    groups = [g["name"] for g in (nodegroup.resources or {}).get("autoScalingGroups", [])]
    return {
        "code": code.strip() if known else "Unknown",
        "message": (message.strip() if known else failure) or failure,
        "resourceIds": groups,
    }


def _eks_error(kind: Any, cluster: str, nodegroup: str | None, message: str) -> Exception:
    """One of moto's EKS exceptions (``kind``) about a node group."""
    error: Exception = kind(
        clusterName=cluster, nodegroupName=nodegroup, fargateProfileName=None, addonName=None, message=message
    )
    return error


def _eks_invalid(cluster: str, nodegroup: str, message: str) -> Exception:
    return _eks_error(eks_exceptions.InvalidParameterException, cluster, nodegroup, message)


def _validate_scaling(cluster: str, nodegroup: str, current: dict[str, int], requested: dict[str, int]) -> None:
    """EKS's checks of a scaling config: sizes in range, min <= desired <= max, max >= 1."""
    merged = {**current, **requested}
    low, desired, high = merged.get("minSize", 0), merged.get("desiredSize", 0), merged.get("maxSize", 1)
    for key, value in requested.items():
        if value < 0:
            raise _eks_invalid(cluster, nodegroup, f"{key} must be greater than or equal to 0")
    if high < 1:
        raise _eks_invalid(cluster, nodegroup, "Maximum capacity must be greater than or equal to 1")
    if low > high:
        raise _eks_invalid(cluster, nodegroup, f"Minimum capacity {low} can't be greater than max size {high}")
    if desired > high:
        raise _eks_invalid(cluster, nodegroup, f"Desired capacity {desired} can't be greater than max size {high}")
    if low > desired:
        raise _eks_invalid(cluster, nodegroup, f"Minimum capacity {low} can't be greater than desired size {desired}")


def _refuse_a_second_update(backend: Any, cluster: str, nodegroup: str) -> None:
    if any(
        u.status == "InProgress" and (u.cluster, u.nodegroup) == (cluster, nodegroup)
        for u in _eks_updates(backend).values()
    ):
        message = f"Nodegroup {nodegroup} already has an update in progress"
        raise _eks_error(eks_exceptions.ResourceInUseException, cluster, nodegroup, message)


def _new_update(context: LocalContext, cluster: str, nodegroup: str, scaling: dict[str, Any]) -> _NodegroupUpdate:
    return _NodegroupUpdate(
        id=str(uuid.uuid4()),
        cluster=cluster,
        nodegroup=nodegroup,
        scaling=dict(scaling),
        params=[
            {"type": kind, "value": str(scaling[key])} for key, kind in _SCALING_PARAMS if scaling.get(key) is not None
        ],
        created=context.clock.now(),
        due=context.clock.seconds() + EKS_UPDATE_SECONDS,
        failure=context.faults.job_failure(f"{cluster}/{nodegroup}"),
    )


def _install_backend() -> None:
    backend_cls = eks_models.EKSBackend
    original_update = backend_cls.update_nodegroup_config
    original_describe = backend_cls.describe_nodegroup

    def update_nodegroup_config(self: Any, cluster_name: str, nodegroup_name: str, **kwargs: Any) -> Any:
        context = active()
        scaling = kwargs.get("scaling_config")
        if context is None or not scaling:
            return original_update(self, cluster_name, nodegroup_name, **kwargs)
        _eks_refresh(self, context)
        nodegroup = self.describe_nodegroup(cluster_name, nodegroup_name)  # ResourceNotFoundException as moto
        _refuse_a_second_update(self, cluster_name, nodegroup_name)
        if nodegroup.status in ("CREATING", "DELETING"):
            message = f"Nodegroup {nodegroup_name} is {nodegroup.status}: it cannot be updated now"
            raise _eks_error(eks_exceptions.ResourceInUseException, cluster_name, nodegroup_name, message)
        _validate_scaling(cluster_name, nodegroup_name, dict(nodegroup.scaling_config), dict(scaling))
        others = {k: v for k, v in kwargs.items() if k != "scaling_config"}
        if any(v for k, v in others.items() if k != "client_request_token"):
            original_update(self, cluster_name, nodegroup_name, **others)  # labels, taints ...: moto applies them
        update = _new_update(context, cluster_name, nodegroup_name, scaling)
        _eks_updates(self)[update.id] = update
        nodegroup.status = "UPDATING"
        return update.response()

    def describe_nodegroup(self: Any, cluster_name: str, nodegroup_name: str) -> Any:
        context = active()
        if context is not None:
            _eks_refresh(self, context)
        return original_describe(self, cluster_name, nodegroup_name)

    def describe_update(self: Any, name: str, update_id: str, nodegroup_name: str | None = None) -> dict[str, Any]:
        context = active()
        if context is not None:
            _eks_refresh(self, context)
        update = _eks_updates(self).get(update_id)
        if update is None or update.cluster != name or (nodegroup_name and update.nodegroup != nodegroup_name):
            message = f"No update found for ID: {update_id}"
            raise _eks_error(eks_exceptions.ResourceNotFoundException, name, nodegroup_name, message)
        return update.response()

    def list_updates(self: Any, name: str, nodegroup_name: str | None = None) -> list[str]:
        return [
            u.id
            for u in _eks_updates(self).values()
            if u.cluster == name and (nodegroup_name is None or u.nodegroup == nodegroup_name)
        ]

    backend_cls.update_nodegroup_config = update_nodegroup_config
    backend_cls.describe_nodegroup = describe_nodegroup
    backend_cls.describe_update = describe_update
    backend_cls.list_updates = list_updates


def _install_responses() -> None:
    def describe_update_response(self: Any) -> Any:
        update = self.eks_backend.describe_update(
            self._get_param("name"), self._get_param("updateId"), self._get_param("nodegroupName")
        )
        return ActionResult({"update": update})

    def list_updates_response(self: Any) -> Any:
        ids = self.eks_backend.list_updates(self._get_param("name"), self._get_param("nodegroupName"))
        return ActionResult({"updateIds": ids})

    eks_responses.EKSResponse.describe_update = describe_update_response
    eks_responses.EKSResponse.list_updates = list_updates_response
    eks_urls.url_paths["{0}/clusters/(?P<name>[^/]+)/updates$"] = eks_urls.response.dispatch
    eks_urls.url_paths["{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)$"] = eks_urls.response.dispatch


def install() -> None:
    _install_backend()
    _install_responses()

"""What the node-group scaling controller needs from AWS, as Protocols."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol


# --- node-group scaling controller ------------------------------------------------------------------------------
class Nodegroups(Protocol):
    def describe_nodegroup(self, cluster: str, nodegroup: str) -> Mapping[str, Any] | None:
        """DescribeNodegroup's ``nodegroup``; None when the node group does not exist."""
        ...


class AlarmStates(Protocol):
    def describe_alarms(self, names: Iterable[str], values_for: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
        """CloudWatch DescribeAlarms: {name: {"state": StateValue, "since": StateUpdatedTimestamp}} of the alarms
        that exist (an unknown name is absent); with "value", the metric's latest data point, and "level", what its
        evaluation range held (mlcp.scaling.decide.sustained_level), for ``values_for``."""
        ...


class ScalingPolicyStore(Protocol):
    def get_policy(self, key: str) -> dict[str, Any] | None: ...

    def policy_for_alarm(self, alarm: str) -> str | None: ...

    def put_policy(
        self, key: str, policy: Mapping[str, Any], alarms: list[str], version: str, source: str, *, order: str = ""
    ) -> bool:
        """Store the policy unless a newer upload of the key (by S3 sequencer ``order``) is stored; "" always."""
        ...

    def record_refusal(self, name: str, source: str, reason: str, at: datetime) -> bool:
        """Keep a refused trigger upload; False if this upload was already kept (then it was notified)."""
        ...

    def record_rejection(self, key: str, source: str, errors: list[dict[str, str]], at: datetime) -> None: ...

    def policy_for_nodegroup(self, cluster: str, nodegroup: str) -> str | None:
        """The key of the registered policy covering the node group, or None."""
        ...


class ScalingStateStore(Protocol):
    def get_state(self, policy: str) -> dict[str, Any] | None: ...

    def put_state(self, policy: str, state: Mapping[str, Any], expected_version: int) -> bool:
        """Write the state as version ``expected_version + 1`` if the stored one is still ``expected_version``."""
        ...


class DecisionLog(Protocol):
    def add(self, policy: str, decision_key: str, item: Mapping[str, Any]) -> bool:
        """Add a decision; False when one with this key exists (a duplicate trigger)."""
        ...

    def complete(self, policy: str, decision_key: str, fields: Mapping[str, Any]) -> None: ...


class ScalingPolicyIndex(Protocol):
    def policy_for_nodegroup(self, cluster: str, nodegroup: str) -> str | None:
        """The key (``<cluster>/<name>``) of the registered policy covering the node group, or None."""
        ...


class DecisionHistory(Protocol):
    def recent(self, policy: str, limit: int) -> list[dict[str, Any]]:
        """The policy's last decisions, newest first."""
        ...

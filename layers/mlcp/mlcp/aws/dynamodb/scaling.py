"""The scaling controller's tables: policies, controller state (optimistic versions), decisions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mlcp.aws.dynamodb.table import Expression, Table, applied, from_dynamo, order_key, to_dynamo
from mlcp.common.notifications import iso

_POLICY_PREFIX, _ALARM_PREFIX = "policy#", "alarm#"


class DynamoScalingPolicyStore(Table):
    """Scaling policies (key ``policy#<cluster>/<name>``) and an alarm index (``alarm#<alarm name>`` -> policy)."""

    def _get(self, key: str) -> dict[str, Any] | None:
        response = self.ddb.get_item(TableName=self.table, Key={"key": {"S": key}}, ConsistentRead=True)
        item = response.get("Item")
        return from_dynamo(item) if item else None

    def get_policy(self, key: str) -> dict[str, Any] | None:
        item = self._get(_POLICY_PREFIX + key)
        if not item or "policy_json" not in item:
            return None
        policy: dict[str, Any] = json.loads(item["policy_json"])
        return policy

    def policy_for_alarm(self, alarm: str) -> str | None:
        item = self._get(_ALARM_PREFIX + alarm)
        return str(item["policy"]) if item else None

    def put_policy(
        self, key: str, policy: Mapping[str, Any], alarms: list[str], version: str, source: str, *, order: str = ""
    ) -> bool:
        """Store the policy (and its alarm index) unless a newer upload of its key is stored: ``order`` is the S3
        sequencer of the upload (right-padded, then compared, as S3 says); "" stores unconditionally (the API)."""
        expr = Expression()
        for attribute, value in {
            "policy_json": json.dumps(policy, sort_keys=True),
            "policy_version": version,
            "policy_source": source,
            "policy_updated_at": iso(datetime.now(UTC)),
        }.items():
            expr.set(attribute, value)
        kwargs: dict[str, Any] = {}
        if order:
            expr.set("policy_order", order_key(order))
            attr = expr.name("policy_order")
            kwargs["ConditionExpression"] = f"attribute_not_exists({attr}) OR {attr} <= {expr.value(order_key(order))}"
        stored = applied(
            self.ddb.update_item,
            TableName=self.table,
            Key={"key": {"S": _POLICY_PREFIX + key}},
            UpdateExpression=expr.update,
            ExpressionAttributeNames=expr.names,
            ExpressionAttributeValues=expr.values,
            **kwargs,
        )
        if stored:
            for alarm in alarms:
                self.ddb.put_item(
                    TableName=self.table, Item={"key": {"S": _ALARM_PREFIX + alarm}, "policy": {"S": key}}
                )
        return stored

    def policy_for_nodegroup(self, cluster: str, nodegroup: str) -> str | None:
        """The registered policy of ``cluster`` whose node groups include ``nodegroup`` (a filtered scan: an
        account has a handful of policies; the first by key when several claim it)."""
        found: list[str] = []
        for page in self.ddb.get_paginator("scan").paginate(
            TableName=self.table,
            FilterExpression="begins_with(#k, :prefix) AND attribute_exists(policy_json)",
            ExpressionAttributeNames={"#k": "key"},
            ExpressionAttributeValues={":prefix": {"S": f"{_POLICY_PREFIX}{cluster}/"}},
        ):
            for item in page.get("Items", []):
                policy = json.loads(item["policy_json"]["S"])
                if nodegroup in [m.get("name") for m in policy.get("nodegroups", [])]:
                    found.append(item["key"]["S"].removeprefix(_POLICY_PREFIX))
        return min(found) if found else None

    def record_refusal(self, name: str, source: str, reason: str, at: datetime) -> bool:
        return self.put_refusal({"key": {"S": _POLICY_PREFIX + name}}, source, reason, iso(at))

    def record_rejection(self, key: str, source: str, errors: list[dict[str, str]], at: datetime) -> None:
        expr = Expression()
        expr.set("last_rejection", {"source": source, "errors": errors, "at": iso(at)})
        self.ddb.update_item(
            TableName=self.table,
            Key={"key": {"S": _POLICY_PREFIX + key}},
            UpdateExpression=expr.update,
            ExpressionAttributeNames=expr.names,
            ExpressionAttributeValues=expr.values,
        )


class DynamoScalingStateStore(Table):
    """Controller state per policy (key ``policy``), written only if its ``version`` is still the one read."""

    def get_state(self, policy: str) -> dict[str, Any] | None:
        response = self.ddb.get_item(TableName=self.table, Key={"policy": {"S": policy}}, ConsistentRead=True)
        item = response.get("Item")
        if not item:
            return None
        state: dict[str, Any] = json.loads(from_dynamo(item)["state_json"])
        return state

    def put_state(self, policy: str, state: Mapping[str, Any], expected_version: int) -> bool:
        lease = state.get("lease") or {}
        item = {
            "policy": policy,
            "version": expected_version + 1,
            "state_json": json.dumps({**state, "version": expected_version + 1}, sort_keys=True, default=str),
            "lease_holder": lease.get("holder", ""),
        }
        return applied(
            self.ddb.put_item,
            TableName=self.table,
            Item=to_dynamo(item)["M"],
            ConditionExpression="attribute_not_exists(#p) OR #v = :expected",
            ExpressionAttributeNames={"#p": "policy", "#v": "version"},
            ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
        )


class DynamoDecisionLog(Table):
    """Every decision, applied or not, with its inputs (key ``policy`` + ``decision``: ``<time>#<decision id>``)."""

    def add(self, policy: str, decision_key: str, item: Mapping[str, Any]) -> bool:
        return applied(
            self.ddb.put_item,
            TableName=self.table,
            Item=to_dynamo({**item, "policy": policy, "decision": decision_key})["M"],
            ConditionExpression="attribute_not_exists(#d)",
            ExpressionAttributeNames={"#d": "decision"},
        )

    def recent(self, policy: str, limit: int) -> list[dict[str, Any]]:
        """The policy's last ``limit`` decisions, newest first (the sort key starts with the trigger's time)."""
        response = self.ddb.query(
            TableName=self.table,
            KeyConditionExpression="#p = :policy",
            ExpressionAttributeNames={"#p": "policy"},
            ExpressionAttributeValues={":policy": {"S": policy}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [from_dynamo(item) for item in response.get("Items", [])]

    def complete(self, policy: str, decision_key: str, fields: Mapping[str, Any]) -> None:
        expr = Expression()
        for attribute, value in fields.items():
            if attribute not in ("policy", "decision"):  # the item's key
                expr.set(attribute, value)
        self.ddb.update_item(
            TableName=self.table,
            Key={"policy": {"S": policy}, "decision": {"S": decision_key}},
            UpdateExpression=expr.update,
            ExpressionAttributeNames=expr.names,
            ExpressionAttributeValues=expr.values,
        )

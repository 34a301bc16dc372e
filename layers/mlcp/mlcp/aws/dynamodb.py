"""DynamoDB adapters: the runs table and the pipelines table.

Runs: one item per run (key ``run_id`` = execution name). Stage records are stored flat
(``stage_<name>_<field>``) so that one UpdateItem can merge any stage field without first creating maps;
:meth:`DynamoRunStore.get` and :meth:`update` return them nested again under ``stages``.
Pipelines: one item per pipeline (key ``name``) with the registered spec, the last rejection and the latest
dataset version. Out-of-order S3 events are resolved with the S3 ``sequencer`` (right-padded, then compared).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from mlcp.aws.clients import client, error_code
from mlcp.models.run import DatasetRef, RunStatus
from mlcp.ports import Page
from mlcp.runs import iso

_SER = TypeSerializer()
_DESER = TypeDeserializer()
_TERMINAL = [s.value for s in RunStatus if s.terminal]
_STAGE_PREFIX = "stage_"
SEQUENCER_WIDTH = 32
RUNS_BY_PIPELINE = "by_pipeline"  # template.yaml RunsTable GSI: pipeline (hash), created_at (range)


def to_dynamo(value: Any) -> dict[str, Any]:
    """Serialise plain JSON-like data (floats become Decimals, as DynamoDB requires)."""
    plain = json.loads(json.dumps(value, default=str), parse_float=Decimal)
    return cast(dict[str, Any], _SER.serialize(plain))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_plain(v) for v in value]
    return value


def from_dynamo(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(_DESER.deserialize(v)) for k, v in item.items()}


def order_key(sequencer: str) -> str:
    """S3 sequencers compare as hex strings after right-padding the shorter with zeros."""
    return sequencer.upper().ljust(SEQUENCER_WIDTH, "0") if sequencer else ""


class _Expression:
    """Builds ``SET a = :a, ...`` with placeholder names, for any attribute name."""

    def __init__(self) -> None:
        self.sets: list[str] = []
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def name(self, attribute: str) -> str:
        key = f"#n{len(self.names)}"
        self.names[key] = attribute
        return key

    def value(self, value: Any) -> str:
        key = f":v{len(self.values)}"
        self.values[key] = to_dynamo(value)
        return key

    def set(self, attribute: str, value: Any) -> None:
        self.sets.append(f"{self.name(attribute)} = {self.value(value)}")

    @property
    def update(self) -> str:
        return "SET " + ", ".join(self.sets)


def nest_stages(item: dict[str, Any]) -> dict[str, Any]:
    stages: dict[str, dict[str, Any]] = {}
    out: dict[str, Any] = {}
    for key, value in item.items():
        if key.startswith(_STAGE_PREFIX):
            stage, _, field = key[len(_STAGE_PREFIX) :].partition("__")
            stages.setdefault(stage, {})[field] = value
        else:
            out[key] = value
    out["stages"] = stages
    return out


def _applied(update: Callable[..., Any], **request: Any) -> bool:
    """Run a conditional write; False when its condition did not hold (nothing was written)."""
    try:
        update(**request)
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


class _Table:
    """One DynamoDB table; the client is created on first use unless one is given."""

    def __init__(self, table: str, dynamodb: Any | None = None) -> None:
        self.table = table
        self._ddb = dynamodb

    @property
    def ddb(self) -> Any:
        if self._ddb is None:
            self._ddb = client("dynamodb")
        return self._ddb


class DynamoRunStore(_Table):
    def create(self, run_id: str, item: Mapping[str, Any]) -> bool:
        record = {k: v for k, v in item.items() if k != "stages" and v is not None}
        return _applied(
            self.ddb.put_item,
            TableName=self.table,
            Item={k: to_dynamo(v) for k, v in {**record, "run_id": run_id}.items()},
            ConditionExpression="attribute_not_exists(run_id)",
        )

    def update(
        self, run_id: str, fields: Mapping[str, Any], stages: Mapping[str, Mapping[str, Any]]
    ) -> Mapping[str, Any]:
        expr = _Expression()
        expr.set("updated_at", iso(datetime.now(UTC)))
        for key, value in fields.items():
            expr.set(key, value)
        for stage, record in stages.items():
            for field, value in record.items():
                expr.set(f"{_STAGE_PREFIX}{stage}__{field}", value)
        response = self.ddb.update_item(
            TableName=self.table,
            Key={"run_id": {"S": run_id}},
            UpdateExpression=expr.update,
            ExpressionAttributeNames=expr.names,
            ExpressionAttributeValues=expr.values,
            ReturnValues="ALL_NEW",
        )
        return nest_stages(from_dynamo(response.get("Attributes", {})))

    def set_status(
        self,
        run_id: str,
        status: RunStatus,
        at: datetime,
        fields: Mapping[str, Any] | None = None,
        redrive_count: int | None = None,
    ) -> bool:
        expr = _Expression()
        expr.set("status", status.value)
        expr.set("updated_at", iso(at))
        expr.set("ended_at" if status.terminal else "started_at", iso(at))
        for key, value in (fields or {}).items():
            expr.set(key, value)
        status_name = expr.name("status")
        terminal = ", ".join(expr.value(s) for s in _TERMINAL)
        condition = f"(attribute_not_exists({status_name}) OR NOT ({status_name} IN ({terminal})))"
        if redrive_count is not None:  # an event of an earlier attempt must not end a redriven run
            count = expr.name("redrive_count")
            condition += f" AND (attribute_not_exists({count}) OR {count} <= {expr.value(redrive_count)})"
        return _applied(
            self.ddb.update_item,
            TableName=self.table,
            Key={"run_id": {"S": run_id}},
            UpdateExpression=expr.update,
            ConditionExpression=condition,
            ExpressionAttributeNames=expr.names,
            ExpressionAttributeValues=expr.values,
        )

    def mark_started(self, run_id: str, execution_arn: str) -> bool:
        return _applied(
            self.ddb.update_item,
            TableName=self.table,
            Key={"run_id": {"S": run_id}},
            UpdateExpression="SET start_recorded_at = :at, execution_arn = :arn",
            ConditionExpression="attribute_not_exists(start_recorded_at)",
            ExpressionAttributeValues={":at": {"S": iso(datetime.now(UTC))}, ":arn": {"S": execution_arn}},
        )

    def get(self, run_id: str) -> dict[str, Any] | None:
        response = self.ddb.get_item(TableName=self.table, Key={"run_id": {"S": run_id}}, ConsistentRead=True)
        item = response.get("Item")
        return nest_stages(from_dynamo(item)) if item else None

    def page(self, pipeline: str | None, status: str | None, limit: int, start: dict[str, Any] | None) -> Page:
        """One Query (by_pipeline, newest first) or Scan; ``start`` and the returned key are DynamoDB keys."""
        request: dict[str, Any] = {"TableName": self.table, "Limit": limit}
        if start:
            request["ExclusiveStartKey"] = start
        if status:
            request["FilterExpression"] = "#status = :status"
            request["ExpressionAttributeNames"] = {"#status": "status"}
            request["ExpressionAttributeValues"] = {":status": {"S": status}}
        if pipeline:
            request["IndexName"] = RUNS_BY_PIPELINE
            request["KeyConditionExpression"] = "#pipeline = :pipeline"
            request.setdefault("ExpressionAttributeNames", {})["#pipeline"] = "pipeline"
            request.setdefault("ExpressionAttributeValues", {})[":pipeline"] = {"S": pipeline}
            request["ScanIndexForward"] = False
            response = self.ddb.query(**request)
        else:
            response = self.ddb.scan(**request)
        items = [nest_stages(from_dynamo(item)) for item in response.get("Items", [])]
        return items, response.get("LastEvaluatedKey")

    def reopen(self, run_id: str, at: datetime, redrive_count: int) -> bool:
        return _applied(
            self.ddb.update_item,
            TableName=self.table,
            Key={"run_id": {"S": run_id}},
            UpdateExpression="SET #status = :running, updated_at = :at, redriven_at = :at, redrive_count = :count "
            "REMOVE ended_at, failure",
            ConditionExpression="attribute_exists(run_id) AND "
            "(attribute_not_exists(redrive_count) OR redrive_count < :count)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":running": {"S": RunStatus.RUNNING.value},
                ":at": {"S": iso(at)},
                ":count": {"N": str(redrive_count)},
            },
        )


class DynamoPipelineStore(_Table):
    def _get(self, name: str) -> dict[str, Any] | None:
        response = self.ddb.get_item(TableName=self.table, Key={"name": {"S": name}}, ConsistentRead=True)
        item = response.get("Item")
        return from_dynamo(item) if item else None

    def item(self, name: str) -> dict[str, Any] | None:
        return self._get(name)

    def page(self, limit: int, start: dict[str, Any] | None) -> Page:
        request: dict[str, Any] = {"TableName": self.table, "Limit": limit}
        if start:
            request["ExclusiveStartKey"] = start
        response = self.ddb.scan(**request)
        return [from_dynamo(item) for item in response.get("Items", [])], response.get("LastEvaluatedKey")

    def _conditional_set(self, name: str, values: Mapping[str, Any], order_attribute: str, order: str) -> bool:
        expr = _Expression()
        for key, value in values.items():
            expr.set(key, value)
        kwargs: dict[str, Any] = {}
        if order:
            expr.set(order_attribute, order_key(order))
            attr = expr.name(order_attribute)
            kwargs["ConditionExpression"] = f"attribute_not_exists({attr}) OR {attr} <= {expr.value(order_key(order))}"
        return _applied(
            self.ddb.update_item,
            TableName=self.table,
            Key={"name": {"S": name}},
            UpdateExpression=expr.update,
            ExpressionAttributeNames=expr.names,
            ExpressionAttributeValues=expr.values,
            **kwargs,
        )

    def get_spec(self, name: str) -> tuple[dict[str, Any], str] | None:
        item = self._get(name)
        if not item or "spec_json" not in item:
            return None
        spec: dict[str, Any] = json.loads(item["spec_json"])
        return spec, str(item.get("spec_version", ""))

    def put_spec(self, name: str, spec: Mapping[str, Any], version: str, source: str, order: str) -> bool:
        values = {
            "spec_json": json.dumps(spec, sort_keys=True),
            "spec_version": version,
            "spec_source": source,
            "spec_updated_at": iso(datetime.now(UTC)),
        }
        return self._conditional_set(name, values, "spec_order", order)

    def record_rejection(self, name: str, source: str, errors: list[dict[str, str]], at: datetime) -> None:
        self._conditional_set(
            name,
            {"last_rejection": {"source": source, "errors": errors, "at": iso(at)}},
            "rejection_order",
            "",
        )

    def set_latest_dataset(self, name: str, dataset: DatasetRef, order: str) -> None:
        self._conditional_set(name, {"latest_dataset": dataset.model_dump(mode="json")}, "dataset_order", order)

    def latest_dataset(self, name: str) -> DatasetRef | None:
        item = self._get(name)
        if not item or "latest_dataset" not in item:
            return None
        return DatasetRef.model_validate(item["latest_dataset"])


# --- node-group scaling controller ------------------------------------------------------------------------------
_POLICY_PREFIX, _ALARM_PREFIX = "policy#", "alarm#"


class DynamoScalingPolicyStore(_Table):
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

    def put_policy(self, key: str, policy: Mapping[str, Any], alarms: list[str], version: str, source: str) -> None:
        expr = _Expression()
        for attribute, value in {
            "policy_json": json.dumps(policy, sort_keys=True),
            "policy_version": version,
            "policy_source": source,
            "policy_updated_at": iso(datetime.now(UTC)),
        }.items():
            expr.set(attribute, value)
        self.ddb.update_item(
            TableName=self.table,
            Key={"key": {"S": _POLICY_PREFIX + key}},
            UpdateExpression=expr.update,
            ExpressionAttributeNames=expr.names,
            ExpressionAttributeValues=expr.values,
        )
        for alarm in alarms:
            self.ddb.put_item(TableName=self.table, Item={"key": {"S": _ALARM_PREFIX + alarm}, "policy": {"S": key}})

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

    def record_rejection(self, key: str, source: str, errors: list[dict[str, str]], at: datetime) -> None:
        expr = _Expression()
        expr.set("last_rejection", {"source": source, "errors": errors, "at": iso(at)})
        self.ddb.update_item(
            TableName=self.table,
            Key={"key": {"S": _POLICY_PREFIX + key}},
            UpdateExpression=expr.update,
            ExpressionAttributeNames=expr.names,
            ExpressionAttributeValues=expr.values,
        )


class DynamoScalingStateStore(_Table):
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
        return _applied(
            self.ddb.put_item,
            TableName=self.table,
            Item=to_dynamo(item)["M"],
            ConditionExpression="attribute_not_exists(#p) OR #v = :expected",
            ExpressionAttributeNames={"#p": "policy", "#v": "version"},
            ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
        )


class DynamoDecisionLog(_Table):
    """Every decision, applied or not, with its inputs (key ``policy`` + ``decision``: ``<time>#<decision id>``)."""

    def add(self, policy: str, decision_key: str, item: Mapping[str, Any]) -> bool:
        return _applied(
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
        expr = _Expression()
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


class DynamoProfileStore(_Table):
    """The batch profiles table: one item per job profile (key ``profile``), what the planner learnt."""

    def get(self, profile: str) -> dict[str, Any] | None:
        item = self.ddb.get_item(TableName=self.table, Key={"profile": {"S": profile}}, ConsistentRead=True).get("Item")
        return from_dynamo(item) if item else None

    def put(self, profile: str, item: Mapping[str, Any], expected_runs: int | None) -> bool:
        """Optimistic concurrency on ``runs`` (every update adds one), so concurrent runs of a profile never
        overwrite each other's observations."""
        document = {k: to_dynamo(v) for k, v in item.items() if v is not None}
        document["profile"] = {"S": profile}
        if expected_runs is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(#p)"}
        else:
            condition = {
                "ConditionExpression": "#r = :runs",
                "ExpressionAttributeValues": {":runs": {"N": str(expected_runs)}},
            }
            condition["ExpressionAttributeNames"] = {"#r": "runs"}
        condition.setdefault("ExpressionAttributeNames", {"#p": "profile"})
        try:
            self.ddb.put_item(TableName=self.table, Item=document, **condition)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

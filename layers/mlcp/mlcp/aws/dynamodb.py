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
from mlcp.runs import iso

_SER = TypeSerializer()
_DESER = TypeDeserializer()
_TERMINAL = [s.value for s in RunStatus if s.terminal]
_STAGE_PREFIX = "stage_"
SEQUENCER_WIDTH = 32


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

    def set_status(self, run_id: str, status: RunStatus, at: datetime, fields: Mapping[str, Any] | None = None) -> bool:
        expr = _Expression()
        expr.set("status", status.value)
        expr.set("updated_at", iso(at))
        expr.set("ended_at" if status.terminal else "started_at", iso(at))
        for key, value in (fields or {}).items():
            expr.set(key, value)
        status_name = expr.name("status")
        terminal = ", ".join(expr.value(s) for s in _TERMINAL)
        return _applied(
            self.ddb.update_item,
            TableName=self.table,
            Key={"run_id": {"S": run_id}},
            UpdateExpression=expr.update,
            ConditionExpression=f"attribute_not_exists({status_name}) OR NOT ({status_name} IN ({terminal}))",
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


class DynamoPipelineStore(_Table):
    def _get(self, name: str) -> dict[str, Any] | None:
        response = self.ddb.get_item(TableName=self.table, Key={"name": {"S": name}}, ConsistentRead=True)
        item = response.get("Item")
        return from_dynamo(item) if item else None

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


class DynamoProfileStore:
    """The batch profiles table: one item per job profile (key ``profile``), what the planner learnt."""

    def __init__(self, table: str, ddb: Any | None = None) -> None:
        self.table = table
        self._ddb = ddb

    @property
    def ddb(self) -> Any:
        if self._ddb is None:
            self._ddb = client("dynamodb")
        return self._ddb

    def get(self, profile: str) -> dict[str, Any] | None:
        item = self.ddb.get_item(TableName=self.table, Key={"profile": {"S": profile}}, ConsistentRead=True).get("Item")
        return from_dynamo(item) if item else None

    def put(self, profile: str, item: Mapping[str, Any]) -> None:
        document = {k: to_dynamo(v) for k, v in item.items() if v is not None}
        document["profile"] = {"S": profile}
        self.ddb.put_item(TableName=self.table, Item=document)

"""The training pipeline's tables: runs and pipelines.

Runs: one item per run (key ``run_id`` = execution name). Stage records are stored flat
(``stage_<name>__<field>``) so that one UpdateItem can merge any stage field without first creating maps;
:meth:`DynamoRunStore.get` and :meth:`update` return them nested again under ``stages``.
Pipelines: one item per pipeline (key ``name``) with the registered spec, the last rejection and the latest
dataset version. Out-of-order S3 events of one key are resolved with the S3 ``sequencer`` (right-padded, then
compared); the latest dataset version (different keys) by the events' time (mlcp.training.triggers.dataset_order).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mlcp.aws.dynamodb.table import Expression, Table, applied, from_dynamo, order_key, to_dynamo
from mlcp.common.notifications import iso
from mlcp.common.ports import Page
from mlcp.training.payloads import DatasetRef, RunStatus


class DynamoRunStore(Table):
    def create(self, run_id: str, item: Mapping[str, Any]) -> bool:
        record = {k: v for k, v in item.items() if k != "stages" and v is not None}
        return applied(
            self.ddb.put_item,
            TableName=self.table,
            Item={k: to_dynamo(v) for k, v in {**record, "run_id": run_id}.items()},
            ConditionExpression="attribute_not_exists(run_id)",
        )

    def update(
        self, run_id: str, fields: Mapping[str, Any], stages: Mapping[str, Mapping[str, Any]]
    ) -> Mapping[str, Any]:
        expr = Expression()
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
        expr = Expression()
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
        return applied(
            self.ddb.update_item,
            TableName=self.table,
            Key={"run_id": {"S": run_id}},
            UpdateExpression=expr.update,
            ConditionExpression=condition,
            ExpressionAttributeNames=expr.names,
            ExpressionAttributeValues=expr.values,
        )

    def mark_started(self, run_id: str, execution_arn: str) -> bool:
        return applied(
            self.ddb.update_item,
            TableName=self.table,
            Key={"run_id": {"S": run_id}},
            UpdateExpression="SET start_recorded_at = :at, execution_arn = :arn",
            ConditionExpression="attribute_not_exists(start_recorded_at)",
            ExpressionAttributeValues={":at": {"S": iso(datetime.now(UTC))}, ":arn": {"S": execution_arn}},
        )

    def discard_unstarted(self, run_id: str) -> bool:
        return applied(
            self.ddb.delete_item,
            TableName=self.table,
            Key={"run_id": {"S": run_id}},
            ConditionExpression="#status = :pending AND attribute_not_exists(start_recorded_at) "
            "AND attribute_not_exists(execution_arn)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":pending": {"S": RunStatus.PENDING.value}},
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
        return applied(
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


class DynamoPipelineStore(Table):
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

    def _conditional_set(
        self, name: str, values: Mapping[str, Any], order_attribute: str, order: str, *, sequencer: bool = True
    ) -> bool:
        """Set ``values`` unless the item's ``order_attribute`` is greater than ``order`` (an S3 sequencer, padded
        here, or with ``sequencer=False`` a string that already compares as it should)."""
        expr = Expression()
        for key, value in values.items():
            expr.set(key, value)
        kwargs: dict[str, Any] = {}
        if order:
            ordered = order_key(order) if sequencer else order
            expr.set(order_attribute, ordered)
            attr = expr.name(order_attribute)
            kwargs["ConditionExpression"] = f"attribute_not_exists({attr}) OR {attr} <= {expr.value(ordered)}"
        return applied(
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

    def record_refusal(self, name: str, source: str, reason: str, at: datetime) -> bool:
        return self.put_refusal({"name": {"S": name}}, source, reason, iso(at))

    def set_latest_dataset(self, name: str, dataset: DatasetRef, order: str) -> None:
        """``order`` is mlcp.training.triggers.dataset_order: event time, key, sequencer (compared as a string)."""
        self._conditional_set(
            name, {"latest_dataset": dataset.model_dump(mode="json")}, "dataset_order", order, sequencer=False
        )

    def latest_dataset(self, name: str) -> DatasetRef | None:
        item = self._get(name)
        if not item or "latest_dataset" not in item:
            return None
        return DatasetRef.model_validate(item["latest_dataset"])


_TERMINAL = [s.value for s in RunStatus if s.terminal]


_STAGE_PREFIX = "stage_"


RUNS_BY_PIPELINE = "by_pipeline"  # template.yaml RunsTable GSI: pipeline (hash), created_at (range)


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

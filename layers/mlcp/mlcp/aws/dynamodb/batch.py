"""The batch pipeline's table: job profiles (what the planner learnt), with optimistic concurrency on runs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from mlcp.aws.clients import error_code
from mlcp.aws.dynamodb.table import Table, from_dynamo, to_dynamo
from mlcp.common.notifications import iso


class DynamoProfileStore(Table):
    """The batch profiles table: one item per job profile (key ``profile``), what the planner learnt."""

    def get(self, profile: str) -> dict[str, Any] | None:
        """The learnt profile; None also when the item holds only a refused trigger upload (record_refusal)."""
        item = self.ddb.get_item(TableName=self.table, Key={"profile": {"S": profile}}, ConsistentRead=True).get("Item")
        if not item or ("runs" not in item and "per_item_seconds" not in item):
            return None
        return {k: v for k, v in from_dynamo(item).items() if not k.startswith("last_refusal")}

    def record_refusal(self, name: str, source: str, reason: str, at: datetime) -> bool:
        return self.put_refusal({"profile": {"S": name}}, source, reason, iso(at))

    def put(self, profile: str, item: Mapping[str, Any], expected_runs: int | None) -> bool:
        """Optimistic concurrency on ``runs`` (every update adds one), so concurrent runs of a profile never
        overwrite each other's observations."""
        document = {k: to_dynamo(v) for k, v in item.items() if v is not None}
        document["profile"] = {"S": profile}
        if expected_runs is None:
            # (an item holding only a refused upload has no ``runs``: the first learnt profile replaces it)
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(#r)"}
        else:
            condition = {
                "ConditionExpression": "#r = :runs",
                "ExpressionAttributeValues": {":runs": {"N": str(expected_runs)}},
            }
        condition["ExpressionAttributeNames"] = {"#r": "runs"}
        try:
            self.ddb.put_item(TableName=self.table, Item=document, **condition)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

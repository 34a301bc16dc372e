"""DynamoDB plumbing shared by every table adapter: (de)serialisation, update expressions, conditional writes,
S3 sequencer ordering, and the lazily created client."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from mlcp.aws.clients import client, error_code

_SER = TypeSerializer()
_DESER = TypeDeserializer()
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


class Expression:
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


def applied(update: Callable[..., Any], **request: Any) -> bool:
    """Run a conditional write; False when its condition did not hold (nothing was written)."""
    try:
        update(**request)
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


class Table:
    """One DynamoDB table; the client is created on first use unless one is given."""

    def __init__(self, table: str, dynamodb: Any | None = None) -> None:
        self.table = table
        self._ddb = dynamodb

    @property
    def ddb(self) -> Any:
        if self._ddb is None:
            self._ddb = client("dynamodb")
        return self._ddb

    def put_refusal(self, key: Mapping[str, Any], source: str, reason: str, at: str) -> bool:
        """Keep the last refused trigger upload (``last_refusal``) on the item ``key``; False when this very upload
        (``source``: URI and version) is the one already kept, so a re-delivery is not notified twice."""
        return applied(
            self.ddb.update_item,
            TableName=self.table,
            Key=key,
            UpdateExpression="SET last_refusal = :refusal, last_refusal_source = :source",
            ConditionExpression="attribute_not_exists(last_refusal_source) OR last_refusal_source <> :source",
            ExpressionAttributeValues={
                ":refusal": to_dynamo({"source": source, "reason": reason, "at": at}),
                ":source": {"S": source},
            },
        )

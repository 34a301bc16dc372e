"""Pagination of the REST API's list routes: opaque next tokens over DynamoDB's LastEvaluatedKey."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from mlcp.common.ports import Page
from mlcp.errors import (
    FieldError,
    InputInvalid,
)

# How many DynamoDB pages one list request reads at most (a status filter may leave pages short).
MAX_READS_PER_PAGE = 5


# --- pagination ----------------------------------------------------------------------------------------------------
def encode_token(scope: str, key: dict[str, Any] | None) -> str | None:
    """An opaque continuation token: the DynamoDB key to continue from and the listing it belongs to."""
    if key is None:
        return None
    raw = json.dumps({"scope": scope, "key": key}, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None, scope: str, keys: set[str]) -> dict[str, Any] | None:
    if not token:
        return None
    problem = FieldError("next_token", "is not a token this listing returned (pass next_token back unchanged)")
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise InputInvalid("query", [problem]) from exc
    key = data.get("key") if isinstance(data, dict) else None
    valid = (
        isinstance(data, dict)
        and data.get("scope") == scope
        and isinstance(key, dict)
        and set(key) == keys
        and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) and v["S"] for v in key.values())
    )
    if not valid:
        raise InputInvalid("query", [problem])
    assert isinstance(key, dict)
    return key


def read_pages(read: Callable[[int, dict[str, Any] | None], Page], limit: int, start: dict[str, Any] | None) -> Page:
    items: list[dict[str, Any]] = []
    key = start
    for _ in range(MAX_READS_PER_PAGE):
        found, key = read(limit - len(items), key)
        items.extend(found)
        if key is None or len(items) >= limit:
            break
    return items, key

"""boto3 clients, created on first use (cold starts pay only for the clients a handler really uses)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode: exponential backoff with jitter on throttling and transient errors.
CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


@cache
def client(service: str) -> Any:
    """A shared client per service (boto3 clients are thread-safe)."""
    return boto3.client(service, config=CONFIG)  # type: ignore[call-overload]


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))

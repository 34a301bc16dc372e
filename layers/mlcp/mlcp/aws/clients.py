"""boto3 clients, created on first use (cold starts pay only for the clients a handler really uses)."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode: exponential backoff with jitter on throttling and transient errors.
CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


def client(service: str) -> Any:
    """A shared client per service and credentials (boto3 clients are thread-safe).

    Keyed by the environment's access key id too: on Lambda it is the same for the whole execution environment;
    where several functions share one process (the embedded local cloud), each function gets clients that sign with
    its own execution role's credentials.
    """
    return _client(service, os.environ.get("AWS_ACCESS_KEY_ID", ""))


@cache
def _client(service: str, access_key_id: str) -> Any:
    if not access_key_id:  # no environment credentials: boto3's default chain (profile, container, instance)
        return boto3.client(service, config=CONFIG)  # type: ignore[call-overload]
    # The environment's credentials, as the Lambda runtime sets them (boto3's default session would keep the first
    # credentials it resolved for every later client).
    return boto3.client(  # type: ignore[call-overload]
        service,
        config=CONFIG,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=os.environ.get("AWS_SESSION_TOKEN"),
    )


def clear_cache() -> None:
    """Forget every client (the local cloud does, when it starts a new moto)."""
    _client.cache_clear()


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))

"""Bases of the REST API's request and response models."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from mlcp.common.naming import EXECUTION_NAME_MAX


class ApiRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # built on first use (cold start)


class ApiResponse(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)  # built on first use (cold start)


# Run ids are Step Functions execution names (mlcp.common.naming.execution_name): 1..80 of these characters.
RUN_ID_PATTERN = r"^[A-Za-z0-9_-]+$"
RunId = Annotated[str, Field(min_length=1, max_length=EXECUTION_NAME_MAX, pattern=RUN_ID_PATTERN)]


# What clients send as Idempotency-Key (IETF draft: a unique string, typically a UUID).
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")]


MAX_PAGE = 100

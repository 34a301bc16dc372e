"""Bases of the REST API's request and response models."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class ApiRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # built on first use (cold start)


class ApiResponse(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)  # built on first use (cold start)


# Run ids are Step Functions execution names.
RunId = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")]


# What clients send as Idempotency-Key (IETF draft: a unique string, typically a UUID).
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")]


MAX_PAGE = 100

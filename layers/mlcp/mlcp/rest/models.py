"""The API's error body (every 4xx/5xx), in one place."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from mlcp.common.api_models import ApiResponse


class FieldProblem(ApiResponse):
    field: str
    message: str
    location: Annotated[str, Field(description="body, query, path or header")] = "body"


class ErrorResponse(ApiResponse):
    """Every 4xx/5xx body: a machine-readable code, a sentence, and field-level details for 400."""

    code: Annotated[str, Field(examples=["InputInvalid", "NotFound", "Conflict", "Throttled"])]
    message: str
    errors: list[FieldProblem] = []

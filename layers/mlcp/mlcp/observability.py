"""Powertools glue shared by the handlers: EMF metrics behind the core's Meter port, input parsing."""

from __future__ import annotations

from typing import Any, TypeVar

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ValidationError

from mlcp.errors import EventInvalid
from mlcp.models.validation import field_errors

ModelT = TypeVar("ModelT", bound=BaseModel)


class PowertoolsMeter:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def add(self, name: str, value: float, unit: str) -> None:
        self.metrics.add_metric(name=name, unit=MetricUnit(unit), value=value)


def parse_event(model: type[ModelT], event: Any, subject: str) -> ModelT:
    """Validate a handler's input; a malformed one becomes EventInvalid with field-level errors."""
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        raise EventInvalid(subject, field_errors(exc)) from exc

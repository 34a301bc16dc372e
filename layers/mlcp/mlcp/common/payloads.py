"""Payloads that every capability shares: what triggered a run, and a notification (SNS subject + message)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Payload(BaseModel):
    """A state payload: immutable, and tolerant of fields added by later versions."""

    # defer_build: a model builds its validator on first use, so a handler pays only for the models it uses.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class TriggerType(StrEnum):
    S3 = "s3"
    SCHEDULE = "schedule"
    API = "api"
    MANUAL = "manual"


class Trigger(Payload):
    type: TriggerType
    source: Annotated[str, Field(max_length=2048, description="Object URI, schedule ARN, or API caller.")]


class Notification(Payload):
    subject: Annotated[str, Field(max_length=100)]
    message: str

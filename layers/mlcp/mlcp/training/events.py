"""Events that reach the training pipeline besides S3 uploads (mlcp.common.s3_events): the Scheduler target's
input and "Step Functions Execution Status Change"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field


class ScheduleInput(BaseModel):
    """The Input of the EventBridge Scheduler target (template.yaml): context attributes filled by Scheduler."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    source: Literal["mlcp.schedule"]
    pipeline: Annotated[str, Field(min_length=1, max_length=128)]
    schedule_arn: Annotated[str, Field(min_length=1)]
    scheduled_time: datetime


class ExecutionStatusDetail(BaseModel):
    """``detail`` of a "Step Functions Execution Status Change" event."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    executionArn: str  # noqa: N815 - AWS's field names
    stateMachineArn: str  # noqa: N815
    name: str
    status: Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]
    startDate: int | None = None  # noqa: N815 - epoch milliseconds
    stopDate: int | None = None  # noqa: N815
    input: str | None = None
    error: str | None = None
    cause: str | None = None
    redriveCount: int = 0  # noqa: N815 - how many times the execution was redriven (0: the first attempt)


class ExecutionStatusChange(EventBridgeModel):
    detail: ExecutionStatusDetail


def event_kind(event: Any) -> str:
    """Tell trigger events apart for a handler that receives more than one kind."""
    if isinstance(event, dict):
        if event.get("source") == "mlcp.schedule":
            return "schedule"
        if event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created":
            return "s3"
    return "unknown"

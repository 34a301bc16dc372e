"""S3 Object Created events delivered by EventBridge, parsed once for every trigger (pipeline specs, dataset
manifests, batch manifests, scaling policies)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from pydantic import ValidationError

from mlcp.common.validation import field_errors
from mlcp.errors import EventInvalid


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    version_id: str | None
    sequencer: str | None
    etag: str | None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def identity(self) -> str:
        """What distinguishes this upload from any other of the same key."""
        return self.version_id or self.sequencer or self.etag or ""

    @property
    def source(self) -> str:
        return f"{self.uri}?versionId={self.version_id}" if self.version_id else self.uri


def parse_s3_event(event: Any) -> S3Object:
    try:
        parsed = S3EventNotificationEventBridgeModel.model_validate(event)
    except ValidationError as exc:
        raise EventInvalid("S3 Object Created event", field_errors(exc)) from exc
    obj = parsed.detail.object
    return S3Object(
        bucket=parsed.detail.bucket.name,
        key=obj.key,
        version_id=obj.version_id,
        sequencer=obj.sequencer,
        etag=obj.etag,
    )

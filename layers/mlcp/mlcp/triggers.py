"""From trigger events to a run's identity: which pipeline, which dataset version, which execution name.

Pure: no AWS calls. Every name is derived from what identifies the trigger (bucket/key/version or sequencer;
schedule ARN + scheduled time), so a duplicated or retried event maps to the same execution name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from pydantic import ValidationError

from mlcp import naming
from mlcp.errors import EventInvalid, FieldError
from mlcp.models.events import ScheduleInput
from mlcp.models.run import DatasetRef, RunInput, Trigger, TriggerType
from mlcp.models.validation import field_errors

PIPELINE_KEY = re.compile(r"^pipelines/(?P<name>[^/]+)/pipeline\.(?:yaml|yml|json)$")
MANIFEST_KEY = re.compile(r"^datasets/(?P<name>[^/]{1,128})/(?P<version>[^/]{1,128})/manifest\.json$")


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


def pipeline_name_from_key(key: str) -> str:
    match = PIPELINE_KEY.match(key)
    if match is None:
        raise EventInvalid(
            f"object key {key!r}",
            [FieldError("detail.object.key", "expected pipelines/<name>/pipeline.yaml")],
        )
    return match["name"]


def run_input_for_manifest(obj: S3Object) -> RunInput:
    match = MANIFEST_KEY.match(obj.key)
    if match is None:
        raise EventInvalid(
            f"object key {obj.key!r}",
            [
                FieldError(
                    "detail.object.key",
                    "expected datasets/<pipeline>/<version>/manifest.json (names of at most 128 characters)",
                )
            ],
        )
    pipeline, version = match["name"], match["version"]
    return RunInput(
        run_id=naming.execution_name(pipeline, version, obj.bucket, obj.key, obj.identity),
        pipeline=pipeline,
        dataset=DatasetRef(name=pipeline, version=version, manifest_uri=obj.uri),
        trigger=Trigger(type=TriggerType.S3, source=obj.source),
    )


def parse_schedule_input(event: Any) -> ScheduleInput:
    try:
        return ScheduleInput.model_validate(event)
    except ValidationError as exc:
        raise EventInvalid("schedule input", field_errors(exc)) from exc


def run_input_for_schedule(schedule: ScheduleInput, latest: DatasetRef | None) -> RunInput:
    at = schedule.scheduled_time
    stamp = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return RunInput(
        run_id=naming.execution_name(schedule.pipeline, stamp, schedule.schedule_arn),
        pipeline=schedule.pipeline,
        dataset=latest,
        trigger=Trigger(type=TriggerType.SCHEDULE, source=f"{schedule.schedule_arn}@{stamp}"),
    )

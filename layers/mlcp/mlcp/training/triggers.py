"""From trigger events to a run's identity: which pipeline, which dataset version, which execution name.

Pure: no AWS calls. Every name is derived from what identifies the trigger (bucket/key/version or sequencer;
schedule ARN + scheduled time), so a duplicated or retried event maps to the same execution name.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from mlcp.common import naming
from mlcp.common.payloads import Trigger, TriggerType
from mlcp.common.s3_events import S3Object
from mlcp.common.validation import field_errors
from mlcp.errors import EventInvalid, FieldError
from mlcp.training.events import ScheduleInput
from mlcp.training.payloads import DatasetRef, RunInput

PIPELINE_KEY = re.compile(r"^pipelines/(?P<name>[^/]+)/pipeline\.(?:yaml|yml|json)$")
MANIFEST_KEY = re.compile(r"^datasets/(?P<name>[^/]{1,128})/(?P<version>[^/]{1,128})/manifest\.json$")


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
    stamp = naming.schedule_stamp(at)
    return RunInput(
        run_id=naming.execution_name(schedule.pipeline, stamp, schedule.schedule_arn),
        pipeline=schedule.pipeline,
        dataset=latest,
        trigger=Trigger(type=TriggerType.SCHEDULE, source=f"{schedule.schedule_arn}@{stamp}"),
    )

"""From trigger events to a run's identity: which pipeline, which dataset version, which execution name.

Pure: no AWS calls. Every name is derived from what identifies the trigger (bucket/key/version or sequencer;
schedule ARN + scheduled time), so a duplicated or retried event maps to the same execution name.
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

from pydantic import ValidationError

from mlcp.common import naming
from mlcp.common.payloads import Trigger, TriggerType
from mlcp.common.s3_events import KeyAction, KeyDecision, S3Object, classify_key, wildcard_regex
from mlcp.common.validation import field_errors
from mlcp.errors import EventInvalid, FieldError
from mlcp.training.events import ScheduleInput
from mlcp.training.payloads import DatasetRef, RunInput
from mlcp.training.sagemaker_limits import PIPELINE_NAME

# The EventBridge rules of template.yaml (PipelineSpecUploaded, DatasetManifestUploaded) match these wildcards;
# tests/static/test_trigger_rules.py checks that the template's patterns and these decisions agree on every key.
PIPELINE_WILDCARDS = ("pipelines/*/pipeline.yaml", "pipelines/*/pipeline.yml", "pipelines/*/pipeline.json")
MANIFEST_WILDCARDS = ("datasets/*/*/manifest.json",)
PIPELINE_KEY = re.compile(r"^pipelines/(?P<name>[^/]{1,128})/pipeline\.(?:yaml|yml|json)$")
MANIFEST_KEY = re.compile(r"^datasets/(?P<name>[^/]{1,128})/(?P<version>[^/]{1,128})/manifest\.json$")
_PIPELINE_NAME = re.compile(PIPELINE_NAME)
MAX_PIPELINE_NAME = 40  # as PipelineSpec.name (mlcp.training.spec): it prefixes SageMaker job names
_PIPELINE_EXPECTED = "pipelines/<name>/pipeline.yaml (or .yml, .json): the name is one path segment of 1-128 characters"
_MANIFEST_EXPECTED = (
    "datasets/<pipeline>/<version>/manifest.json: pipeline and version are one path segment each, 1-128 characters"
)


def classify_pipeline_key(key: str) -> KeyDecision:
    """register_pipeline's decision on a (decoded) object key: accept, refuse (notified) or ignore. Pure."""
    return classify_key(key, wildcard_regex(PIPELINE_WILDCARDS), PIPELINE_KEY, _PIPELINE_EXPECTED)


def classify_manifest_key(key: str) -> KeyDecision:
    """start_run's decision on a (decoded) object key: accept, refuse (notified) or ignore. Pure.

    A key whose pipeline segment cannot be a pipeline's name (a spec's ``name``: PIPELINE_NAME, 1-40 characters)
    is refused here: no registered pipeline can have it."""
    decision = classify_key(key, wildcard_regex(MANIFEST_WILDCARDS), MANIFEST_KEY, _MANIFEST_EXPECTED)
    name = decision.parts.get("name", "")
    if decision.action == KeyAction.ACCEPT and not (len(name) <= MAX_PIPELINE_NAME and _PIPELINE_NAME.match(name)):
        reason = (
            f"{name!r} is not a pipeline name (lower-case letters, digits and single hyphens, 1-{MAX_PIPELINE_NAME} "
            f"characters): expected datasets/<pipeline>/<version>/manifest.json with a registered pipeline"
        )
        return KeyDecision(KeyAction.REFUSE, reason=reason, name=name)
    return decision


def unregistered_pipeline(decision: KeyDecision) -> KeyDecision:
    """The refusal of an accepted manifest key whose pipeline is not registered (no spec): no run could start."""
    name = decision.parts["name"]
    reason = f"pipeline {name!r} is not registered: upload pipelines/{name}/pipeline.yaml first, then the manifest"
    return KeyDecision(KeyAction.REFUSE, reason=reason, name=name)


def pipeline_name_from_key(key: str) -> str:
    decision = classify_pipeline_key(key)
    if decision.action != KeyAction.ACCEPT:
        raise EventInvalid(f"object key {key!r}", [FieldError("detail.object.key", decision.reason)])
    return decision.parts["name"]


def run_input_for_manifest(obj: S3Object) -> RunInput:
    """The run a manifest upload starts: named after the object version (version id, else sequencer + ETag)."""
    decision = classify_manifest_key(obj.key)
    if decision.action != KeyAction.ACCEPT:
        raise EventInvalid(f"object key {obj.key!r}", [FieldError("detail.object.key", decision.reason)])
    pipeline, version = decision.parts["name"], decision.parts["version"]
    return RunInput(
        run_id=naming.execution_name(pipeline, version, obj.bucket, obj.key, obj.identity),
        pipeline=pipeline,
        dataset=DatasetRef(
            name=pipeline,
            version=version,
            manifest_uri=obj.uri,
            manifest_version_id=obj.version_id,
            manifest_etag=obj.etag,
        ),
        trigger=Trigger(type=TriggerType.S3, source=obj.source),
    )


def dataset_order(obj: S3Object) -> str:
    """How "the latest dataset version" is decided: by the event's time, ties broken by the key and then (one key)
    by its sequencer. S3 sequencers order the events of one key only, so they are never compared across keys."""
    at = obj.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if obj.time else ""
    return f"{at}|{obj.key}|{(obj.sequencer or '').upper().ljust(32, '0')}"


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

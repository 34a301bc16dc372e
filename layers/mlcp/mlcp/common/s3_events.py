"""S3 events delivered by EventBridge, parsed once for every trigger (pipeline specs, dataset manifests, batch
manifests, scaling policies), and the one way every trigger decides about an object key.

What AWS delivers, and what this module makes of it:

* **Event types.** S3 sends "Object Created", "Object Deleted", "Object Restore Completed", ... to EventBridge
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html). Triggers handle "Object Created" only;
  any other type raises :class:`~mlcp.errors.EventIgnored` (the handler counts it and starts nothing), so a handler
  invoked directly with a deletion never starts a run.
* **Keys.** S3 documents notification keys as URL-encoded, space as ``+`` (``red flower.jpg`` ->
  ``red+flower.jpg``; https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
  The EventBridge page does not say so and Powertools' data class decodes EventBridge keys, so keys are decoded
  with :func:`urllib.parse.unquote_plus`; :func:`resolve_key` falls back to the key as delivered when only that one
  exists (HeadObject), so either delivery form works.
* **Versions.** An unversioned bucket sends ``"version-id": "null"`` (or none): that is no version, and the upload
  is then told apart by its sequencer and ETag (:attr:`S3Object.identity`).
* **Order.** The sequencer orders the events of one key only ("sequencer ... comparisons are only valid for
  events on the same object key"; notification-content-structure page above): compare it within a key, never
  across keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from pydantic import ValidationError

from mlcp.common import notifications
from mlcp.common.ports import Meter, Notifier, ObjectStore
from mlcp.common.validation import field_errors
from mlcp.errors import EventIgnored, EventInvalid

OBJECT_CREATED = "Object Created"
UNVERSIONED = "null"  # the version id S3 reports for an object of a bucket that never had versioning enabled


@dataclass(frozen=True)
class S3Object:
    """One object version that triggered something: ``key`` decoded (see the module docstring)."""

    bucket: str
    key: str
    version_id: str | None
    sequencer: str | None
    etag: str | None
    delivered_key: str | None = None  # the key exactly as the event carried it (None: the same as ``key``)
    time: datetime | None = None  # the event's time (when S3 saw the request), to order different keys

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def identity(self) -> str:
        """What distinguishes this upload from any other of the same key: the version id, else (unversioned
        bucket) the sequencer and the ETag together."""
        if self.version_id:
            return self.version_id
        return "-".join(part for part in (self.sequencer, self.etag) if part)

    @property
    def source(self) -> str:
        return f"{self.uri}?versionId={self.version_id}" if self.version_id else self.uri

    def ref(self) -> dict[str, str | None]:
        """What a run record keeps of the object it read: bucket, key, version id and ETag."""
        return {"bucket": self.bucket, "key": self.key, "version_id": self.version_id, "etag": self.etag}


def decode_key(key: str) -> str:
    """An S3 notification key as the object's key: ``+`` is a space, ``%XX`` are UTF-8 bytes."""
    return unquote_plus(key, encoding="utf-8", errors="strict") if ("%" in key or "+" in key) else key


def parse_s3_event(event: Any, handled: Iterable[str] = (OBJECT_CREATED,)) -> S3Object:
    """The object of an S3 EventBridge event.

    Raises EventInvalid (the shape is not an S3 EventBridge event) or EventIgnored (a type not in ``handled``).
    """
    try:
        parsed = S3EventNotificationEventBridgeModel.model_validate(event)
    except ValidationError as exc:
        raise EventInvalid("S3 EventBridge event", field_errors(exc)) from exc
    obj = parsed.detail.object
    if parsed.source != "aws.s3" or parsed.detail_type not in tuple(handled):
        raise EventIgnored(
            f"{parsed.source} {parsed.detail_type!r} event for {obj.key!r} is not handled here",
            detail_type=parsed.detail_type,
            key=obj.key,
        )
    try:
        key = decode_key(obj.key)
    except UnicodeDecodeError:
        key = obj.key  # not valid UTF-8 once decoded: only the delivered form can name the object
    version = obj.version_id if obj.version_id and obj.version_id != UNVERSIONED else None
    return S3Object(
        bucket=parsed.detail.bucket.name,
        key=key,
        version_id=version,
        sequencer=obj.sequencer or None,
        etag=obj.etag or None,
        delivered_key=obj.key if obj.key != key else None,
        time=parsed.time,
    )


def resolve_key(obj: S3Object, objects: ObjectStore) -> S3Object:
    """The object under its decoded key if that exists (at the event's version), else under the key as delivered
    if only that exists; else the decoded key (whose read then reports it missing). One HeadObject, two at most."""
    if obj.delivered_key is None or objects.exists(obj.uri, obj.version_id):
        return obj
    delivered = replace(obj, key=obj.delivered_key, delivered_key=None)
    return delivered if objects.exists(delivered.uri, obj.version_id) else obj


# --- which keys a trigger takes ------------------------------------------------------------------------------------
class KeyAction(StrEnum):
    ACCEPT = "accept"  # the trigger's key: go on
    REFUSE = "refuse"  # its rule forwards it but it is not a valid key: record, notify once, start nothing
    IGNORE = "ignore"  # not this trigger's key at all (its rule does not forward it): count it, start nothing


@dataclass(frozen=True)
class KeyDecision:
    action: KeyAction
    reason: str = ""
    parts: dict[str, str] = field(default_factory=dict)
    name: str = ""  # what a refusal is recorded under (pipeline, profile, policy)


def wildcard_regex(patterns: Iterable[str]) -> re.Pattern[str]:
    """EventBridge ``wildcard`` patterns as one regex: ``*`` matches any run of characters, ``/`` included
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-wildcard-matching)."""
    alternatives = ("".join(".*" if c == "*" else re.escape(c) for c in p) for p in patterns)
    return re.compile("^(?:" + "|".join(alternatives) + ")$", re.DOTALL)


def classify_key(
    key: str, forwarded: re.Pattern[str], valid: re.Pattern[str], expected: str, name_group: int = 1
) -> KeyDecision:
    """ACCEPT a key that matches ``valid`` (its named groups become ``parts``); REFUSE one that the rule forwards
    (``forwarded``) but is not valid, saying what was ``expected``; IGNORE anything else."""
    match = valid.match(key)
    if match is not None:
        return KeyDecision(KeyAction.ACCEPT, parts=match.groupdict())
    if forwarded.match(key) is None:
        return KeyDecision(KeyAction.IGNORE, reason=f"not a key of this trigger (expected {expected})")
    segments = key.split("/")
    name = segments[name_group] if len(segments) > name_group else ""
    return KeyDecision(KeyAction.REFUSE, reason=f"expected {expected}", name=name)


class Refusals(Protocol):
    def record_refusal(self, name: str, source: str, reason: str, at: datetime) -> bool:
        """Record that the upload ``source`` was refused; False if this very upload was already recorded."""
        ...


def refuse(
    obj: S3Object,
    decision: KeyDecision,
    *,
    trigger: str,
    refusals: Refusals,
    notifier: Notifier,
    meter: Meter,
    at: datetime,
) -> None:
    """A forwarded upload that its trigger cannot take: record it, and notify once (naming the key and why)."""
    meter.add("TriggersRefused", 1, "Count")
    if not refusals.record_refusal(decision.name or obj.key, obj.source, decision.reason, at):
        return  # a re-delivery of an upload already refused and notified
    notifier.publish(
        subject=notifications.subject(f"{trigger} upload refused: {obj.key}"),
        message=(
            f"The upload {obj.source} reached the {trigger} trigger but was refused: {decision.reason}.\n"
            f"Object key: {obj.key}\nNothing was started or registered."
        ),
        attributes={"event": "trigger_refused", "trigger": trigger},
    )

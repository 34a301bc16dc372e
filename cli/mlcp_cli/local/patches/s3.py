"""``s3_eventbridge_events``: "Object Created" events with a real, per-key increasing sequencer, a URL-encoded key,
an ISO time and the rule's input transformation (moto: a constant sequencer, the raw key, no transformation).

The product deduplicates manifest uploads by the object's sequencer, so a constant one would make every upload of a
key look like the first; sequencers grow per key only (LocalContext.next_sequencer), as on AWS.

Keys are URL-encoded (space as ``+``, ``quote_plus`` with ``/`` kept), a deliberate choice: S3 documents
notification keys that way (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html),
the EventBridge page does not say, and it is the form that breaks code that uses keys verbatim; the product decodes
keys and falls back to the delivered form (mlcp.common.s3_events), so it works with either.

With the fix S3's EventBridge notifications go through :func:`~mlcp_cli.local.patches.events.put_event` (the local
delivery of ``eventbridge_targets``), and moto's
"Object Tags Added" for a PutObject without tags is dropped as S3 does.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote_plus

from moto.s3 import notifications as s3_notifications

from mlcp_cli.local.patches.context import active
from mlcp_cli.local.patches.events import put_event


def install() -> None:
    original = s3_notifications._send_event_bridge_message

    def _send_event_bridge_message(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
        context = active()
        if context is None:
            original(account_id, bucket, event_name, key)
            return
        if "Tagging" in event_name and not getattr(key, "tags", None):
            return  # moto tags every PutObject (with no tags); S3 emits "Object Tags Added" only for real tags
        detail = {
            "version": "0",
            "bucket": {"name": bucket.name},
            "object": {
                "key": quote_plus(key.name, safe="/"),
                "size": key.size,
                "etag": key.etag.replace('"', ""),
                "version-id": key.version_id,
                "sequencer": context.next_sequencer(bucket.name, key.name),
            },
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": account_id,
            "source-ip-address": "127.0.0.1",
            "reason": "PutObject" if "Put" in event_name else event_name.rsplit(":", maxsplit=1)[-1],
        }
        put_event(
            "aws.s3",
            s3_notifications._detail_type(event_name),
            detail,
            [bucket.arn],
            account=account_id,
            region=bucket.region_name,
        )

    s3_notifications._send_event_bridge_message = _send_event_bridge_message

"""Which uploads start a batch run, and the run they start. Pure.

Only ``batches/<profile>/<run label>/manifest.json`` starts a run. template.yaml's BatchManifestUploaded rule
forwards ``batches/*/*/manifest.json``, and EventBridge's ``*`` spans ``/``
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-wildcard-matching),
so the rule also forwards keys under a run's own prefix ``batches/<profile>/runs/`` (a worker's
``results/manifest.json``): no pattern can exclude them in the same field, so they are ignored here (counted,
TriggersIgnored), never started: a worker that writes one cannot loop. Any other forwarded key that is not a run
label is refused (recorded, notified once). tests/static/test_trigger_rules.py checks the rule against this.
"""

from __future__ import annotations

import re

from mlcp.batch.payloads import BatchRunInput
from mlcp.common import naming
from mlcp.common.payloads import Trigger, TriggerType
from mlcp.common.s3_events import KeyAction, KeyDecision, S3Object, classify_key, wildcard_regex
from mlcp.errors import EventInvalid, FieldError

BATCH_MANIFEST_WILDCARDS = ("batches/*/*/manifest.json",)
MANIFEST_KEY = re.compile(
    # the label "runs" is the prefix of the runs' own outputs (RUN_OUTPUTS), never a run label
    r"^batches/(?P<profile>[a-z0-9](?:-?[a-z0-9]){0,39})/(?P<label>(?!runs/)[^/]{1,128})/manifest\.json$"
)
RUN_OUTPUTS = re.compile(r"^batches/[^/]+/runs/")  # batches/<profile>/runs/<run id>/...: what runs write
_EXPECTED = (
    "batches/<profile>/<run label>/manifest.json: a profile name (lowercase letters, digits, hyphens, at most 40) "
    "and a run label of one path segment"
)


def classify_batch_key(key: str) -> KeyDecision:
    """start_batch's decision on a (decoded) key: accept, refuse (notified), or ignore (not a trigger key, or a
    run's own output under ``batches/<profile>/runs/``)."""
    if RUN_OUTPUTS.match(key) and not MANIFEST_KEY.match(key):
        return KeyDecision(KeyAction.IGNORE, reason="under a batch run's own prefix (batches/<profile>/runs/)")
    return classify_key(key, wildcard_regex(BATCH_MANIFEST_WILDCARDS), MANIFEST_KEY, _EXPECTED)


def run_input_for_manifest(obj: S3Object) -> BatchRunInput:
    """The run a manifest upload starts, named after the object version (version id, else sequencer + ETag)."""
    decision = classify_batch_key(obj.key)
    if decision.action != KeyAction.ACCEPT:
        raise EventInvalid(f"object key {obj.key!r}", [FieldError("detail.object.key", decision.reason or _EXPECTED)])
    profile, label = decision.parts["profile"], decision.parts["label"]
    return BatchRunInput(
        run_id=naming.execution_name(profile, label, obj.bucket, obj.key, obj.identity),
        profile=profile,
        manifest_uri=obj.uri,
        manifest_version_id=obj.version_id,
        manifest_etag=obj.etag,
        trigger=Trigger(type=TriggerType.S3, source=obj.source),
    )

"""Rules and handlers agree: every S3 EventBridge rule of template.yaml, matched with moto's EventBridge pattern
matcher against a table of keys (valid, nested, under a run's results, other suffixes, encoded), against the
handler's own decision on the key (the pure classifiers the handlers call).

Agreement means: a key the handler accepts is forwarded by its rule; a key the rule forwards is accepted or refused
(refused: recorded and notified once), never silently dropped, except a batch run's own outputs, which EventBridge
cannot exclude (its ``*`` spans ``/``) and start_batch ignores with a metric; a key the rule does not forward the
handler ignores. Events other than "Object Created" match no rule.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from moto.events.models import EventPattern

from mlcp.batch.triggers import RUN_OUTPUTS, classify_batch_key
from mlcp.common.s3_events import KeyAction, KeyDecision, decode_key
from mlcp.scaling.use_cases import classify_policy_key
from mlcp.training.triggers import classify_manifest_key, classify_pipeline_key
from tests.support import load_template

BUCKET = "mlcp-artifacts-123456789012"

# function logical id -> (rule name, the handler's decision on a decoded key)
TRIGGERS: dict[str, tuple[str, Callable[[str], KeyDecision]]] = {
    "RegisterPipelineFunction": ("PipelineSpecUploaded", classify_pipeline_key),
    "StartRunFunction": ("DatasetManifestUploaded", classify_manifest_key),
    "StartBatchFunction": ("BatchManifestUploaded", classify_batch_key),
    "RegisterScalingPolicyFunction": ("ScalingPolicyUploaded", classify_policy_key),
}

# Keys as EventBridge delivers them (URL-encoded where marked), grouped by what they exercise.
KEYS = [
    # valid
    "pipelines/churn/pipeline.yaml",
    "pipelines/churn/pipeline.yml",
    "pipelines/churn/pipeline.json",
    "datasets/churn/2026-11-27/manifest.json",
    "batches/image-scoring/2026-11-27/manifest.json",
    "batches/image-scoring/runs/manifest.json",
    "scaling/ml-cluster/gpu/policy.yaml",
    "scaling/ml-cluster/gpu/policy.json",
    # nested
    "pipelines/team/churn/pipeline.yaml",
    "datasets/churn/2026/11/27/manifest.json",
    "datasets/churn/v1/results/manifest.json",
    "batches/image-scoring/2026/11/manifest.json",
    "scaling/ml-cluster/team/gpu/policy.yaml",
    # under a run's results
    "batches/image-scoring/runs/image-scoring-abc/results/manifest.json",
    "batches/image-scoring/runs/image-scoring-abc/manifest.json",
    "runs/churn/run-1/manifest.json",
    # other suffixes and prefixes
    "pipelines/churn/pipeline.yaml.bak",
    "pipelines/churn/readme.txt",
    "datasets/churn/v1/manifest.json.tmp",
    "datasets/churn/v1/train/part-0.csv",
    "datasets/churn/manifest.json",
    "batches/image-scoring/manifest.json",
    "batches/manifest.json",
    "batches/image-scoring/x/manifest.jsonl",
    "scaling/ml-cluster/policy.yaml",
    "scaling/ml-cluster/gpu/policy.txt",
    "x/datasets/churn/v1/manifest.json",
    # empty segments and bad names
    "datasets/churn//manifest.json",
    "pipelines//pipeline.yaml",
    "batches/Image_Scoring/x/manifest.json",
    "datasets/churn/" + "v" * 129 + "/manifest.json",
    # encoded
    "datasets/churn/hv+space+2026/manifest.json",
    "datasets/churn/v%3A1/manifest.json",
    "datasets/churn/caf%C3%A9/manifest.json",
    "pipelines/caf%C3%A9/pipeline.yaml",
    "scaling/ml-cluster/gpu%2Bx/policy.yml",
    "batches/image-scoring/run+1/manifest.json",
    "datasets/churn/a%2Fb/manifest.json",
]


def _concrete(value: Any) -> Any:
    """The rule pattern with the bucket's Ref resolved."""
    if isinstance(value, dict):
        if value == {"Ref": "ArtifactBucket"}:
            return BUCKET
        return {k: _concrete(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_concrete(v) for v in value]
    return value


@pytest.fixture(scope="module")
def patterns() -> dict[str, EventPattern]:
    resources = load_template()["Resources"]
    found = {}
    for function, (rule, _) in TRIGGERS.items():
        pattern = resources[function]["Properties"]["Events"][rule]["Properties"]["Pattern"]
        found[function] = EventPattern.load(json.dumps(_concrete(pattern)))
    return found


def _event(key: str, detail_type: str = "Object Created") -> dict[str, Any]:
    return {
        "source": "aws.s3",
        "detail-type": detail_type,
        "detail": {"bucket": {"name": BUCKET}, "object": {"key": key, "etag": "e", "sequencer": "01"}},
    }


def test_every_s3_rule_of_the_template_is_covered() -> None:
    resources = load_template()["Resources"]
    s3_rules = {
        (name, event_name)
        for name, resource in resources.items()
        for event_name, event in (resource.get("Properties", {}).get("Events") or {}).items()
        if event.get("Type") == "EventBridgeRule" and event["Properties"]["Pattern"].get("source") == ["aws.s3"]
    }
    assert s3_rules == {(function, rule) for function, (rule, _) in TRIGGERS.items()}


def decisions(patterns: dict[str, EventPattern], key: str) -> dict[str, tuple[bool, KeyDecision]]:
    """Per trigger function: (does its rule forward the key, the handler's decision on the decoded key)."""
    return {
        function: (patterns[function].matches_event(_event(key)), classify(decode_key(key)))
        for function, (_, classify) in TRIGGERS.items()
    }


@pytest.mark.parametrize("key", KEYS)
def test_rule_and_handler_agree(patterns: dict[str, EventPattern], key: str) -> None:
    for function, (forwarded, decision) in decisions(patterns, key).items():
        where = f"{function} on {key!r}: rule {'forwards' if forwarded else 'drops'}, handler {decision}"
        if decision.action == KeyAction.ACCEPT:
            assert forwarded, where
        elif decision.action == KeyAction.REFUSE:
            assert forwarded, where  # a refusal is notified: only for keys the rule forwards
            assert decision.reason.startswith("expected "), where
        elif forwarded:  # IGNORE of a forwarded key: only a batch run's own outputs, which no pattern can exclude
            assert function == "StartBatchFunction", where
            assert RUN_OUTPUTS.match(decode_key(key)), where


@pytest.mark.parametrize("key", KEYS)
def test_at_most_one_trigger_takes_a_key(patterns: dict[str, EventPattern], key: str) -> None:
    taking = [f for f, (_, d) in decisions(patterns, key).items() if d.action != KeyAction.IGNORE]
    assert len(taking) <= 1, (key, taking)


@pytest.mark.parametrize(
    "key",
    [
        "code/churn/" + "a" * 64 + "/sourcedir.tar.gz",
        "code/churn/" + "a" * 64 + "/runproc/" + "b" * 64 + "/runproc.sh",
        "code/pipelines/churn/pipeline.yaml",
        "code/datasets/churn/v1/manifest.json",
    ],
)
def test_script_mode_code_is_not_a_trigger(patterns: dict[str, EventPattern], key: str) -> None:
    """The CLI uploads code/<pipeline>/<sha256>/sourcedir.tar.gz before it sends a spec: no rule forwards it."""
    for function, (forwarded, decision) in decisions(patterns, key).items():
        assert not forwarded, (function, key)
        assert decision.action == KeyAction.IGNORE, (function, key, decision)


@pytest.mark.parametrize(
    "detail_type", ["Object Deleted", "Object Restore Completed", "Object Restore Initiated", "Object Tags Added"]
)
def test_no_rule_forwards_other_event_types(patterns: dict[str, EventPattern], detail_type: str) -> None:
    for function, pattern in patterns.items():
        for key in ("pipelines/churn/pipeline.yaml", "datasets/churn/v1/manifest.json"):
            assert not pattern.matches_event(_event(key, detail_type)), (function, detail_type)


@pytest.mark.parametrize(
    ("key", "function", "action"),
    [
        ("datasets/churn/2026/11/27/manifest.json", "StartRunFunction", KeyAction.REFUSE),  # the nested case
        ("batches/image-scoring/runs/image-scoring-abc/results/manifest.json", "StartBatchFunction", KeyAction.IGNORE),
        ("datasets/churn/hv+space+2026/manifest.json", "StartRunFunction", KeyAction.ACCEPT),
        ("batches/image-scoring/2026/11/manifest.json", "StartBatchFunction", KeyAction.REFUSE),
        ("pipelines/team/churn/pipeline.yaml", "RegisterPipelineFunction", KeyAction.REFUSE),
        ("scaling/ml-cluster/team/gpu/policy.yaml", "RegisterScalingPolicyFunction", KeyAction.REFUSE),
    ],
)
def test_the_cases_decisions(patterns: dict[str, EventPattern], key: str, function: str, action: KeyAction) -> None:
    forwarded, decision = decisions(patterns, key)[function]
    assert forwarded
    assert decision.action == action

"""The batch spec (mlcp.batch.spec): the example parses; each broken rule is reported on the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlcp.batch.spec import batch_spec_json_schema, batch_spec_schema_text, parse_batch_spec
from mlcp.errors import BatchSpecInvalid
from tests.support import ROOT

EXAMPLE = ROOT / "examples" / "batch" / "batch.yaml"
SCHEMA_FILE = ROOT / "docs" / "batch-spec.schema.json"


def _doc() -> dict[str, Any]:
    return {
        "name": "scoring",
        "items": {"count": 10},
        "job": {"definition": "worker"},
        "queues": [{"name": "spot", "max_vcpus": 4}],
    }


def test_the_example_parses() -> None:
    spec = parse_batch_spec(EXAMPLE.read_bytes(), source=str(EXAMPLE))
    assert spec.name == "image-scoring"
    assert spec.target_child_seconds == 240
    assert [q.spot for q in spec.queues] == [True, False]


def test_defaults_follow_aws_guidance() -> None:
    spec = parse_batch_spec(_doc())
    assert spec.target_child_seconds == 240
    assert spec.retry.attempts == 2
    assert spec.retry.evaluate_on_exit[0].to_aws() == {"Action": "RETRY", "OnStatusReason": "Host EC2*"}


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda d: d["items"].update(prefix="s3://bucket/items/"), "items", "exactly one"),
        (lambda d: d.update(items={}), "items", "exactly one"),
        (lambda d: d["items"].update(count=0), "items.count", "greater than or equal to 1"),
        (lambda d: d.update(min_items_per_child=10, max_items_per_child=5), "min_items_per_child", "<="),
        (lambda d: d["queues"][0].update(max_vcpus=1), "queues[0].max_vcpus", "no child could ever run"),
        (
            lambda d: d["job"].update(environment={"MLCP_ITEM_COUNT": "3"}),
            "job.environment.MLCP_ITEM_COUNT",
            "reserved",
        ),
        (lambda d: d.update(queues=[]), "queues", "at least 1"),
        (lambda d: d.update(child_timeout_seconds=30), "child_timeout_seconds", "greater than or equal to 60"),
        (lambda d: d.update(retry={"attempts": 11}), "retry.attempts", "less than or equal to 10"),
        (lambda d: d.update(resize={"min_vcpus": 9, "max_vcpus": 8}), "resize.min_vcpus", "<="),
        (lambda d: d.update(surprise=1), "surprise", "Extra inputs"),
    ],
)
def test_each_rule_names_its_field(change: Any, field: str, words: str) -> None:
    doc = _doc()
    if "max_vcpus" in field:
        doc["job"]["vcpus"] = 2
    change(doc)
    with pytest.raises(BatchSpecInvalid) as exc:
        parse_batch_spec(doc)
    messages = {str(e.field): e.message for e in exc.value.errors}
    assert field in messages, messages
    assert words in messages[field]


def test_yaml_that_is_not_a_mapping_is_rejected() -> None:
    with pytest.raises(BatchSpecInvalid) as exc:
        parse_batch_spec("- a\n- b\n")
    assert "mapping" in exc.value.errors[0].message
    with pytest.raises(BatchSpecInvalid):
        parse_batch_spec("a: [unclosed")


def test_committed_json_schema_matches_the_models() -> None:
    committed = json.loads(SCHEMA_FILE.read_text())
    assert committed == json.loads(batch_spec_schema_text()), (
        f"{SCHEMA_FILE.relative_to(ROOT)} is out of date with mlcp.batch.spec; run `make schema` and commit it"
    )


def test_json_schema_forbids_unknown_fields() -> None:
    schema = batch_spec_json_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"name", "items", "job", "queues"}

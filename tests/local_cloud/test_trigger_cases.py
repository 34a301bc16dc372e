"""Trigger cases in the local cloud (real template, rules, handlers, state machine): the version race of
tests/data/cases/events/manifest-two-versions-{a,b}.json, and a key that S3 delivers URL-encoded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlcp_cli.local.cloud import EXAMPLES, LocalCloud

CASES = Path(__file__).resolve().parent.parent / "data" / "cases" / "events"


def case(name: str, bucket: str, version_id: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((CASES / f"{name}.json").read_text())
    event["detail"]["bucket"]["name"] = bucket
    event["resources"] = [f"arn:aws:s3:::{bucket}"]
    event["detail"]["object"]["version-id"] = version_id
    return event


@contextmanager
def rule_disabled(cloud: LocalCloud, key_fragment: str) -> Iterator[None]:
    """Hold back the automatic deliveries of the rule whose pattern names ``key_fragment``."""
    events = cloud.client("events")
    names = [r["Name"] for r in events.list_rules()["Rules"] if key_fragment in r.get("EventPattern", "")]
    assert len(names) == 1, names
    events.disable_rule(Name=names[0])
    try:
        yield
    finally:
        events.enable_rule(Name=names[0])


def upload_channel_data(cloud: LocalCloud, prefix: str) -> None:
    data = EXAMPLES / "datasets" / "churn"
    for file in sorted(p for p in data.rglob("*") if p.is_file() and p.name != "manifest.json"):
        cloud.upload(f"{prefix}/{file.relative_to(data).as_posix()}", file.read_bytes())


def test_two_versions_delivered_out_of_order_each_run_reads_its_own(cloud: LocalCloud) -> None:
    key = "datasets/churn/hv-2v/manifest.json"
    base = f"s3://{cloud.bucket}/datasets/churn/hv-2v"
    upload_channel_data(cloud, "datasets/churn/hv-2v")
    upload_channel_data(cloud, "datasets/churn/hv-2v/b")
    with rule_disabled(cloud, "datasets/"):
        version_a = cloud.upload(key, json.dumps({"description": "A"}))
        version_b = cloud.upload(
            key, json.dumps({"description": "B", "channels": {"validation": f"{base}/b/validation/"}})
        )
    assert cloud.settle() is not None
    before = {e["executionArn"] for e in cloud.executions()}
    start_run = cloud.stack.physical["StartRunFunction"]

    for event in (
        case("manifest-two-versions-b", cloud.bucket, version_b),
        case("manifest-two-versions-a", cloud.bucket, version_a),
    ):
        cloud.client("lambda").invoke(FunctionName=start_run, InvocationType="Event", Payload=json.dumps(event))
    settled = [e for e in cloud.settle() if e["executionArn"] not in before]

    assert len(settled) == 2
    runs = {
        r["dataset_object"]["version_id"]: r for r in cloud.runs() if (r.get("dataset_object") or {}).get("key") == key
    }
    assert set(runs) == {version_a, version_b}
    assert runs[version_a]["channels"]["validation"] == f"{base}/validation/"  # A's manifest: the default channels
    assert runs[version_b]["channels"]["validation"] == f"{base}/b/validation/"
    assert {r["status"] for r in runs.values()} == {"SUCCEEDED"}


def test_a_key_with_a_space_runs_the_whole_pipeline(cloud: LocalCloud) -> None:
    """The local cloud delivers keys URL-encoded (hv+space+2026): the handler decodes them."""
    before = {e["executionArn"] for e in cloud.executions()}
    cloud.upload_dataset("churn", "hv space 2026")
    settled = [e for e in cloud.settle() if e["executionArn"] not in before]

    assert [e["status"] for e in settled] == ["SUCCEEDED"]
    records = [r for r in cloud.runs() if r.get("dataset_version") == "hv space 2026"]
    assert len(records) == 1
    assert records[0]["dataset_object"]["key"] == "datasets/churn/hv space 2026/manifest.json"
    assert cloud.dead_letters() == []

"""Guards of s3_eventbridge_events, the fixes of cli/mlcp_cli/local/patches/s3.py: each test shows the gap on plain
moto, then the AWS behaviour with the fix (test_install.py says how the guards are organised).
"""

from __future__ import annotations

import re

from tests.local_cloud.patches.support import (
    ISO_S,
    Sandbox,
)


# --- s3_eventbridge_events ---------------------------------------------------------------------------------------
def test_s3_eventbridge_events_sequencer(box: Sandbox) -> None:
    s3 = box.client("s3")
    s3.create_bucket(Bucket="data-bucket")
    s3.put_bucket_notification_configuration(
        Bucket="data-bucket", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    pattern = {"source": ["aws.s3"], "detail-type": ["Object Created"]}
    plain_url, plain_queue = box.queue("plain-s3")
    box.rule("s3", pattern, {"Id": "queue", "Arn": plain_queue})
    s3.put_object(Bucket="data-bucket", Key="k", Body=b"1")
    s3.put_object(Bucket="data-bucket", Key="k", Body=b"22")
    plain = [m["body"]["detail"]["object"]["sequencer"] for m in box.messages(plain_url, count=2)]
    assert plain == ["617f08299329d189", "617f08299329d189"]  # moto: a constant

    box.client("events").remove_targets(Rule="s3", Ids=["queue"])
    url, _ = box.queue("s3")
    forwarder = box.function("forwarder", {"QUEUE_URL": url})
    box.client("events").put_targets(Rule="s3", Targets=[{"Id": "lambda", "Arn": forwarder}])
    box.activate()
    s3.put_object(Bucket="data-bucket", Key="k", Body=b"1")
    s3.put_object(Bucket="data-bucket", Key="k", Body=b"22")
    events = sorted(
        (m["body"]["event"] for m in box.messages(url, count=2)), key=lambda e: e["detail"]["object"]["size"]
    )
    assert [e["detail"]["object"]["size"] for e in events] == [1, 2]
    first, second = (e["detail"]["object"]["sequencer"] for e in events)
    assert re.fullmatch(r"[0-9A-F]+", first)
    assert re.fullmatch(r"[0-9A-F]+", second)
    assert len(first) == len(second)
    assert first < second  # later events on a key have greater sequencers (S3: compare as equal-length strings)
    for event in events:
        assert event["source"] == "aws.s3"
        assert event["detail-type"] == "Object Created"
        assert event["resources"] == ["arn:aws:s3:::data-bucket"]
        assert re.fullmatch(ISO_S, event["time"]), event["time"]
        assert event["detail"]["bucket"] == {"name": "data-bucket"}
        assert event["detail"]["object"]["key"] == "k"
        assert event["detail"]["reason"] == "PutObject"


def test_s3_eventbridge_events_encode_keys_and_order_per_key(box: Sandbox) -> None:
    """Keys arrive URL-encoded as S3 documents them (moto: the raw key); sequencers grow per key, not globally."""
    s3 = box.client("s3")
    s3.create_bucket(Bucket="data-bucket")
    s3.put_bucket_notification_configuration(
        Bucket="data-bucket", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    pattern = {"source": ["aws.s3"], "detail-type": ["Object Created"]}
    key = "datasets/churn/hv space: 2026+é/manifest.json"
    plain_url, plain_queue = box.queue("plain-s3-keys")
    box.rule("s3-keys", pattern, {"Id": "queue", "Arn": plain_queue})
    s3.put_object(Bucket="data-bucket", Key=key, Body=b"1")
    assert [m["body"]["detail"]["object"]["key"] for m in box.messages(plain_url, count=1)] == [key]  # moto: raw

    box.client("events").remove_targets(Rule="s3-keys", Ids=["queue"])
    url, _ = box.queue("s3-keys")
    forwarder = box.function("forwarder-keys", {"QUEUE_URL": url})
    box.client("events").put_targets(Rule="s3-keys", Targets=[{"Id": "lambda", "Arn": forwarder}])
    box.activate()
    for name, body in ((key, b"1"), ("a/other", b"22"), (key, b"333"), ("a/other", b"4444")):
        s3.put_object(Bucket="data-bucket", Key=name, Body=body)
    events = sorted(
        (m["body"]["event"] for m in box.messages(url, count=4)), key=lambda e: e["detail"]["object"]["size"]
    )
    keys = [e["detail"]["object"]["key"] for e in events]
    assert keys == [
        "datasets/churn/hv+space%3A+2026%2B%C3%A9/manifest.json",  # space -> +, ":" -> %3A, "+" -> %2B, UTF-8
        "a/other",
        "datasets/churn/hv+space%3A+2026%2B%C3%A9/manifest.json",
        "a/other",
    ]
    sequencers = [e["detail"]["object"]["sequencer"] for e in events]
    assert all(re.fullmatch(r"[0-9A-F]{18}", s) for s in sequencers), sequencers
    assert sequencers[0] < sequencers[2]  # one key: later events have greater sequencers
    assert sequencers[1] < sequencers[3]
    # one counter per key: the events of the other key in between do not advance this key's sequencer
    step = 0x100  # the counter sits above the two trailing hex zeros
    assert int(sequencers[2], 16) - int(sequencers[0], 16) == step
    assert int(sequencers[3], 16) - int(sequencers[1], 16) == step

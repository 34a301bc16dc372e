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

"""Guards of alarm_state_events, the fixes of cli/mlcp_cli/local/patches/cloudwatch.py: each test shows the gap on plain
moto, then the AWS behaviour with the fix (test_install.py says how the guards are organised).
"""

from __future__ import annotations

from tests.local_cloud.patches.support import (
    Sandbox,
)


# --- alarm_state_events ------------------------------------------------------------------------------------------
def test_alarm_state_events_on_change_of_state(box: Sandbox) -> None:
    cloudwatch = box.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="errors",
        MetricName="Errors",
        Namespace="mlcp",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        Dimensions=[{"Name": "Stage", "Value": "tune"}],
    )
    plain_url, plain_queue = box.queue("plain-alarms")
    box.rule("alarms", {"source": ["aws.cloudwatch"]}, {"Id": "queue", "Arn": plain_queue})
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="plain")
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue="OK", StateReason="back to normal")
    assert box.messages(plain_url, count=0) == []  # moto: no event

    box.client("events").remove_targets(Rule="alarms", Ids=["queue"])
    url, _ = box.queue("alarms")
    forwarder = box.function("forwarder", {"QUEUE_URL": url})
    box.client("events").put_targets(Rule="alarms", Targets=[{"Id": "lambda", "Arn": forwarder}])
    box.activate()
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="threshold crossed")
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="still crossed")  # no change
    (alarm_event,) = [m["body"]["event"] for m in box.messages(url, count=1)]
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue="OK", StateReason="recovered")
    (ok_event,) = [m["body"]["event"] for m in box.messages(url, count=1)]

    alarm_arn = cloudwatch.describe_alarms(AlarmNames=["errors"])["MetricAlarms"][0]["AlarmArn"]
    for event in (alarm_event, ok_event):
        assert event["source"] == "aws.cloudwatch"
        assert event["detail-type"] == "CloudWatch Alarm State Change"
        assert event["resources"] == [alarm_arn]
        assert event["detail"]["alarmName"] == "errors"
        metric = event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]
        assert metric == {"namespace": "mlcp", "name": "Errors", "dimensions": {"Stage": "tune"}}
    assert alarm_event["detail"]["state"]["value"] == "ALARM"
    assert alarm_event["detail"]["state"]["reason"] == "threshold crossed"
    assert alarm_event["detail"]["previousState"]["value"] == "OK"
    assert alarm_event["detail"]["previousState"]["reason"] == "back to normal"
    assert ok_event["detail"]["state"]["value"] == "OK"
    assert ok_event["detail"]["state"]["reason"] == "recovered"
    assert ok_event["detail"]["previousState"]["value"] == "ALARM"
    assert ok_event["detail"]["previousState"]["reason"] == "still crossed"
    assert [r["rule"] for r in box.context.delivered] == ["alarms", "alarms"]

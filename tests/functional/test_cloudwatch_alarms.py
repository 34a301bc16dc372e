"""The CloudWatch adapter of the scaling controller: alarm states, and for tracking rules the latest data point and
the level of the alarm's evaluation range (GetMetricData over EvaluationPeriods + 2 periods)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.stub import ANY, Stubber

from mlcp.aws.cloudwatch import CloudWatchAlarms

SINCE = datetime(2026, 11, 30, 8, tzinfo=UTC)


def _alarm(name: str, comparison: str, periods: int, needed: int) -> dict[str, Any]:
    return {
        "AlarmName": name, "StateValue": "ALARM", "StateUpdatedTimestamp": SINCE, "MetricName": "node_gpu_utilization",
        "Namespace": "ContainerInsights", "Period": 60, "EvaluationPeriods": periods, "DatapointsToAlarm": needed,
        "Statistic": "Average", "ComparisonOperator": comparison, "Threshold": 85.0,
    }  # fmt: skip


QUERY = {"MetricDataQueries": ANY, "StartTime": ANY, "EndTime": ANY, "ScanBy": "TimestampDescending"}
TYPES = ["MetricAlarm", "CompositeAlarm"]


def _values(values: list[float]) -> dict[str, Any]:
    return {"MetricDataResults": [{"Id": "m1", "Label": "m1", "Values": values, "StatusCode": "Complete"}]}


def test_tracked_alarms_carry_the_latest_point_and_the_level_of_their_range() -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    high = _alarm("mlcp-scaling-t-high", "GreaterThanThreshold", 3, 3)
    low = _alarm("mlcp-scaling-t-low", "LessThanThreshold", 4, 4)
    with Stubber(cloudwatch) as stub:
        stub.add_response(
            "describe_alarms",
            {"MetricAlarms": [high, low], "CompositeAlarms": []},
            {"AlarmNames": ["mlcp-scaling-t-high", "mlcp-scaling-t-low"], "AlarmTypes": TYPES},
        )
        # Newest first; one point more than the range (a late one): only the newest EvaluationPeriods count.
        stub.add_response("get_metric_data", _values([120.0, 91.0, 96.0, 40.0]), QUERY)
        stub.add_response("get_metric_data", _values([50.0, 70.0, 64.0, 60.0, 99.0]), QUERY)
        found = CloudWatchAlarms(cloudwatch).describe_alarms(
            ["mlcp-scaling-t-high", "mlcp-scaling-t-low"], values_for=["mlcp-scaling-t-high", "mlcp-scaling-t-low"]
        )
    assert found["mlcp-scaling-t-high"] == {"state": "ALARM", "since": SINCE, "value": 120.0, "level": 91.0}
    assert found["mlcp-scaling-t-low"] == {"state": "ALARM", "since": SINCE, "value": 50.0, "level": 70.0}


def test_an_untracked_alarm_or_one_without_points_has_no_level() -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    with Stubber(cloudwatch) as stub:
        stub.add_response(
            "describe_alarms",
            {
                "MetricAlarms": [
                    _alarm("mlcp-scaling-t-high", "GreaterThanThreshold", 3, 2),
                    _alarm("mlcp-scaling-t-idle", "LessThanThreshold", 3, 3),
                ]
            },
            {"AlarmNames": ["mlcp-scaling-t-high", "mlcp-scaling-t-idle"], "AlarmTypes": TYPES},
        )
        stub.add_response("get_metric_data", _values([]), QUERY)
        found = CloudWatchAlarms(cloudwatch).describe_alarms(
            ["mlcp-scaling-t-high", "mlcp-scaling-t-idle"], values_for=["mlcp-scaling-t-high"]
        )
    assert found["mlcp-scaling-t-high"] == {"state": "ALARM", "since": SINCE, "value": None, "level": None}
    assert found["mlcp-scaling-t-idle"] == {"state": "ALARM", "since": SINCE}

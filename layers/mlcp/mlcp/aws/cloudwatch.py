"""CloudWatch adapter: the current state of the scaling policy's alarms (DescribeAlarms)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from mlcp.aws.clients import client
from mlcp.scaling.decide import sustained_level

# DescribeAlarms takes at most 100 AlarmNames per call (botocore's service model, AlarmNames "max": 100;
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html).
DESCRIBE_ALARMS_MAX_NAMES = 100


class CloudWatchAlarms:
    def __init__(self, cloudwatch: Any | None = None) -> None:
        self._cloudwatch = cloudwatch

    @property
    def cloudwatch(self) -> Any:
        if self._cloudwatch is None:
            self._cloudwatch = client("cloudwatch")
        return self._cloudwatch

    def describe_alarms(self, names: Iterable[str], values_for: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
        """{alarm name: {"state": StateValue, "since": StateUpdatedTimestamp[, "value": ..., "level": ...]}} of the
        named metric and composite alarms that exist (an unknown name is absent), in batches of 100 names, following
        NextToken; for the alarms in ``values_for`` also their metric's latest data point ("value") and the level
        their evaluation range held ("level", GetMetricData, :func:`mlcp.scaling.decide.sustained_level`)."""
        tracked = set(values_for)
        wanted = sorted(set(names))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), DESCRIBE_ALARMS_MAX_NAMES):
            batch = wanted[start : start + DESCRIBE_ALARMS_MAX_NAMES]
            pages = self.cloudwatch.get_paginator("describe_alarms").paginate(
                AlarmNames=batch, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
            )
            for page in pages:
                for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                    found[alarm["AlarmName"]] = {
                        "state": alarm["StateValue"],
                        "since": alarm.get("StateUpdatedTimestamp"),
                    }
                    if alarm["AlarmName"] in tracked and alarm.get("MetricName"):
                        found[alarm["AlarmName"]].update(self._recent(alarm))
        return found

    def _recent(self, alarm: dict[str, Any]) -> dict[str, float | None]:
        """{"value": the newest data point, "level": the level of the last EvaluationPeriods data points} of a
        single-metric alarm's metric (None: no data), read over EvaluationPeriods + 2 periods (a late point)."""
        period = int(alarm.get("Period") or 60)
        periods = int(alarm.get("EvaluationPeriods") or 1)
        end = dt.datetime.now(dt.UTC)
        response = self.cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "m1",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": alarm["Namespace"],
                            "MetricName": alarm["MetricName"],
                            "Dimensions": alarm.get("Dimensions") or [],
                        },
                        "Period": period,
                        "Stat": alarm.get("Statistic") or "Average",
                    },
                }
            ],
            StartTime=end - dt.timedelta(seconds=(periods + 2) * period),
            EndTime=end,
            ScanBy="TimestampDescending",
        )
        values = [float(v) for v in (response.get("MetricDataResults") or [{}])[0].get("Values") or []][:periods]
        needed = int(alarm.get("DatapointsToAlarm") or periods)
        return {
            "value": values[0] if values else None,
            "level": sustained_level(values, needed, str(alarm.get("ComparisonOperator") or "")),
        }

"""``alarm_state_events``: SetAlarmState emits "CloudWatch Alarm State Change" (moto: nothing).

The product reacts to its alarms through EventBridge rules; moto changes the alarm's state but emits no event. With
the fix a change of state (only a change, as AWS) emits the event with the alarm's state, previous state and metric
configuration through :func:`~mlcp_cli.local.patches.events.put_event`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from moto.cloudwatch.models import CloudWatchBackend

from mlcp_cli.local.patches.common import iso
from mlcp_cli.local.patches.context import active
from mlcp_cli.local.patches.events import put_event


def _metrics(alarm: Any) -> list[dict[str, Any]]:
    if not alarm.metric_name:
        return []
    return [
        {
            "id": "m1",
            "metricStat": {
                "metric": {
                    "namespace": alarm.namespace,
                    "name": alarm.metric_name,
                    "dimensions": {d.name: d.value for d in alarm.dimensions},
                },
                "period": alarm.period,
                "stat": alarm.statistic,
            },
            "returnData": True,
        }
    ]


def _detail(alarm: Any, state: dict[str, str], previous: tuple[str, str | None, Any], now: str) -> dict[str, Any]:
    value, reason, timestamp = previous
    return {
        "alarmName": alarm.name,
        "state": state,
        "previousState": {
            "value": value,
            "reason": reason or "",
            "timestamp": iso(timestamp) if isinstance(timestamp, dt.datetime) else str(timestamp or now),
        },
        "configuration": {"description": alarm.description or "", "metrics": _metrics(alarm)},
    }


def install() -> None:
    original = CloudWatchBackend.set_alarm_state

    def set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        alarm = self.alarms.get(alarm_name)
        previous = (alarm.state_value, alarm.state_reason, alarm.state_updated_timestamp) if alarm else None
        original(self, alarm_name, reason, reason_data, state_value)
        context = active()
        if context is None or previous is None or previous[0] == state_value:
            return  # AWS emits the event on a change of state only
        alarm = self.alarms[alarm_name]
        now = context.clock.now().strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        state = {"value": state_value, "reason": reason, "reasonData": reason_data or "{}", "timestamp": now}
        put_event(
            "aws.cloudwatch",
            "CloudWatch Alarm State Change",
            _detail(alarm, state, previous, now),
            [alarm.alarm_arn],
            account=self.account_id,
            region=self.region_name,
        )

    CloudWatchBackend.set_alarm_state = set_alarm_state

"""SNS adapter: notifications."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlcp.aws.clients import client


class SnsNotifier:
    def __init__(self, topic_arn: str, sns: Any | None = None) -> None:
        self.topic_arn = topic_arn
        self._sns = sns

    @property
    def sns(self) -> Any:
        if self._sns is None:
            self._sns = client("sns")
        return self._sns

    def publish(self, subject: str, message: str, attributes: Mapping[str, str]) -> None:
        self.sns.publish(
            TopicArn=self.topic_arn,
            Subject=subject,
            Message=message,
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )

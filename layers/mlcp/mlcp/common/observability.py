"""Powertools for every handler, created once: Logger, Tracer, Metrics, and the core's Meter port on EMF metrics.

The service name and metrics namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE
(template.yaml Globals). Only the handlers (functions/) import this module; the core reports through ``Meter``.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))  # the handlers only call AWS through boto3
metrics = Metrics()


class PowertoolsMeter:
    """mlcp.common.ports.Meter on Powertools Metrics (CloudWatch EMF)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def add(self, name: str, value: float, unit: str) -> None:
        self.metrics.add_metric(name=name, unit=MetricUnit(unit), value=value)


meter = PowertoolsMeter(metrics)

"""The shipped SageMaker price table (``sagemaker_prices.json``: its source URL, date and how it was obtained are
in the file) and the arithmetic of a job's cost. Pure; read once per process.

Prices are On-Demand USD per instance-hour for training and processing jobs, per Region. An instance type or
Region that is not in the table is *unpriced*: :meth:`PriceTable.price` returns None and the cost entry names it
(never a silent 0, never an exception).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class PriceTable:
    source: str
    as_of: str
    currency: str
    regions: dict[str, dict[str, float]] = field(default_factory=dict)
    neo_billed: bool = False

    def price(self, region: str, instance_type: str) -> float | None:
        """USD per instance-hour of ``instance_type`` in ``region``; None when the table has no price for it."""
        return self.regions.get(region, {}).get(instance_type)

    def describe(self, region: str) -> dict[str, str]:
        """The ``price_table`` member of a run's ``cost``: where the prices come from."""
        return {"source": self.source, "as_of": self.as_of, "region": region}


def job_usd(seconds: float, instance_count: int, price_per_hour: float) -> float:
    """seconds x instance count x USD per instance-hour / 3600 (SageMaker bills per second)."""
    return seconds * instance_count * price_per_hour / SECONDS_PER_HOUR


def rounded(usd: float) -> float:
    """Money as stored on the record: 6 decimals (a millionth of a dollar)."""
    return round(usd, 6)


def usd_text(amount: float) -> str:
    """An amount for people: ``$1.23``, ``$0.1586``; below a cent two significant digits (``$0.00021``: the demo's
    jobs run for seconds), and ``$0`` for nothing."""
    if amount == 0:
        return "$0"
    if abs(amount) >= 0.01:
        return f"${amount:,.4f}"
    digits = min(8, 1 - math.floor(math.log10(abs(amount))))  # two significant digits, no exponent
    return f"${amount:.{digits}f}"


def parse_table(document: dict[str, Any]) -> PriceTable:
    regions = {
        str(region): {str(k): float(v) for k, v in prices.items()}
        for region, prices in (document.get("regions") or {}).items()
    }
    return PriceTable(
        source=str(document["source"]),
        as_of=str(document["as_of"]),
        currency=str(document.get("currency", "USD")),
        regions=regions,
        neo_billed=bool((document.get("neo_compilation") or {}).get("billed", False)),
    )


@cache
def sagemaker_prices() -> PriceTable:
    """The table shipped in the layer (mlcp/common/sagemaker_prices.json)."""
    text = resources.files("mlcp.common").joinpath("sagemaker_prices.json").read_text(encoding="utf-8")
    return parse_table(json.loads(text))

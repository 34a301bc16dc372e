"""The spec's ``budget``: the worst case a run of the spec can cost, and the preflight's refusal when it exceeds
``budget.max_usd``. Pure.

Worst case, per stage (every job runs to its ``MaxRuntimeInSeconds``; SageMaker bills a training job at most its
training time, and that stops at MaxRuntimeInSeconds, spot or not:
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StoppingCondition.html):

- augment: 1 processing job x ``augment.max_runtime_seconds`` x ``augment.instance_count`` x price;
- tune: ``tuning.max_jobs`` (Grid: the number of combinations) x ``tuning.training.max_runtime_seconds`` x
  ``tuning.training.instance_count`` x price (managed spot can only lower it);
- compress: the compression training job likewise; a Neo compilation job is 0 (AWS lists no charge for it).

Prices: :mod:`mlcp.common.pricing` (the shipped table) in the stack's Region. An instance type without a price
cannot be proven to fit: a spec with a budget and an unpriced instance type is refused too.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlcp.common.pricing import PriceTable, job_usd
from mlcp.errors import FieldError
from mlcp.training.spec import Neo, PipelineSpec
from mlcp.training.tuning_spec import Strategy


@dataclass(frozen=True)
class StageWorstCase:
    stage: str  # augment | tune | compress
    field: str  # the spec field of its instance type
    instance_type: str
    instance_count: int
    jobs: int
    max_runtime_seconds: int
    price_per_hour: float | None  # None: not in the price table

    @property
    def usd(self) -> float:
        if self.price_per_hour is None:
            return 0.0
        return job_usd(self.jobs * self.max_runtime_seconds, self.instance_count, self.price_per_hour)

    def describe(self) -> str:
        price = f"${self.price_per_hour}/h" if self.price_per_hour is not None else "no price"
        return (
            f"{self.stage} {self.jobs} job(s) x {self.max_runtime_seconds} s x {self.instance_count} "
            f"{self.instance_type} x {price} = ${self.usd:.2f}"
        )


def worst_case(spec: PipelineSpec, table: PriceTable, region: str) -> list[StageWorstCase]:
    """Each stage's worst case (stages that run no priced job, Neo, are left out)."""
    out: list[StageWorstCase] = []
    if spec.augment is not None:
        a = spec.augment
        out.append(
            StageWorstCase(
                "augment",
                "augment.instance_type",
                a.instance_type,
                a.instance_count,
                1,
                a.max_runtime_seconds,
                table.price(region, a.instance_type),
            )
        )
    tuning, training = spec.tuning, spec.tuning.training
    jobs = tuning.parameter_ranges.grid_size() if tuning.strategy is Strategy.GRID else (tuning.max_jobs or 1)
    out.append(
        StageWorstCase(
            "tune",
            "tuning.training.instance_type",
            training.instance_type,
            training.instance_count,
            jobs,
            training.max_runtime_seconds,
            table.price(region, training.instance_type),
        )
    )
    c = spec.compression
    if not isinstance(c, Neo):
        out.append(
            StageWorstCase(
                "compress",
                "compression.instance_type",
                c.instance_type,
                c.instance_count,
                1,
                c.max_runtime_seconds,
                table.price(region, c.instance_type),
            )
        )
    return out


def budget_findings(spec: PipelineSpec, table: PriceTable, region: str) -> list[FieldError]:
    """The ``budget`` field's errors (none without a budget, or when the worst case fits)."""
    if spec.budget is None:
        return []
    cases = worst_case(spec, table, region)
    unpriced = [c for c in cases if c.price_per_hour is None]
    if unpriced:
        return [
            FieldError(
                "budget",
                f"cannot prove the run fits max_usd {spec.budget.max_usd:g}: the price table ({table.source}, "
                f"{table.as_of}) has no price for {c.instance_type} in {region} ({c.field})",
            )
            for c in unpriced
        ]
    total = sum(c.usd for c in cases)
    if total <= spec.budget.max_usd:
        return []
    return [
        FieldError(
            "budget.max_usd",
            f"the worst case ${total:.2f} exceeds the budget ${spec.budget.max_usd:.2f} ({region}, prices of "
            f"{table.as_of}): " + "; ".join(c.describe() for c in cases),
        )
    ]

"""What a training run cost: every SageMaker job it ran, times the shipped price table (mlcp.common.pricing).

The run record's ``cost`` (docs/architecture.md, "Cost per run")::

    {"currency": "USD", "total": 0.1234,
     "stages": {"augment":  {"usd", "jobs", "billable_seconds", "instance_type", "instance_count"},
                "tune":     {"usd", "jobs", "billable_seconds", "training_seconds", "spot_savings_usd", ...},
                "compress": {"usd", "jobs", "billable_seconds", ...}},
     "price_table": {"source", "as_of", "region"},
     "unpriced": ["ml.x in <region>", ...]}          # only when some job had no price: total leaves it out

How each stage is measured:

- tune: every trial of the tuning job (ListTrainingJobsForHyperParameterTuningJob, at most
  :data:`MAX_TRIALS`), each DescribeTrainingJob's ``BillableTimeInSeconds`` x ``ResourceConfig.InstanceCount`` x
  price. With managed spot training the saving is (``TrainingTimeInSeconds`` - ``BillableTimeInSeconds``) x count x
  price (https://docs.aws.amazon.com/sagemaker/latest/dg/model-managed-spot-training.html). A job that reports no
  ``BillableTimeInSeconds`` (it never started, or is still stopping) counts its ``TrainingTimeInSeconds``, else 0.
- augment: DescribeProcessingJob has no billable seconds, so the processing job is counted from
  ``ProcessingStartTime`` to ``ProcessingEndTime`` x ``ProcessingResources.ClusterConfig.InstanceCount`` x price
  (the instances' own provisioning before ProcessingStartTime is not in it).
- compress: the compression training job as a trial; a Neo compilation job is 0 USD (``neo: true``): AWS lists no
  charge for compilation (the price table's ``neo_compilation`` note).

Storage (ML storage volumes, S3), data transfer, Step Functions transitions, Lambda, DynamoDB, CloudWatch and
SNS are not counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from mlcp.common.naming import compilation_job_name
from mlcp.common.pricing import PriceTable, job_usd, rounded, usd_text
from mlcp.training.ports import SageMaker

MAX_TRIALS: Final = 750
"""At most this many trials are described: MaxNumberOfTrainingJobs' upper bound (ResourceLimits, 1..750,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ResourceLimits.html)."""

_STAGES: Final = ("augment", "tune", "compress")


class _Priced:
    """Running sums of one stage's jobs."""

    def __init__(self, table: PriceTable, region: str) -> None:
        self.table, self.region = table, region
        self.usd = 0.0
        self.savings = 0.0
        self.jobs = 0
        self.billable = 0.0
        self.training = 0.0
        self.instance_type = ""
        self.instance_count = 0
        self.unpriced: set[str] = set()

    def add(self, instance_type: str, count: int, billable: float, training: float, spot: bool) -> None:
        self.jobs += 1
        self.billable += billable * count
        self.training += training * count
        self.instance_type = self.instance_type or instance_type
        self.instance_count = self.instance_count or count
        price = self.table.price(self.region, instance_type)
        if price is None:
            self.unpriced.add(instance_type or "(no instance type)")
            return
        self.usd += job_usd(billable, count, price)
        if spot:
            self.savings += job_usd(max(training - billable, 0.0), count, price)

    def entry(self, *, training_seconds: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "usd": rounded(self.usd),
            "jobs": self.jobs,
            "billable_seconds": round(self.billable, 3),
            "instance_type": self.instance_type,
            "instance_count": self.instance_count,
        }
        if training_seconds:
            out["training_seconds"] = round(self.training, 3)
            out["spot_savings_usd"] = rounded(self.savings)
        if self.unpriced:
            out["unpriced"] = sorted(self.unpriced)
        return out


def training_jobs_cost(descriptions: Iterable[Mapping[str, Any]], table: PriceTable, region: str) -> dict[str, Any]:
    """The cost entry of DescribeTrainingJob responses (billable seconds are instance-seconds: x InstanceCount)."""
    sums = _Priced(table, region)
    for d in descriptions:
        resources = d.get("ResourceConfig") or {}
        training = float(d.get("TrainingTimeInSeconds") or 0)
        billable = d.get("BillableTimeInSeconds")
        sums.add(
            str(resources.get("InstanceType") or ""),
            int(resources.get("InstanceCount") or 1),
            float(billable) if billable is not None else training,
            training,
            bool(d.get("EnableManagedSpotTraining")),
        )
    return sums.entry(training_seconds=True)


def processing_job_cost(description: Mapping[str, Any], table: PriceTable, region: str) -> dict[str, Any]:
    """The cost entry of a DescribeProcessingJob response: ProcessingEndTime - ProcessingStartTime (no billable
    seconds in the response) x InstanceCount x price; 0 s when it never started or has not ended."""
    cluster = (description.get("ProcessingResources") or {}).get("ClusterConfig") or {}
    start, end = description.get("ProcessingStartTime"), description.get("ProcessingEndTime")
    seconds = (end - start).total_seconds() if isinstance(start, datetime) and isinstance(end, datetime) else 0.0
    sums = _Priced(table, region)
    sums.add(str(cluster.get("InstanceType") or ""), int(cluster.get("InstanceCount") or 1), seconds, seconds, False)
    return sums.entry(training_seconds=False)


def neo_cost(table: PriceTable) -> dict[str, Any]:
    return {"usd": 0.0, "jobs": 1, "billable_seconds": 0.0, "neo": True, "billed": table.neo_billed}


def stage_jobs(record: Mapping[str, Any]) -> dict[str, str]:
    """stage -> the job it ran, from the run record (a skipped stage, or one that named no job, ran none)."""
    out: dict[str, str] = {}
    stages = record.get("stages") or {}
    for name in _STAGES:
        stage = stages.get(name) or {}
        job = stage.get("job_name")
        if job and stage.get("status") != "SKIPPED":
            out[name] = str(job)
    return out


def collect(record: Mapping[str, Any], sagemaker: SageMaker, table: PriceTable, region: str) -> dict[str, Any] | None:
    """The ``cost`` of the run in ``record`` (None: it ran no job). Describes at most 2 + :data:`MAX_TRIALS` jobs
    and lists the tuning job's trials; a stage whose jobs cannot be read (a job that was never created) gets an
    entry with ``error`` instead of failing the caller. Throttling is retried by the client (standard mode)."""
    jobs = stage_jobs(record)
    if not jobs:
        return None
    stages: dict[str, dict[str, Any]] = {}
    for name, job in jobs.items():
        try:
            stages[name] = _stage_cost(name, job, str(record.get("run_id", "")), sagemaker, table=table, region=region)
        except Exception as exc:
            stages[name] = {"usd": 0.0, "jobs": 0, "billable_seconds": 0.0, "error": f"{job}: {exc}"[:500]}
    return summarize(stages, table, region)


def _stage_cost(
    name: str, job: str, run_id: str, sagemaker: SageMaker, *, table: PriceTable, region: str
) -> dict[str, Any]:
    if name == "augment":
        return processing_job_cost(sagemaker.describe_processing_job(job), table, region)
    if name == "compress" and job == compilation_job_name(run_id):
        return neo_cost(table)
    if name == "compress":
        return training_jobs_cost([sagemaker.describe_training_job(job)], table, region)
    trials = sagemaker.list_tuning_trials(job)
    entry = training_jobs_cost(
        (sagemaker.describe_training_job(str(t["TrainingJobName"])) for t in trials[:MAX_TRIALS]), table, region
    )
    if len(trials) > MAX_TRIALS:  # a Random tuning job may run up to 10,000: the rest is not in the sum
        entry["trials_not_counted"] = len(trials) - MAX_TRIALS
    return entry


def summarize(stages: Mapping[str, dict[str, Any]], table: PriceTable, region: str) -> dict[str, Any]:
    """The whole ``cost``: the stages, their total, the table's source, and what had no price."""
    unpriced = sorted({f"{t} in {region}" for s in stages.values() for t in s.get("unpriced", [])})
    cost: dict[str, Any] = {
        "currency": table.currency,
        "total": rounded(sum(float(s["usd"]) for s in stages.values())),
        "stages": dict(stages),
        "price_table": table.describe(region),
    }
    if unpriced:
        cost["unpriced"] = unpriced
    return cost


def cost_line(cost: Mapping[str, Any] | None) -> str:
    """``Cost: $0.0123 (augment $0.0010, tune $0.0100, compress $0.0013)`` for notifications; '' without cost."""
    if not cost:
        return ""
    stages = cost.get("stages") or {}
    parts = ", ".join(f"{name} {usd_text(float(stages[name]['usd']))}" for name in _STAGES if name in stages)
    line = f"Cost: {usd_text(float(cost['total']))} ({parts})"
    if cost.get("unpriced"):
        line += f"; no price for {', '.join(cost['unpriced'])} (not in the total)"
    return line

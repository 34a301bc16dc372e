"""The report's data, shaped for charts and tables: pure functions of the run record (GET .../runs/{run_id}) and
its trials (GET .../runs/{run_id}/trials). No plotting here, no I/O.

SageMaker's words: a tuning job's objective Type is Maximize or Minimize; a range's ScalingType is Auto, Linear,
Logarithmic or ReverseLogarithmic (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ContinuousParameterRange.html).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from mlcp.common.pricing import usd_text

STAGES = ("validate", "augment", "tune", "compress", "gate", "register")
NOT_RECORDED = "not recorded"
DASH = "\u2014"
LOG_SCALES = {"Logarithmic"}  # ReverseLogarithmic (values near 1) has no plotly axis: shown linear


def number(value: Any) -> float | None:
    """A finite float, or None (absent, not a number, NaN/inf)."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def maximize(trials: dict[str, Any]) -> bool:
    """Whether the tuning job maximizes its objective (its Type); Maximize when the job is not known."""
    objective = trials.get("objective") or {}
    return str(objective.get("type") or "Maximize") != "Minimize"


def objective_values(trials: dict[str, Any]) -> list[float | None]:
    """Each trial's final objective value, in creation order (None: it reported none)."""
    return [number((t.get("objective") or {}).get("value")) for t in trials.get("trials") or []]


def best_so_far(values: list[float | None], maximize: bool) -> list[float | None]:
    """The best value among the trials up to each one (None until a trial reported a value)."""
    best: float | None = None
    out: list[float | None] = []
    for value in values:
        if value is not None and (best is None or (value > best if maximize else value < best)):
            best = value
        out.append(best)
    return out


@dataclass(frozen=True)
class ParameterSeries:
    """One tuned hyperparameter against the objective: x (numbers, or strings on a category axis), y."""

    name: str
    axis: str  # "linear" | "log" | "category"
    x: list[Any]
    y: list[float]
    categories: list[str] = field(default_factory=list)


def _range_of(trials: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(r["name"]): r for r in trials.get("parameter_ranges") or []}


def _names(trials: dict[str, Any]) -> list[str]:
    """The tuned hyperparameters: the job's ranges in order, then any other name the trials carry."""
    names = list(_range_of(trials))
    for trial in trials.get("trials") or []:
        names += [n for n in trial.get("hyperparameters") or {} if n not in names]
    return names


def _points(trials: dict[str, Any], name: str) -> list[tuple[str, float]]:
    """(value, objective) of every trial that tuned ``name`` and reported an objective."""
    pairs = zip(trials.get("trials") or [], objective_values(trials), strict=True)
    return [
        (str(params[name]), value)
        for params, value in (((t.get("hyperparameters") or {}), v) for t, v in pairs)
        if name in params and value is not None
    ]


def _series(name: str, spec: dict[str, Any], points: list[tuple[str, float]]) -> ParameterSeries:
    numeric = [number(x) for x, _ in points]
    y = [value for _, value in points]
    if spec.get("type") == "Categorical" or any(n is None for n in numeric):
        order = [str(v) for v in spec.get("values") or []]
        order += sorted({x for x, _ in points} - set(order))
        return ParameterSeries(name, "category", [x for x, _ in points], y, order)
    positive = all(n is not None and n > 0 for n in numeric)
    axis = "log" if spec.get("scaling") in LOG_SCALES and positive else "linear"
    return ParameterSeries(name, axis, numeric, y)


def parameter_series(trials: dict[str, Any]) -> list[ParameterSeries]:
    """Per tuned hyperparameter, its value in every trial that reported an objective. Categorical ranges (or
    values that are not numbers) go on a category axis in the range's order; Logarithmic ranges on a log axis."""
    ranges = _range_of(trials)
    return [_series(name, ranges.get(name) or {}, _points(trials, name)) for name in _names(trials)]


def stage_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's stages in pipeline order: name, status, start, end (ISO 8601), job, detail."""
    stages = record.get("stages") or {}
    rows = []
    for name in [*STAGES, *sorted(set(stages) - set(STAGES))]:
        stage = stages.get(name)
        if not stage:
            continue
        rows.append(
            {
                "stage": name,
                "status": stage.get("status") or "-",
                "started_at": stage.get("started_at"),
                "ended_at": stage.get("ended_at"),
                "job_name": stage.get("job_name"),
                "detail": stage.get("detail"),
            }
        )
    return rows


def compression(record: dict[str, Any]) -> dict[str, float | None] | None:
    """The gate's before/after: model size (bytes) and metric; None when the run has no gate result."""
    gate = record.get("gate") or {}
    keys = ("size_before", "size_after", "metric_before", "metric_after")
    values = {k: number(gate.get(k)) for k in keys}
    return None if all(v is None for v in values.values()) else values


def verdict(record: dict[str, Any]) -> tuple[str, list[str]]:
    """("passed" | "failed" | "not evaluated", the gate's reasons)."""
    gate = record.get("gate")
    if not gate or gate.get("passed") is None:
        return "not evaluated", []
    return ("passed" if gate["passed"] else "failed"), [str(r) for r in gate.get("reasons") or []]


def cost_rows(record: dict[str, Any]) -> tuple[float | None, str, list[tuple[str, float]]]:
    """(total, currency, [(stage, amount)]) of the run record's ``cost``; total None: not recorded."""
    cost = record.get("cost") or {}
    total = number(cost.get("total"))
    stages = [(str(name), number(entry.get("usd")) or 0.0) for name, entry in (cost.get("stages") or {}).items()]
    return total, str(cost.get("currency") or "USD"), stages


def spot_saved(record: dict[str, Any]) -> float:
    """What managed spot training saved over On-Demand, over the run's stages (``spot_savings_usd``)."""
    stages = (record.get("cost") or {}).get("stages") or {}
    return sum(number(entry.get("spot_savings_usd")) or 0.0 for entry in stages.values())


def best_objective(record: dict[str, Any]) -> float | None:
    return number((record.get("best") or {}).get("objective_value"))


def money(amount: float | None, currency: str = "USD") -> str:
    return NOT_RECORDED if amount is None else f"{usd_text(amount)} {currency}"


def clock(value: str | None) -> str:
    """An ISO 8601 time as HH:MM:SS (UTC, as recorded); "-" when absent."""
    if not value:
        return "-"
    _, _, time = str(value).partition("T")
    return time[:8] if len(time) >= 8 else str(value)


def compare_money(amount: float | None, currency: str = "USD") -> str:
    """A compare table's cost cell: the amount, or a dash when the run recorded none."""
    return DASH if amount is None else f"{usd_text(amount)} {currency}"


def size(value: float | None) -> str:
    """Bytes as B, KiB, MiB or GiB."""
    if value is None:
        return "-"
    if abs(value) < 1024:
        return f"{value:,.0f} B"
    for unit in ("KiB", "MiB"):
        value /= 1024
        if abs(value) < 1024:
            return f"{value:,.1f} {unit}"
    return f"{value / 1024:,.1f} GiB"


def latest_per_version(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One run per dataset version: its latest SUCCEEDED run, else (no run of it succeeded) its latest run, so that a
    retrain still running or a failed one never hides the model a version has; versions in the order of their first
    run (oldest first). Runs without a dataset version are left out."""
    by_version: dict[str, list[dict[str, Any]]] = {}
    for run in sorted(runs, key=lambda r: (str(r.get("created_at") or ""), str(r["run_id"]))):
        version = run.get("dataset_version")
        if version:
            by_version.setdefault(str(version), []).append(run)
    picked = []
    for runs_of in by_version.values():
        succeeded = [r for r in runs_of if r.get("status") == "SUCCEEDED"]
        picked.append((succeeded or runs_of)[-1])
    return picked

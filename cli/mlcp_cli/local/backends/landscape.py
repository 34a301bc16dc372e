"""The hyperparameter space of a tuning request and its deterministic objective landscape.

Each tuning request defines a landscape, seeded by what stays the same across runs of one spec (parameter ranges,
objective, static hyperparameters, training image): every tuned numeric hyperparameter is mapped to ``u`` ∈ [0, 1]
along its range (log scale for ``Logarithmic``), gets a centre ``c`` ∈ [0.25, 0.75] and a weight ``w`` ∈
[0.6, 1.4]; every categorical value gets a factor in [0.88, 0.98] (one value per parameter: 1). The quality
``q = exp(-Σ w·(u - c)² / (0.08·Σ w)) · Π factor`` ∈ (0, 1] peaks inside the ranges. The objective metric is
``hi - 0.35·(1 - q)`` with ``hi`` ∈ [0.90, 0.98] for ``Maximize`` and ``lo + 0.6·(1 - q)`` with ``lo`` ∈
[0.05, 0.15] for ``Minimize``; every other metric definition is reported too (names with loss/error/rmse/mae/mse go
down with ``q``, all others go up). Values are rounded to 6 decimals; the same hyperparameters always score the
same. A training job outside any tuning job scores ``q`` from a hash of its hyperparameters.

The training data move the landscape a little: given ``data`` (the channels' S3 key prefixes, so one dataset
version), every centre shifts by up to ±0.08 in ``u``, seeded by the data. Successive dataset versions of one spec
thus peak at nearby but different places, as retraining on new data does: an earlier version's best
hyperparameters are a good start, not the answer (what warm start with ``TransferLearning`` is for).

A model's payload is ``32 KiB + 224 KiB * complexity``; complexity is the mean position in their ranges of the
capacity hyperparameters (depth, layers, units, rounds, trees, …), or of all numeric ones.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from mlcp_cli.local.backends.randomness import clamp, unit_hash

_MIN_PAYLOAD: Final = 32 * 1024
_PAYLOAD_RANGE: Final = 224 * 1024
_CAPACITY_WORDS: Final = (
    "depth",
    "layer",
    "unit",
    "hidden",
    "width",
    "round",
    "tree",
    "estimator",
    "embed",
    "dim",
    "filter",
    "leaves",
    "leaf",
    "neuron",
    "channel",
    "head",
)
_DATA_DRIFT: Final = 0.08  # the largest shift of a centre between data sets, in units of the range
_LOWER_IS_BETTER_WORDS: Final = ("loss", "error", "rmse", "mse", "mae", "mape", "perplexity")


def lower_is_better(metric: str) -> bool:
    name = metric.lower()
    return any(word in name for word in _LOWER_IS_BETTER_WORDS)


def payload_bytes(complexity: float) -> int:
    """The model payload of a training job of ``complexity`` ∈ [0, 1]."""
    return int(_MIN_PAYLOAD + _PAYLOAD_RANGE * complexity)


def metric_names(algorithm: Mapping[str, Any] | None) -> list[str]:
    return [str(m["Name"]) for m in (algorithm or {}).get("MetricDefinitions") or []]


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "Continuous" | "Integer" | "Categorical"
    low: float = 0.0
    high: float = 1.0
    scaling: str = "Auto"
    values: tuple[str, ...] = ()

    @property
    def numeric(self) -> bool:
        return self.kind != "Categorical"

    def _log(self) -> bool:
        return self.scaling == "Logarithmic" and self.low > 0

    def _reverse_log(self) -> bool:
        return self.scaling == "ReverseLogarithmic" and self.high < 1

    def _categorical_unit(self, raw: str) -> float:
        index = self.values.index(raw) if raw in self.values else 0
        return index / (len(self.values) - 1) if len(self.values) > 1 else 0.5

    def unit(self, raw: str) -> float:
        """Position of ``raw`` in the range, in [0, 1] (the space the landscape and the samplers live in)."""
        if not self.numeric:
            return self._categorical_unit(raw)
        try:
            x = float(raw)
        except ValueError:
            return 0.5
        if self.high <= self.low:
            return 0.5
        if self._log():
            u = (math.log(max(x, self.low)) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        elif self._reverse_log():
            top, bottom = math.log(1 - self.low), math.log(1 - self.high)
            u = (top - math.log(max(1 - x, 1 - self.high))) / (top - bottom)
        else:
            u = (x - self.low) / (self.high - self.low)
        return clamp(u)

    def value(self, u: float) -> str:
        """The hyperparameter value (as SageMaker passes it: a string) at position ``u``."""
        u = clamp(u)
        if not self.numeric:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        if self._log():
            x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        elif self._reverse_log():
            top, bottom = math.log(1 - self.low), math.log(1 - self.high)
            x = 1 - math.exp(top - u * (top - bottom))
        else:
            x = self.low + u * (self.high - self.low)
        if self.kind == "Integer":
            return str(int(clamp(round(x), self.low, self.high)))
        return f"{clamp(x, self.low, self.high):.6g}"

    def sample(self, rng: random.Random) -> str:
        if not self.numeric:
            return rng.choice(self.values)
        return self.value(rng.random())


def parse_ranges(ranges: Mapping[str, Any]) -> list[Param]:
    params: list[Param] = []
    for kind in ("Continuous", "Integer"):
        for r in ranges.get(f"{kind}ParameterRanges") or []:
            params.append(
                Param(
                    name=str(r["Name"]),
                    kind=kind,
                    low=float(r["MinValue"]),
                    high=float(r["MaxValue"]),
                    scaling=str(r.get("ScalingType") or "Auto"),
                )
            )
    for r in ranges.get("CategoricalParameterRanges") or []:
        params.append(Param(name=str(r["Name"]), kind="Categorical", values=tuple(str(v) for v in r["Values"])))
    return params


class Landscape:
    """The deterministic objective of a tuning request (module docstring)."""

    def __init__(
        self, seed: str, params: Sequence[Param], objective: str | None, maximize: bool, data: str | None = None
    ) -> None:
        self.seed = seed
        self.data = data
        self.params = list(params)
        self.objective = objective
        self.maximize = maximize

    def _numeric_term(self, p: Param, raw: str | None) -> tuple[float, float]:
        """(weighted squared distance from the parameter's centre, its weight)."""
        u = p.unit(raw) if raw is not None else 0.5
        centre = 0.25 + 0.5 * unit_hash(self.seed, p.name, "centre")
        if self.data is not None:
            centre += _DATA_DRIFT * (2 * unit_hash(self.seed, self.data, p.name, "drift") - 1)
        weight = 0.6 + 0.8 * unit_hash(self.seed, p.name, "weight")
        return weight * (u - centre) ** 2, weight

    def _categorical_factor(self, p: Param, raw: str | None) -> float:
        """1 for the parameter's best value (or no choice), a factor in [0.88, 0.98] for any other."""
        if raw is None or len(p.values) <= 1:
            return 1.0
        best = p.values[int(unit_hash(self.seed, p.name, "best") * len(p.values))]
        return 1.0 if raw == best else 0.88 + 0.1 * unit_hash(self.seed, p.name, raw)

    def quality(self, hyperparameters: Mapping[str, str]) -> float:
        if not self.params:
            return 0.55 + 0.4 * unit_hash(self.seed, "q", json.dumps(dict(hyperparameters), sort_keys=True))
        distance = weights = 0.0
        factor = 1.0
        for p in self.params:
            raw = hyperparameters.get(p.name)
            if p.numeric:
                term, weight = self._numeric_term(p, raw)
                distance += term
                weights += weight
            else:
                factor *= self._categorical_factor(p, raw)
        spread = math.exp(-distance / (0.08 * weights)) if weights else 1.0
        return spread * factor

    def complexity(self, hyperparameters: Mapping[str, str]) -> float:
        numeric = [p for p in self.params if p.numeric and p.name in hyperparameters]
        capacity = [p for p in numeric if any(w in p.name.lower() for w in _CAPACITY_WORDS)]
        chosen = capacity or numeric
        if not chosen:
            return unit_hash(self.seed, "size", json.dumps(dict(hyperparameters), sort_keys=True))
        return sum(p.unit(hyperparameters[p.name]) for p in chosen) / len(chosen)

    def metric(self, name: str, q: float) -> float:
        if name == self.objective:
            lower = not self.maximize
            if lower:
                value = 0.05 + 0.1 * unit_hash(self.seed, "lo") + 0.6 * (1 - q)
            else:
                value = 0.90 + 0.08 * unit_hash(self.seed, "hi") - 0.35 * (1 - q)
        elif lower_is_better(name):
            value = 0.04 + 0.1 * unit_hash(self.seed, name) + 0.5 * (1 - q)
        else:
            value = 0.85 + 0.1 * unit_hash(self.seed, name) - 0.35 * (1 - q)
        return round(value, 6)

    def metrics(self, q: float, names: Iterable[str]) -> dict[str, float]:
        wanted = list(dict.fromkeys([*([self.objective] if self.objective else []), *names]))
        return {name: self.metric(name, q) for name in wanted}

"""Batch planning: how to split N items into an AWS Batch array job, and learning the per-item time from past runs.

The model
    A run has ``N`` items; one item takes ``t`` seconds on the baseline instance family (``t / speed`` on a queue
    whose family is ``speed`` times faster); every child pays a start-up overhead ``o`` (container start, model load)
    before its first item. A queue's usable capacity is ``S = floor(maxvCpus / vCPUs per child)`` concurrent
    children (``maxvCpus`` of the compute environment, or the resize bound). With ``k`` items per child the array has
    ``n = ceil(N / k)`` children (AWS: 2..10,000; ``n = 1`` is submitted as a single, non-array job), children of
    ``d = o + k t`` seconds (the last one shorter), run in ``w = ceil(n / S)`` waves, so the expected makespan is
    ``(w - 1) d + d_last_wave`` and the cost ``(n o + N t) x vCPUs x price per vCPU-second``.

The choice
    Hard constraints: ``min_items_per_child <= k <= max_items_per_child``, ``n <= 10,000``, ``o + k t <=
    child_timeout`` and ``cost <= budget``. Soft: children no longer than ``target_child_seconds`` (relaxed only when
    the hard constraints leave no shorter child, or to fit the budget; the plan's ``notes`` say so). For every wave
    count ``w`` the best ``k`` is the smallest one that fills ``w`` waves, ``ceil(N / (w S))``; the planner evaluates
    those and the bounds, keeps the plans within 1 % of the shortest makespan and takes the one with the fewest
    children (the start-up overhead is not paid needlessly: ten 10 ms items are one job, not ten). With several
    queues, each gets its best plan and the spec's ``cost_weight`` picks one by ``(1 - w) makespan / best makespan
    + w cost / best cost``.

Self-tuning
    After a run, every succeeded child gives a sample ``(stoppedAt - startedAt - o) / items``; the run's estimate is
    their median (robust to stragglers and Spot restarts), and the profile's new per-item time is a log-space blend
    of the old one and the run's, weighted ``m / (m + 2)`` for ``m`` samples, so one run of a few children moves a
    10x-wrong prior most of the way and noise in a single child cannot.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from mlcp.batch.spec import MAX_ARRAY_SIZE, BatchSpec, QueueSpec
from mlcp.errors import FieldError, InputInvalid, PlanInfeasible

MAKESPAN_SLACK = 0.01  # plans within 1 % of the shortest makespan count as equally fast
PRIOR_WEIGHT = 2.0  # pseudo-samples the previous estimate is worth when blending a run's samples in


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)  # built on first use (cold start)


class QueueOption(_Out):
    queue: str
    makespan_seconds: float
    cost_usd: float
    items_per_child: int
    children: int


class BatchPlan(_Out):
    """What to submit: the shard size, the array size (None = a single job), and what to expect."""

    queue: str
    spot: bool
    compute_environment: str | None
    resize_max_vcpus: int | None  # set the compute environment's maxvCpus to this for the run (None: leave it)
    item_count: int
    items_per_child: int
    children: int
    array_size: int | None  # None: one child suffices, submit a non-array job
    slots: int  # children running at once
    waves: int
    child_seconds: float  # expected duration of a full child
    makespan_seconds: float
    cost_usd: float
    lower_bound_seconds: float  # o + t·max(N/S, 1): no plan on this queue can be faster
    per_item_seconds: float
    startup_seconds: float
    target_child_seconds: int | None
    notes: list[str] = Field(default_factory=list)
    alternatives: list[QueueOption] = Field(default_factory=list)


class Profile(_Out):
    """What the planner knows about a job profile (stored per profile in DynamoDB)."""

    profile: Annotated[str, Field(min_length=1)]
    per_item_seconds: Annotated[float, Field(gt=0)]
    startup_seconds: Annotated[float, Field(ge=0)]
    runs: Annotated[int, Field(ge=0)] = 0
    children_observed: Annotated[int, Field(ge=0)] = 0
    last_child_seconds: float | None = None  # median child duration of the last run
    last_target_seconds: float | None = None


@dataclass(frozen=True)
class Problem:
    """The numbers the planner works on (one queue)."""

    item_count: int
    per_item_seconds: float
    startup_seconds: float
    slots: int
    vcpus: float = 1.0
    price_per_vcpu_hour: float = 0.0
    target_child_seconds: float | None = None
    min_items_per_child: int = 1
    max_items_per_child: int | None = None
    child_timeout_seconds: float | None = None
    budget_usd: float | None = None


@dataclass(frozen=True)
class Candidate:
    items_per_child: int
    children: int
    waves: int
    child_seconds: float
    makespan_seconds: float
    cost_usd: float
    notes: tuple[str, ...] = field(default=())


# --- evaluation ---------------------------------------------------------------------------------------------------
def evaluate(p: Problem, k: int) -> Candidate:
    """Expected makespan and cost of ``k`` items per child (module docstring, "The model")."""
    n_items, t, o = p.item_count, p.per_item_seconds, p.startup_seconds
    k = max(1, min(k, n_items))
    n = math.ceil(n_items / k)
    slots = max(1, min(p.slots, n))
    waves = math.ceil(n / slots)
    full = o + k * t
    last_items = n_items - (n - 1) * k
    last = o + last_items * t
    in_last_wave = n - (waves - 1) * slots
    # the short child (the last index) alone in the last wave shortens it; n == 1 is that child alone
    makespan = (waves - 1) * full + (full if in_last_wave >= 2 else last)
    cost = (n * o + n_items * t) * p.vcpus * p.price_per_vcpu_hour / 3600.0
    return Candidate(k, n, waves, full if n > 1 else last, makespan, cost)


def lower_bound(p: Problem) -> float:
    """No split beats one start-up plus the fluid share of the work, or one item's time."""
    return p.startup_seconds + p.per_item_seconds * max(p.item_count / max(1, p.slots), 1.0)


def integer_lower_bound(p: Problem) -> float:
    """The busiest slot processes at least ceil(N/S) whole items and pays at least one start-up."""
    return p.startup_seconds + p.per_item_seconds * math.ceil(p.item_count / max(1, p.slots))


def _check(p: Problem) -> None:
    errors: list[FieldError] = []
    if p.item_count < 1:
        errors.append(FieldError("item_count", f"must be >= 1 (got {p.item_count}); nothing to process"))
    if not (p.per_item_seconds > 0 and math.isfinite(p.per_item_seconds)):
        errors.append(FieldError("per_item_seconds", f"must be a positive number (got {p.per_item_seconds})"))
    if not (p.startup_seconds >= 0 and math.isfinite(p.startup_seconds)):
        errors.append(FieldError("startup_seconds", f"must be >= 0 (got {p.startup_seconds})"))
    if p.slots < 1:
        errors.append(FieldError("max_vcpus", "the capacity does not fit one child (maxvCpus < vCPUs per child)"))
    if p.min_items_per_child < 1:
        errors.append(FieldError("min_items_per_child", "must be >= 1"))
    if p.max_items_per_child is not None and p.max_items_per_child < 1:
        errors.append(FieldError("max_items_per_child", "must be >= 1"))
    elif p.max_items_per_child is not None and p.min_items_per_child > p.max_items_per_child:
        errors.append(FieldError("min_items_per_child", f"must be <= max_items_per_child ({p.max_items_per_child})"))
    if errors:
        raise InputInvalid("batch plan input", errors)


def hard_range(p: Problem) -> tuple[int, int]:
    """The items-per-child range the hard constraints allow; PlanInfeasible names the one that cannot be met."""
    _check(p)
    n_items, t, o = p.item_count, p.per_item_seconds, p.startup_seconds
    by_array = math.ceil(n_items / MAX_ARRAY_SIZE)
    k_lo = min(n_items, max(p.min_items_per_child, by_array))
    k_hi = n_items if p.max_items_per_child is None else min(n_items, p.max_items_per_child)
    if k_hi < by_array:
        raise PlanInfeasible(
            f"{n_items:,} items need at least {by_array:,} items per child to fit AWS Batch's "
            f"{MAX_ARRAY_SIZE:,}-child array limit, but max_items_per_child is {p.max_items_per_child:,}",
            field="max_items_per_child",
        )
    if p.child_timeout_seconds is not None:
        by_timeout = math.floor((p.child_timeout_seconds - o) / t)
        if by_timeout < k_lo:
            raise PlanInfeasible(
                f"a child of {k_lo:,} item(s) needs {o + k_lo * t:,.0f} s (start-up {o:g} s + {t:g} s per item), "
                f"more than child_timeout_seconds ({p.child_timeout_seconds:g})",
                field="child_timeout_seconds",
            )
        k_hi = min(k_hi, by_timeout)
    return k_lo, max(k_lo, k_hi)


def _candidates(p: Problem, k_lo: int, k_hi: int) -> list[Candidate]:
    ks = {k_lo, k_hi}
    n_items, slots = p.item_count, max(1, p.slots)
    waves = 1
    while True:  # the distinct ceil(N / (w S)) over w: O(sqrt(N / S)) steps
        k = -(-n_items // (waves * slots))
        if k < k_lo:
            break
        if k <= k_hi:
            ks.add(k)
        if k == 1:
            break
        waves = max(waves + 1, -(-n_items // ((k - 1) * slots)))
    return [evaluate(p, k) for k in sorted(ks)]


def _pick(cands: Sequence[Candidate]) -> Candidate:
    best = min(c.makespan_seconds for c in cands)
    close = [c for c in cands if c.makespan_seconds <= best * (1 + MAKESPAN_SLACK) + 1e-9]
    return min(close, key=lambda c: (c.children, c.makespan_seconds))


def solve(p: Problem) -> Candidate:
    """The best plan for one queue (module docstring, "The choice")."""
    k_lo, k_hi = hard_range(p)
    notes: list[str] = []
    soft_hi = k_hi
    if p.target_child_seconds is not None:
        by_target = math.floor((p.target_child_seconds - p.startup_seconds) / p.per_item_seconds)
        soft_hi = max(k_lo, min(k_hi, by_target))
        if by_target < k_lo:
            notes.append(
                f"children exceed the target of {p.target_child_seconds:g} s: "
                f"{k_lo:,} item(s) per child is the minimum the constraints allow"
            )
    pool = _candidates(p, k_lo, soft_hi)
    if p.budget_usd is not None:
        affordable = [c for c in pool if c.cost_usd <= p.budget_usd]
        if not affordable and soft_hi < k_hi:
            affordable = [c for c in _candidates(p, soft_hi, k_hi) if c.cost_usd <= p.budget_usd]
            if affordable:
                notes.append("children exceed the target duration to fit the budget")
        if not affordable:
            cheapest = evaluate(p, k_hi)
            raise PlanInfeasible(
                f"the cheapest plan ({cheapest.children:,} children of {cheapest.items_per_child:,} items) costs "
                f"${cheapest.cost_usd:,.2f}, over the budget of ${p.budget_usd:,.2f}",
                field="budget_usd",
            )
        pool = affordable
    chosen = _pick(pool)
    return Candidate(**{**chosen.__dict__, "notes": tuple(notes)})


# --- the spec's plan ----------------------------------------------------------------------------------------------
def _slots(spec: BatchSpec, queue: QueueSpec) -> tuple[int, int]:
    """(usable capacity in vCPUs, concurrent children) for a queue, with the resize bound if the spec has one."""
    resizable = spec.resize is not None and queue.compute_environment is not None
    vcpus = spec.resize.max_vcpus if spec.resize is not None and resizable else queue.max_vcpus
    return vcpus, int(vcpus // spec.job.vcpus)


def problem_for(
    spec: BatchSpec, queue: QueueSpec, item_count: int, per_item_seconds: float, startup_seconds: float
) -> Problem:
    _, slots = _slots(spec, queue)
    return Problem(
        item_count=item_count,
        per_item_seconds=per_item_seconds / queue.speed,
        startup_seconds=startup_seconds,
        slots=slots,
        vcpus=spec.job.vcpus,
        price_per_vcpu_hour=queue.price_per_vcpu_hour,
        target_child_seconds=spec.target_child_seconds,
        min_items_per_child=spec.min_items_per_child,
        max_items_per_child=spec.max_items_per_child,
        child_timeout_seconds=spec.child_timeout_seconds,
        budget_usd=spec.budget_usd,
    )


def make_plan(spec: BatchSpec, item_count: int | None, profile: Profile | None = None) -> BatchPlan:
    """Plan a run of ``spec`` over ``item_count`` items with the profile's estimate (or the spec's prior)."""
    if item_count is None:
        raise InputInvalid(
            "batch plan input",
            [FieldError("items", "the item count is unknown: give items.count, or a manifest/prefix to count")],
        )
    per_item = profile.per_item_seconds if profile is not None else spec.estimate.per_item_seconds
    startup = profile.startup_seconds if profile is not None else spec.estimate.startup_seconds
    solved: list[tuple[QueueSpec, Problem, Candidate]] = []
    failures: list[PlanInfeasible] = []
    for queue in spec.queues:
        problem = problem_for(spec, queue, item_count, per_item, startup)
        try:
            solved.append((queue, problem, solve(problem)))
        except PlanInfeasible as exc:
            failures.append(exc)
    if not solved:
        raise failures[0]
    fastest = min(c.makespan_seconds for _, _, c in solved)
    cheapest = min(c.cost_usd for _, _, c in solved)
    w = spec.cost_weight

    def score(c: Candidate) -> float:
        cost_term = c.cost_usd / cheapest if cheapest > 0 else 1.0
        return (1 - w) * c.makespan_seconds / fastest + w * cost_term

    queue, problem, chosen = min(solved, key=lambda s: score(s[2]))
    resize: int | None = None
    if spec.resize is not None and queue.compute_environment is not None:
        needed = math.ceil(min(chosen.children, problem.slots) * spec.job.vcpus)
        resize = min(spec.resize.max_vcpus, max(spec.resize.min_vcpus, needed))
    return BatchPlan(
        queue=queue.name,
        spot=queue.spot,
        compute_environment=queue.compute_environment,
        resize_max_vcpus=resize,
        item_count=item_count,
        items_per_child=chosen.items_per_child,
        children=chosen.children,
        array_size=chosen.children if chosen.children > 1 else None,
        slots=min(problem.slots, chosen.children),
        waves=chosen.waves,
        child_seconds=round(chosen.child_seconds, 3),
        makespan_seconds=round(chosen.makespan_seconds, 3),
        cost_usd=round(chosen.cost_usd, 6),
        lower_bound_seconds=round(lower_bound(problem), 3),
        per_item_seconds=problem.per_item_seconds,
        startup_seconds=startup,
        target_child_seconds=spec.target_child_seconds,
        notes=list(chosen.notes),
        alternatives=[
            QueueOption(
                queue=q.name,
                makespan_seconds=round(c.makespan_seconds, 3),
                cost_usd=round(c.cost_usd, 6),
                items_per_child=c.items_per_child,
                children=c.children,
            )
            for q, _, c in solved
        ],
    )


def sweep(p: Problem, ks: Iterable[int]) -> list[Candidate]:
    """Makespan and cost against items per child (for the CLI's --plot); ignores the soft target."""
    return [evaluate(p, k) for k in ks]


# --- self-tuning --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChildRun:
    """One child of a finished array job, from DescribeJobs (epoch milliseconds)."""

    index: int
    items: int
    started_at_ms: int | None
    stopped_at_ms: int | None
    succeeded: bool

    @property
    def seconds(self) -> float | None:
        if self.started_at_ms is None or self.stopped_at_ms is None:
            return None
        return max(0.0, (self.stopped_at_ms - self.started_at_ms) / 1000.0)


def items_of(index: int, items_per_child: int, item_count: int) -> range:
    """The shard contract: child ``index`` processes items ``[index·k, min((index+1)·k, N))``."""
    start = index * items_per_child
    return range(min(start, item_count), min(start + items_per_child, item_count))


def run_estimate(children: Sequence[ChildRun], startup_seconds: float) -> tuple[float, int] | None:
    """(median per-item seconds, samples) over the succeeded children, or None without a usable child."""
    samples: list[float] = []
    for child in children:
        seconds = child.seconds
        if not child.succeeded or seconds is None or child.items < 1:
            continue
        work = max(seconds - startup_seconds, 0.05 * seconds)
        if work > 0:
            samples.append(work / child.items)
    if not samples:
        return None
    return statistics.median(samples), len(samples)


def update_profile(profile: Profile, children: Sequence[ChildRun], target_seconds: float | None = None) -> Profile:
    """Blend a run's children into the profile (module docstring, "Self-tuning")."""
    estimate = run_estimate(children, profile.startup_seconds)
    durations = [s for c in children if c.succeeded and (s := c.seconds) is not None]
    last = statistics.median(durations) if durations else None
    if estimate is None:
        return profile.model_copy(update={"runs": profile.runs + 1, "last_child_seconds": last})
    observed, samples = estimate
    weight = samples / (samples + PRIOR_WEIGHT)
    blended = math.exp(weight * math.log(observed) + (1 - weight) * math.log(profile.per_item_seconds))
    return profile.model_copy(
        update={
            "per_item_seconds": blended,
            "runs": profile.runs + 1,
            "children_observed": profile.children_observed + samples,
            "last_child_seconds": last,
            "last_target_seconds": target_seconds,
        }
    )


def initial_profile(spec: BatchSpec) -> Profile:
    return Profile(
        profile=spec.name,
        per_item_seconds=spec.estimate.per_item_seconds,
        startup_seconds=spec.estimate.startup_seconds,
    )

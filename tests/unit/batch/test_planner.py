"""The batch planner and the self-tuning estimate (mlcp.batch.planner): constraints always hold, edge counts, errors."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcp.batch.planner import (
    Candidate,
    ChildRun,
    Problem,
    Profile,
    evaluate,
    initial_profile,
    integer_lower_bound,
    items_of,
    lower_bound,
    make_plan,
    run_estimate,
    solve,
    update_profile,
)
from mlcp.batch.spec import MAX_ARRAY_SIZE, BatchSpec, parse_batch_spec
from mlcp.errors import InputInvalid, PlanInfeasible
from tests.support import ROOT

EXAMPLE = ROOT / "examples" / "batch" / "batch.yaml"


def _spec(**overrides: object) -> BatchSpec:
    doc: dict[str, object] = {
        "name": "scoring",
        "items": {"count": 1000},
        "job": {"definition": "worker", "vcpus": 1},
        "queues": [{"name": "spot", "max_vcpus": 16, "price_per_vcpu_hour": 0.01, "spot": True}],
        "estimate": {"per_item_seconds": 1.0, "startup_seconds": 30},
    }
    doc.update(overrides)
    return BatchSpec.model_validate(doc)


problems = st.builds(
    Problem,
    item_count=st.integers(1, 20_000_000),
    per_item_seconds=st.floats(0.001, 60, allow_nan=False),
    startup_seconds=st.floats(0, 300, allow_nan=False),
    slots=st.integers(1, 20_000),
    vcpus=st.sampled_from([0.25, 1.0, 4.0]),
    price_per_vcpu_hour=st.floats(0, 1),
    target_child_seconds=st.one_of(st.none(), st.integers(60, 3600).map(float)),
    min_items_per_child=st.integers(1, 5000),
    max_items_per_child=st.one_of(st.none(), st.integers(1, 10_000_000)),
)


def _outcome(p: Problem) -> Candidate | InputInvalid | PlanInfeasible:
    try:
        return solve(p)
    except (InputInvalid, PlanInfeasible) as exc:
        return exc


# --- properties ---------------------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(problems)
def test_every_plan_honours_the_hard_constraints(p: Problem) -> None:
    # GIVEN any problem WHEN it is planned THEN the plan fits AWS Batch and the constraints, or says why not
    c = _outcome(p)
    if isinstance(c, InputInvalid):
        assert p.max_items_per_child is not None
        assert p.max_items_per_child < p.min_items_per_child
        assert c.errors[0].field == "min_items_per_child"
        return
    if isinstance(c, PlanInfeasible):
        assert p.max_items_per_child is not None
        assert p.max_items_per_child * MAX_ARRAY_SIZE < p.item_count
        assert "max_items_per_child" in c.reason
        return
    assert 1 <= c.children <= MAX_ARRAY_SIZE
    assert c.children == math.ceil(p.item_count / c.items_per_child)
    assert c.items_per_child >= min(p.min_items_per_child, p.item_count)
    if p.max_items_per_child is not None:
        assert c.items_per_child <= p.max_items_per_child
    assert c.makespan_seconds >= integer_lower_bound(p) - 1e-6
    assert c.makespan_seconds >= lower_bound(p) - 1e-6
    if p.target_child_seconds is not None and not c.notes:
        assert c.child_seconds <= p.target_child_seconds + 1e-6 or c.items_per_child == max(
            1, min(p.min_items_per_child, p.item_count), math.ceil(p.item_count / MAX_ARRAY_SIZE)
        )


@settings(max_examples=200, deadline=None)
@given(problems.filter(lambda p: p.target_child_seconds is None and p.max_items_per_child is None))
def test_without_a_target_the_plan_reaches_the_integer_bound_when_capacity_allows(p: Problem) -> None:
    c = solve(p)
    if p.min_items_per_child == 1 and p.slots <= MAX_ARRAY_SIZE:
        assert c.makespan_seconds <= integer_lower_bound(p) * 1.01 + 1e-6


@settings(max_examples=100, deadline=None)
@given(problems, st.floats(0.01, 100))
def test_a_budget_is_never_exceeded(p: Problem, budget: float) -> None:
    p = Problem(**{**p.__dict__, "budget_usd": budget})
    c = _outcome(p)
    if isinstance(c, InputInvalid):
        assert p.max_items_per_child is not None
        assert p.max_items_per_child < p.min_items_per_child
        return
    if isinstance(c, PlanInfeasible):
        assert "budget" in c.reason or "max_items_per_child" in c.reason
        return
    assert c.cost_usd <= budget + 1e-9


@given(st.integers(1, 300), st.integers(1, 300), st.integers(0, 1000))
def test_shards_cover_every_item_once(k: int, children: int, extra: int) -> None:
    n = (children - 1) * k + 1 + extra % k
    covered = [i for index in range(math.ceil(n / k)) for i in items_of(index, k, n)]
    assert covered == list(range(n))


# --- edge counts --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("items", "array_size", "per_child"),
    [(1, None, 1), (2, 2, 1), (10_000, 48, 209), (10_000_001, 9991, 1001)],
)
def test_edge_item_counts(items: int, array_size: int | None, per_child: int) -> None:
    plan = make_plan(_spec(), items)
    assert plan.array_size == array_size
    assert plan.items_per_child == per_child
    assert plan.children == math.ceil(items / per_child)


def test_without_a_target_one_wave_fills_the_capacity() -> None:
    plan = make_plan(_spec(target_child_seconds=None), 10_000_001)
    assert (plan.children, plan.items_per_child, plan.waves) == (16, 625_001, 1)
    assert plan.makespan_seconds == pytest.approx(plan.lower_bound_seconds, rel=1e-5)


def test_one_item_is_a_single_non_array_job() -> None:
    plan = make_plan(_spec(), 1)
    assert (plan.array_size, plan.children, plan.waves) == (None, 1, 1)
    assert plan.makespan_seconds == pytest.approx(31.0)


def test_tiny_items_do_not_pay_start_up_overhead_needlessly() -> None:
    # ten 10 ms items: one job of 30.1 s beats ten jobs of 30.01 s by cost at the same speed
    plan = make_plan(_spec(estimate={"per_item_seconds": 0.01, "startup_seconds": 30}), 10)
    assert plan.children == 1


def test_the_target_child_duration_bounds_children_in_multi_wave_runs() -> None:
    plan = make_plan(_spec(), 100_000)
    assert plan.child_seconds <= 240
    assert plan.child_seconds >= 0.9 * 240
    assert plan.waves > 1


def test_the_target_is_relaxed_with_a_note_when_the_array_limit_forces_longer_children() -> None:
    plan = make_plan(_spec(), 10_000_001)
    assert plan.items_per_child == 1001
    assert plan.notes
    assert "exceed the target" in plan.notes[0]


# --- errors -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("count", [0, -5])
def test_zero_or_negative_counts_are_field_errors(count: int) -> None:
    with pytest.raises(InputInvalid) as exc:
        make_plan(_spec(), count)
    assert exc.value.errors[0].field == "item_count"


def test_an_unknown_count_is_a_field_error() -> None:
    with pytest.raises(InputInvalid) as exc:
        make_plan(_spec(), None)
    assert exc.value.errors[0].field == "items"
    assert "unknown" in exc.value.errors[0].message


def test_impossible_max_items_names_the_array_limit() -> None:
    with pytest.raises(PlanInfeasible) as exc:
        make_plan(_spec(max_items_per_child=10), 200_000)
    assert "10,000-child array limit" in exc.value.reason
    assert exc.value.details["field"] == "max_items_per_child"


def test_impossible_timeout_names_the_timeout() -> None:
    with pytest.raises(PlanInfeasible) as exc:
        make_plan(_spec(child_timeout_seconds=60, min_items_per_child=100), 1000)
    assert "child_timeout_seconds" in exc.value.reason


def test_impossible_budget_names_the_cheapest_plan() -> None:
    with pytest.raises(PlanInfeasible) as exc:
        make_plan(_spec(budget_usd=0.0001), 1_000_000)
    assert "over the budget" in exc.value.reason


def test_bad_problem_numbers_are_field_errors() -> None:
    with pytest.raises(InputInvalid) as exc:
        solve(Problem(item_count=5, per_item_seconds=float("nan"), startup_seconds=-1, slots=0))
    assert {e.field for e in exc.value.errors} == {"per_item_seconds", "startup_seconds", "max_vcpus"}


# --- queue choice and resize --------------------------------------------------------------------------------------
def test_cost_weight_trades_a_fast_on_demand_queue_for_a_cheap_spot_queue() -> None:
    queues = [
        {"name": "spot", "max_vcpus": 16, "price_per_vcpu_hour": 0.01, "spot": True},
        {"name": "ondemand", "max_vcpus": 64, "price_per_vcpu_hour": 0.04},
    ]
    assert make_plan(_spec(queues=queues, cost_weight=0.0), 100_000).queue == "ondemand"
    assert make_plan(_spec(queues=queues, cost_weight=1.0), 100_000).queue == "spot"


def test_a_faster_instance_family_shortens_the_per_item_time() -> None:
    queues = [{"name": "c7g", "max_vcpus": 16, "speed": 2.0}]
    assert make_plan(_spec(queues=queues), 100_000).per_item_seconds == pytest.approx(0.5)


def test_resize_plans_on_the_bound_and_asks_for_what_it_uses() -> None:
    queues = [{"name": "q", "compute_environment": "ce", "max_vcpus": 4}]
    small = make_plan(_spec(queues=queues, resize={"min_vcpus": 2, "max_vcpus": 256}), 10)
    assert small.resize_max_vcpus == 10
    big = make_plan(_spec(queues=queues, resize={"min_vcpus": 2, "max_vcpus": 256}), 1_000_000)
    assert big.resize_max_vcpus == 256
    assert big.slots == 256


def test_the_example_profile_plans() -> None:
    spec = parse_batch_spec(EXAMPLE.read_text(), source=str(EXAMPLE))
    plan = make_plan(spec, 20)
    assert plan.queue == "mlcp-batch-spot"
    assert plan.items_per_child >= 1


# --- self-tuning --------------------------------------------------------------------------------------------------
def _run(profile: Profile, spec: BatchSpec, items: int, true_per_item: float, seed: int) -> tuple[float, Profile]:
    """Simulate a run: children take startup + items x true time x noise; return the median child seconds."""
    plan = make_plan(spec, items, profile)
    rng = random.Random(seed)
    children = []
    for index in range(plan.children):
        count = len(items_of(index, plan.items_per_child, items))
        seconds = profile.startup_seconds + count * true_per_item * rng.uniform(0.9, 1.1)
        children.append(ChildRun(index, count, 0, int(seconds * 1000), succeeded=True))
    updated = update_profile(profile, children, spec.target_child_seconds)
    assert updated.last_child_seconds is not None
    return updated.last_child_seconds, updated


@pytest.mark.parametrize("wrong_by", [10.0, 0.1])
def test_a_prior_ten_times_wrong_converges_to_the_target_by_the_third_run(wrong_by: float) -> None:
    true_per_item = 0.8
    spec = _spec(queues=[{"name": "q", "max_vcpus": 4}], estimate={"per_item_seconds": true_per_item * wrong_by})
    profile = initial_profile(spec)
    durations = []
    for run in range(3):
        seconds, profile = _run(profile, spec, 20_000, true_per_item, seed=run)
        durations.append(seconds)
    assert abs(durations[2] - 240) <= 0.2 * 240, durations
    assert abs(durations[0] - 240) > 0.2 * 240, durations  # the prior was really wrong
    assert profile.runs == 3
    assert profile.per_item_seconds == pytest.approx(true_per_item, rel=0.1)


def test_failed_and_unstarted_children_are_not_samples() -> None:
    children = [
        ChildRun(0, 10, 0, 40_000, succeeded=True),
        ChildRun(1, 10, 0, 1_000, succeeded=False),
        ChildRun(2, 10, None, None, succeeded=False),
        ChildRun(3, 0, 0, 30_000, succeeded=True),
    ]
    assert run_estimate(children, 30) == (1.0, 1)
    assert run_estimate(children[1:], 30) is None


def test_a_run_without_samples_keeps_the_estimate() -> None:
    profile = initial_profile(_spec())
    updated = update_profile(profile, [ChildRun(0, 10, None, None, succeeded=False)])
    assert updated.per_item_seconds == profile.per_item_seconds
    assert updated.runs == 1


def test_evaluate_accounts_for_a_short_last_child_alone_in_its_wave() -> None:
    c = evaluate(Problem(item_count=21, per_item_seconds=1, startup_seconds=10, slots=2), 10)
    assert (c.children, c.waves) == (3, 2)
    assert c.makespan_seconds == 20 + 11

"""The gate between compression and registration: quality kept, size reduced, and nothing registered otherwise."""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mlcp.training import gate
from mlcp.training.context import RunContext
from mlcp.training.payloads import GateResult
from mlcp.training.tuning_spec import ObjectiveType
from tests.unit.builders import COMPRESSED_ARTIFACT, make_best, make_run, neo_spec_data, pruning, spec_data

MAX = ObjectiveType.MAXIMIZE
MIN = ObjectiveType.MINIMIZE


@cache
def gate_run(
    objective: str = "Maximize",
    *,
    absolute: float | None = None,
    relative: float | None = None,
    min_size: float = 0.0,
) -> RunContext:
    """A pruning run whose gate and objective direction are given."""
    rules: dict[str, Any] = {"min_size_reduction": min_size}
    if absolute is not None:
        rules["max_metric_drop_absolute"] = absolute
    if relative is not None:
        rules["max_metric_drop_relative"] = relative
    data = spec_data(compression=pruning(), gate=rules)
    data["tuning"]["objective"]["type"] = objective
    return make_run(data)


@cache
def neo_run(min_size: float = 0.25) -> RunContext:
    data = neo_spec_data()
    data["gate"] = {"min_size_reduction": min_size}
    return make_run(data)


def evaluate(
    run: RunContext,
    before: float,
    after: float | None,
    *,
    size_before: int = 1000,
    size_after: int = 400,
) -> GateResult:
    return gate.evaluate(
        run,
        make_best(run, objective_value=before),
        metric_after=after,
        size_before=size_before,
        size_after=size_after,
        compressed_artifact=COMPRESSED_ARTIFACT,
    )


# --- metric_drop ---------------------------------------------------------------------------------------------
def test_metric_drop_signs() -> None:
    assert gate.metric_drop(MAX, 0.9, 0.8) == pytest.approx(0.1)  # accuracy fell: worse
    assert gate.metric_drop(MAX, 0.8, 0.9) == pytest.approx(-0.1)  # accuracy rose: better
    assert gate.metric_drop(MIN, 0.2, 0.3) == pytest.approx(0.1)  # loss rose: worse
    assert gate.metric_drop(MIN, 0.3, 0.2) == pytest.approx(-0.1)  # loss fell: better
    assert gate.metric_drop(MAX, 0.5, 0.5) == 0
    assert gate.metric_drop(MIN, 0.5, 0.5) == 0


finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


@given(before=finite, after=finite)
def test_metric_drop_is_positive_exactly_when_the_model_got_worse(before: float, after: float) -> None:
    assert gate.metric_drop(MAX, before, after) == before - after
    assert gate.metric_drop(MIN, before, after) == after - before
    assert gate.metric_drop(MAX, before, after) == -gate.metric_drop(MIN, before, after)
    assert (gate.metric_drop(MAX, before, after) > 0) == (after < before)
    assert (gate.metric_drop(MIN, before, after) > 0) == (after > before)


# --- absolute drop -------------------------------------------------------------------------------------------
# Values are exact binary fractions, so "exactly at the limit" is exact in floating point too.
@pytest.mark.parametrize(
    ("objective", "before", "after", "passed"),
    [
        ("Maximize", 0.75, 0.5, True),  # dropped by exactly 0.25
        ("Maximize", 0.75, 0.4375, False),  # dropped by 0.3125
        ("Maximize", 0.75, 0.875, True),  # improved
        ("Minimize", 0.25, 0.5, True),  # loss rose by exactly 0.25
        ("Minimize", 0.25, 0.625, False),  # loss rose by 0.375
        ("Minimize", 0.25, 0.125, True),  # loss fell
    ],
)
def test_absolute_max_drop(objective: str, before: float, after: float, passed: bool) -> None:
    result = evaluate(gate_run(objective, absolute=0.25), before, after)
    assert result.passed is passed
    assert result.metric_drop == gate.metric_drop(ObjectiveType(objective), before, after)
    if passed:
        assert result.reasons == []
    else:
        (reason,) = result.reasons
        assert "validation:auc dropped by" in reason
        assert "allowed 0.25" in reason


def test_no_drop_allowed_passes_an_unchanged_or_better_model() -> None:
    run = gate_run(absolute=0.0)
    assert evaluate(run, 0.9, 0.9).passed
    assert evaluate(run, 0.9, 0.95).passed
    assert not evaluate(run, 0.9, 0.8999).passed


# --- relative drop -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("objective", "before", "after", "passed"),
    [
        ("Maximize", 0.5, 0.375, True),  # 25% worse, exactly the limit
        ("Maximize", 0.5, 0.25, False),  # 50% worse
        ("Maximize", 0.5, 0.75, True),  # better
        ("Minimize", 2.0, 2.5, True),  # loss 25% higher
        ("Minimize", 2.0, 3.0, False),  # loss 50% higher
        ("Minimize", -2.0, -1.5, True),  # negative objective: relative to |before|
        ("Minimize", -2.0, -1.0, False),
    ],
)
def test_relative_max_drop(objective: str, before: float, after: float, passed: bool) -> None:
    result = evaluate(gate_run(objective, relative=0.25), before, after)
    assert result.passed is passed
    if not passed:
        (reason,) = result.reasons
        assert "allowed 25.00%" in reason
        assert "%" in reason.split("dropped by ", 1)[1]


@pytest.mark.parametrize(("after", "passed"), [(0.0, True), (0.25, True), (-0.25, False)])
def test_relative_drop_when_before_is_zero(after: float, passed: bool) -> None:
    # a Maximize objective at 0: no drop or an improvement passes; any drop is an infinite relative drop
    result = evaluate(gate_run(relative=0.5), 0.0, after)
    assert result.passed is passed
    assert len(result.reasons) == (0 if passed else 1)


def test_relative_drop_reason_names_the_numbers() -> None:
    (reason,) = evaluate(gate_run(relative=0.02), 0.9, 0.8).reasons
    assert reason.startswith("validation:auc dropped by 11.11%")
    assert "0.9 -> 0.8" in reason
    assert "allowed 2.00%" in reason


# Decimal limits as users write them: 0.90 -> 0.88 is a drop of exactly 0.02, but 0.9 - 0.88 in binary floating
# point is 0.020000000000000018 > 0.02, so the gate rejects a model that is exactly at the limit, and says
# "dropped by 0.02 ...; allowed 0.02".
@pytest.mark.parametrize(
    ("rules", "before", "after", "size_after"),
    [
        ({"absolute": 0.02}, 0.9, 0.88, 400),
        ({"relative": 0.02}, 0.5, 0.49, 400),
        ({"min_size": 0.1}, 0.9, 0.9, 900),
    ],
    ids=["absolute", "relative", "size"],
)
def test_decimal_limit_exactly_reached_passes(
    rules: dict[str, float], before: float, after: float, size_after: int
) -> None:
    result = evaluate(gate_run(**rules), before, after, size_before=1000, size_after=size_after)
    assert result.passed, result.reasons


# --- size ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("size_after", "passed"), [(500, True), (100, True), (501, False), (1000, False), (1200, False)]
)
def test_min_size_reduction(size_after: int, passed: bool) -> None:
    result = evaluate(gate_run(min_size=0.5), 0.9, 0.9, size_before=1000, size_after=size_after)
    assert result.passed is passed
    assert result.size_reduction == pytest.approx(1 - size_after / 1000)
    if not passed:
        (reason,) = result.reasons
        assert f"(1000 -> {size_after} bytes)" in reason
        assert "required 50.00%" in reason


def test_unknown_original_size_counts_as_no_reduction() -> None:
    result = evaluate(gate_run(min_size=0.5), 0.9, 0.9, size_before=0, size_after=400)
    assert result.size_reduction == 0.0
    assert not result.passed
    assert evaluate(gate_run(min_size=0.0), 0.9, 0.9, size_before=0, size_after=400).passed


sizes = st.integers(min_value=1, max_value=10**12)


@given(
    size_before=sizes,
    size_after=st.integers(min_value=0, max_value=2 * 10**12),
    min_size=st.sampled_from([0.0, 0.1, 0.5, 0.9]),
)
def test_size_reduction_is_one_minus_the_ratio(size_before: int, size_after: int, min_size: float) -> None:
    result = evaluate(gate_run(min_size=min_size), 0.9, 0.9, size_before=size_before, size_after=size_after)
    reduction = 1.0 - size_after / size_before
    assert result.size_reduction == reduction
    assert result.passed is (reduction >= min_size)
    assert (result.size_before, result.size_after) == (size_before, size_after)


# --- missing metric, Neo -------------------------------------------------------------------------------------
@pytest.mark.parametrize("rules", [{"relative": 0.02}, {"absolute": 0.01}])
def test_missing_metric_fails_a_metric_gate(rules: dict[str, float]) -> None:
    result = evaluate(gate_run(**rules), 0.9, None)
    assert not result.passed
    assert result.metric_drop is None
    assert result.registration_request is None
    (reason,) = result.reasons
    assert "reported no value for 'validation:auc'" in reason


def test_missing_metric_without_a_metric_gate_passes_on_size() -> None:
    result = evaluate(gate_run(min_size=0.5), 0.9, None)
    assert result.passed
    assert result.metric_drop is None


def test_neo_passes_on_size_alone() -> None:
    run = neo_run(0.25)
    result = evaluate(run, 0.91, None, size_before=1000, size_after=750)
    assert result.passed, result.reasons
    assert result.metric_after is None
    assert result.registration_request is not None
    description = result.registration_request["ModelPackageDescription"]
    assert description == f"churn run {run.run_id}: neo"
    assert result.registration_request["CustomerMetadataProperties"]["mlcp:objective"] == "validation:auc=0.91"


def test_neo_fails_on_size() -> None:
    result = evaluate(neo_run(0.25), 0.91, None, size_before=1000, size_after=800)
    assert not result.passed
    assert result.registration_request is None
    (reason,) = result.reasons
    assert "size reduced by 20.00%" in reason


def test_both_failures_are_reported() -> None:
    result = evaluate(gate_run(absolute=0.01, min_size=0.5), 0.9, 0.5, size_before=1000, size_after=900)
    assert len(result.reasons) == 2
    assert "dropped by" in result.reasons[0]
    assert "size reduced by" in result.reasons[1]


# --- the result ----------------------------------------------------------------------------------------------
def test_passed_result_carries_a_registration_request() -> None:
    run = gate_run(relative=0.02, min_size=0.5)
    result = evaluate(run, 0.9, 0.895, size_before=4000, size_after=1000)
    assert result.passed
    assert result.objective_metric == "validation:auc"
    assert (result.metric_before, result.metric_after) == (0.9, 0.895)
    assert result.compressed_artifact == COMPRESSED_ARTIFACT
    assert result.registration_request is not None
    assert result.registration_request["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == COMPRESSED_ARTIFACT
    assert (
        result.registration_request["ModelPackageDescription"]
        == f"churn run {run.run_id}: pruning, validation:auc 0.895"
    )


metric = st.floats(min_value=-10.0, max_value=10.0, allow_nan=False)


@given(
    objective=st.sampled_from(["Maximize", "Minimize"]),
    limit=st.sampled_from([0.0, 0.01, 0.25, 1.0]),
    before=metric,
    after=metric,
    size_after=st.integers(min_value=0, max_value=2000),
)
def test_registration_request_present_exactly_when_passed(
    objective: str, limit: float, before: float, after: float, size_after: int
) -> None:
    result = evaluate(
        gate_run(objective, absolute=limit, min_size=0.5), before, after, size_before=1000, size_after=size_after
    )
    drop = gate.metric_drop(ObjectiveType(objective), before, after)
    assume(abs(drop - limit) > 1e-9)  # at the limit itself, rounding is tolerated (tested separately)
    assert result.metric_drop == drop
    assert result.passed is (drop <= limit and 1.0 - size_after / 1000 >= 0.5)
    assert result.passed is (not result.reasons)
    assert (result.registration_request is not None) is result.passed


@given(before=metric, after=metric, limit=st.sampled_from([0.0, 0.05, 0.5, 1.0]))
def test_relative_gate_matches_its_definition(before: float, after: float, limit: float) -> None:
    result = evaluate(gate_run(relative=limit), before, after)
    drop = before - after
    relative = drop / abs(before) if before != 0 else (math.inf if drop > 0 else 0.0)
    assume(not math.isclose(relative, limit, rel_tol=1e-9, abs_tol=1e-12))  # at the limit: rounding tolerated
    assert result.passed is (relative <= limit)

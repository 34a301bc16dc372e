"""The spec's budget: the worst case of a run against ``budget.max_usd`` (mlcp.training.budget, the preflight)."""

from __future__ import annotations

import pytest

from mlcp.aws.service_models import ServiceModels
from mlcp.common.pricing import PriceTable, sagemaker_prices
from mlcp.errors import SpecInvalid
from mlcp.training.budget import budget_findings, worst_case
from mlcp.training.preflight import preflight_spec
from mlcp.training.spec import parse_spec
from tests.unit.builders import neo_spec_data, spec_data

REGION = "us-west-2"
PRICE = 0.5  # USD per instance-hour of ml.m5.xlarge in this test's table
TABLE = PriceTable(source="https://example.test/p", as_of="2026-11-30", currency="USD", regions={REGION: {}})
TABLE.regions[REGION]["ml.m5.xlarge"] = PRICE


def churn(budget: float | None, **changes: object) -> dict[str, object]:
    data = spec_data(**changes)
    if budget is not None:
        data["budget"] = {"max_usd": budget}
    return data


def test_the_worst_case_is_every_job_at_its_max_runtime() -> None:
    """The churn example: augment 1 x 3600 s, tuning 12 trials x 3600 s (spot can only lower it), quantization
    1 x 3600 s, one ml.m5.xlarge each."""
    spec = parse_spec(churn(None))
    cases = {c.stage: c for c in worst_case(spec, TABLE, REGION)}
    assert {s: (c.jobs, c.max_runtime_seconds, c.instance_count) for s, c in cases.items()} == {
        "augment": (1, 3600, 1),
        "tune": (12, 3600, 1),
        "compress": (1, 3600, 1),
    }
    assert cases["tune"].usd == pytest.approx(12 * PRICE)
    assert sum(c.usd for c in cases.values()) == pytest.approx(14 * PRICE)


def test_a_budget_below_the_worst_case_is_refused_with_the_numbers() -> None:
    spec = parse_spec(churn(6.5))
    (error,) = budget_findings(spec, TABLE, REGION)
    assert error.field == "budget.max_usd"
    assert error.message == (
        "the worst case $7.00 exceeds the budget $6.50 (us-west-2, prices of 2026-11-30): "
        "augment 1 job(s) x 3600 s x 1 ml.m5.xlarge x $0.5/h = $0.50; "
        "tune 12 job(s) x 3600 s x 1 ml.m5.xlarge x $0.5/h = $6.00; "
        "compress 1 job(s) x 3600 s x 1 ml.m5.xlarge x $0.5/h = $0.50"
    )


def test_a_budget_at_or_above_the_worst_case_passes_and_no_budget_checks_nothing() -> None:
    assert budget_findings(parse_spec(churn(7.0)), TABLE, REGION) == []
    assert budget_findings(parse_spec(churn(None)), TABLE, "nowhere-1") == []


def test_instance_count_and_runtime_multiply() -> None:
    data = churn(1000.0)
    data["tuning"]["training"] |= {"instance_count": 3, "max_runtime_seconds": 7200}  # type: ignore[index]
    spec = parse_spec(data)
    tune = next(c for c in worst_case(spec, TABLE, REGION) if c.stage == "tune")
    assert tune.usd == pytest.approx(12 * 2 * 3 * PRICE)


def test_grid_counts_every_combination() -> None:
    data = churn(None)
    tuning = data["tuning"]
    tuning["strategy"] = "Grid"  # type: ignore[index]
    tuning.pop("max_jobs")  # type: ignore[attr-defined]
    tuning["parameter_ranges"] = {  # type: ignore[index]
        "categorical": [{"name": "booster", "values": ["gbtree", "dart"]}, {"name": "depth", "values": ["3", "5", "7"]}]
    }
    spec = parse_spec(data)
    tune = next(c for c in worst_case(spec, TABLE, REGION) if c.stage == "tune")
    assert tune.jobs == 6


def test_neo_adds_nothing() -> None:
    spec = parse_spec(neo_spec_data())
    assert [c.stage for c in worst_case(spec, TABLE, REGION)] == ["augment", "tune"]


def test_an_unpriced_instance_type_with_a_budget_is_refused() -> None:
    data = churn(1_000_000.0)
    data["tuning"]["training"]["instance_type"] = "ml.p4d.24xlarge"  # type: ignore[index]
    errors = budget_findings(parse_spec(data), TABLE, REGION)
    assert [e.field for e in errors] == ["budget"]
    assert "no price for ml.p4d.24xlarge in us-west-2 (tuning.training.instance_type)" in errors[0].message
    assert "cannot prove the run fits max_usd 1e+06" in errors[0].message


def test_the_preflight_refuses_it_on_the_budget_field_with_the_shipped_prices() -> None:
    spec = parse_spec(churn(0.01))
    price = sagemaker_prices().price("us-east-1", "ml.m5.xlarge")
    assert price is not None
    with pytest.raises(SpecInvalid) as exc:
        preflight_spec(spec, reach=None, checker=ServiceModels(), region="us-east-1")
    (error,) = exc.value.errors
    assert error.field == "budget.max_usd"
    assert error.message.startswith(f"the worst case ${14 * price:.2f} exceeds the budget $0.01 (us-east-1")


def test_a_budget_must_be_positive() -> None:
    with pytest.raises(SpecInvalid) as exc:
        parse_spec(churn(0.0))
    assert [e.field for e in exc.value.errors] == ["budget.max_usd"]

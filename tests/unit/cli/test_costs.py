"""How the CLI shows a run's cost: `mlcp runs get`, `mlcp batch get` and the demo summary share one line."""

from __future__ import annotations

from typing import Any

from mlcp_cli.costs import cost_text, warm_start_text
from mlcp_cli.local.demo import render

COST: dict[str, Any] = {
    "currency": "USD",
    "total": 0.5,
    "stages": {
        "augment": {"usd": 0.125, "jobs": 1, "billable_seconds": 900.0},
        "tune": {"usd": 0.25, "jobs": 6, "billable_seconds": 1800.0, "spot_savings_usd": 0.5},
        "compress": {"usd": 0.125, "jobs": 1, "billable_seconds": 900.0},
    },
    "price_table": {
        "source": "https://aws.amazon.com/sagemaker/pricing/",
        "as_of": "2026-11-30",
        "region": "eu-west-1",
    },
}


def test_the_cost_line_gives_each_stage_the_spot_saving_and_the_prices_used() -> None:
    assert cost_text(COST) == (
        "cost: $0.5000 USD (augment $0.1250; tune $0.2500, spot saved $0.5000; compress $0.1250)"
        "  eu-west-1 prices of 2026-11-30"
    )


def test_unpriced_instance_types_are_named() -> None:
    text = cost_text({**COST, "unpriced": ["ml.p5.48xlarge in eu-west-1"]})
    assert text.endswith("\n      no price for ml.p5.48xlarge in eu-west-1: not in the total")


def test_a_batch_cost() -> None:
    batch = {"total": 0.02, "stages": {"batch": {"usd": 0.02, "vcpu_seconds": 1800}}, "price_table": {}}
    assert cost_text(batch).startswith("cost: $0.0200 USD (batch $0.0200)")


def test_the_demo_summary_shows_the_runs_cost() -> None:
    summary: dict[str, Any] = {
        "run_id": "r",
        "status": "SUCCEEDED",
        "stages": [],
        "best": {"training_job": None},
        "compression": {"size_before": None},
        "gate": None,
        "model_package_arn": None,
        "cost": COST,
    }
    lines = render(summary, 1.0).splitlines()
    assert "  cost            $0.5000 USD (augment $0.1250; tune $0.2500, spot saved $0.5000; compress $0.1250)" in (
        "\n".join(lines)
    )
    assert not any("cost" in line for line in render({**summary, "cost": None}, 1.0).splitlines())


def test_runs_get_names_the_warm_start_parents_or_why_it_started_cold() -> None:
    warm = {"type": "TransferLearning", "parents": ["p-v1-hpo"], "parent_runs": ["p-v1-abc"], "cold_reason": None}
    assert warm_start_text(warm) == "warm start: TransferLearning from run(s) p-v1-abc (tuning jobs p-v1-hpo)"
    cold = {"type": "TransferLearning", "parents": [], "parent_runs": [], "cold_reason": "no earlier SUCCEEDED run"}
    assert warm_start_text(cold) == "warm start: TransferLearning, started cold: no earlier SUCCEEDED run"

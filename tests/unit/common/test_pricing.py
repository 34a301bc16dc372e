"""The shipped SageMaker price table (mlcp/common/sagemaker_prices.json) and its loader."""

from __future__ import annotations

import json
import re
from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from mlcp.common.pricing import job_usd, parse_table, sagemaker_prices, usd_text

ROOT = Path(__file__).resolve().parents[3]
REGIONS = ("us-east-1", "us-west-2")  # eu-west-1 is left out until read from an AWS source
# Named by the cost and budget tests precisely because the table has no price for them.
UNPRICED_ON_PURPOSE = {"ml.p5.48xlarge", "ml.p4d.24xlarge"}
FAMILIES = ("ml.m5.", "ml.c5.", "ml.g4dn.", "ml.g5.", "ml.p3.", "ml.m4.", "ml.t3.medium")


def _document() -> dict[str, object]:
    text = resources.files("mlcp.common").joinpath("sagemaker_prices.json").read_text(encoding="utf-8")
    loaded: dict[str, object] = json.loads(text)
    return loaded


def _used_instance_types() -> set[str]:
    """Every SageMaker instance type the examples, events and tests name."""
    found: set[str] = set()
    for folder in ("examples", "events", "tests"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in {".yaml", ".yml", ".json", ".py"} and path.is_file():
                found |= set(re.findall(r"\bml\.[a-z0-9]+\.[0-9]*x?[a-z]*large|\bml\.t3\.medium", path.read_text()))
    return {t for t in found if not t.endswith(".")}


def test_the_table_says_where_its_prices_come_from_and_when() -> None:
    doc = _document()
    assert doc["source"] == "https://aws.amazon.com/sagemaker/pricing/"
    date.fromisoformat(str(doc["as_of"]))
    table = sagemaker_prices()
    assert table.describe("us-west-2") == {"source": doc["source"], "as_of": doc["as_of"], "region": "us-west-2"}
    assert table.currency == "USD"


@pytest.mark.parametrize("region", REGIONS)
def test_every_instance_type_the_repo_uses_is_priced_in_the_regions(region: str) -> None:
    used = _used_instance_types()
    assert "ml.m5.xlarge" in used  # the scan finds the examples' types
    table = sagemaker_prices()
    missing = sorted(t for t in used - UNPRICED_ON_PURPOSE if table.price(region, t) is None)
    assert missing == []
    assert all(table.price(region, t) is None for t in UNPRICED_ON_PURPOSE)


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("family", FAMILIES)
def test_the_common_families_are_priced_and_positive(region: str, family: str) -> None:
    prices = sagemaker_prices().regions[region]
    listed = {t: p for t, p in prices.items() if t.startswith(family)}
    assert listed, f"no {family} in {region}"
    assert all(p > 0 for p in listed.values())


def test_bigger_sizes_of_a_family_cost_more() -> None:
    """A sanity check of the figures: within ml.m5 and ml.c5, price grows with size in every Region."""
    order = ("large", "xlarge", "2xlarge", "4xlarge", "9xlarge", "12xlarge", "18xlarge", "24xlarge")
    for region in REGIONS:
        for family in ("ml.m5.", "ml.c5."):
            prices = [p for size in order if (p := sagemaker_prices().price(region, family + size)) is not None]
            assert prices == sorted(prices), (region, family)


def test_an_unknown_instance_type_or_region_has_no_price() -> None:
    table = sagemaker_prices()
    assert table.price("us-east-1", "ml.x99.huge") is None
    assert table.price("ap-south-2", "ml.m5.xlarge") is None


def test_neo_compilation_is_not_billed_per_the_table() -> None:
    assert sagemaker_prices().neo_billed is False
    assert "aws.amazon.com/sagemaker/pricing" in str(_document()["neo_compilation"])


def test_job_usd_is_per_second_of_each_instance() -> None:
    # 90 min on 3 instances at $2/h: 1.5 h x 3 x 2
    assert job_usd(5400, 3, 2.0) == pytest.approx(9.0)
    assert job_usd(0, 4, 1.0) == 0.0


def test_parse_table_reads_a_table_of_its_own() -> None:
    table = parse_table(
        {"source": "s", "as_of": "2026-01-01", "regions": {"r-1": {"ml.a.custom": "0.5"}}, "neo_compilation": {}}
    )
    assert table.price("r-1", "ml.a.custom") == 0.5
    assert table.neo_billed is False


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0.0, "$0"),
        (1234.5, "$1,234.5000"),
        (0.1586, "$0.1586"),
        (0.01, "$0.0100"),
        (0.000207, "$0.00021"),
        (0.0000123, "$0.000012"),
        (0.000005, "$0.0000050"),
        (1e-12, "$0.00000000"),
    ],
)
def test_usd_text_keeps_two_significant_digits_below_a_cent(amount: float, text: str) -> None:
    """The demo's run costs about $0.0002: four decimals would print $0.0000."""
    assert usd_text(amount) == text

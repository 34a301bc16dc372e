"""The run report and compare page of real local-cloud runs, opened in a real headless browser: Debian's Chromium
driven by Playwright (https://playwright.dev/python/docs/api/class-browsertype#browser-type-launch, with
``executable_path``: no `playwright install`).

Every chart must have been drawn by plotly.js (each ``.js-plotly-plot`` holds its ``svg.main-svg``), as many as the
page declares (``data-chart-count``), with no console error, no page error and no network request (plotly.js is
embedded). Without Chromium the tests skip saying why, except under CI=true, where they fail (`make test` installs
it: the Makefile's chromium target).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlcp_cli.api_client import ApiClient
from mlcp_cli.local.cloud import EXAMPLES, LocalCloud
from mlcp_cli.report import gather_run, write_compare, write_run_report
from mlcp_cli.report.local import local_client
from mlcp_cli.report.render import run_html

SPEC = yaml.safe_load((EXAMPLES / "pipelines" / "churn" / "pipeline.yaml").read_text())
RANGES = SPEC["tuning"]["parameter_ranges"]
TUNED = [r["name"] for kind in ("integer", "continuous", "categorical") for r in RANGES.get(kind, [])]
LOG_SCALED = {r["name"] for r in RANGES.get("continuous", []) if r.get("scaling") == "Logarithmic"}
CATEGORICAL = {r["name"] for r in RANGES.get("categorical", [])}
COST = {  # the run record's cost, as issue 15's contract shapes it (written by the cost helper's code)
    "currency": "USD",
    "total": 0.4321,
    "stages": {
        "augment": {"usd": 0.0123, "jobs": 1, "billable_seconds": 180, "instance_type": "ml.m5.xlarge"},
        "tune": {"usd": 0.4, "jobs": 12, "billable_seconds": 4100, "training_seconds": 5200, "spot_savings_usd": 0.1},
        "compress": {"usd": 0.0198, "jobs": 1, "billable_seconds": 240},
    },
    "price_table": {
        "source": "https://aws.amazon.com/sagemaker/pricing/",
        "as_of": "2026-11-01",
        "region": "us-east-1",
    },
}


def chromium() -> str:
    found = os.environ.get("MLCP_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "Debian's chromium is not installed (`make chromium`, or apt-get install -y chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}: CI must run the browser test")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two runs of the churn example (dataset versions v1, v2) through the real state machine; the v2 run's report
    (and a copy with a recorded cost and warm start), and compare over both, written through the local API."""
    out = tmp_path_factory.mktemp("report")
    with LocalCloud(speed=5000.0) as cloud:
        cloud.upload_spec("churn", (EXAMPLES / "pipelines" / "churn" / "pipeline.yaml").read_bytes())
        cloud.settle()
        for version in ("v1", "v2"):
            cloud.upload_dataset("churn", version)
            cloud.settle()
        with local_client(cloud) as client:
            runs = client.list_runs("churn")["items"]
            run_id = next(r["run_id"] for r in runs if r["dataset_version"] == "v2")
            report = write_run_report(client, run_id, out / "run.html")
            rows = write_compare(client, "churn", out / "compare.html")
            again = gather_run(ApiClient(client.endpoint, sign=False), run_id, "churn")
    warm = {"type": "IdenticalDataAndAlgorithm", "parents": ["churn-v1-a1e9-3c4d5e6f-hpo"], "parent_runs": ["r1"]}
    (out / "costed.html").write_text(run_html({**again.record, "cost": COST, "warm_start": warm}, again.trials))
    return {"dir": out, "report": report, "rows": rows}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - the dev extra

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


def open_page(browser: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    """The page loaded from file:// with every network request refused; (page, console errors, other problems)."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    errors: list[str] = []
    problems: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))

    def refuse(route: Any) -> None:
        problems.append(f"network: {route.request.url}")
        route.abort()

    page.route("http*://**", refuse)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors, problems


def rendered(page: Any) -> dict[str, Any]:
    """What plotly.js drew: the declared count, chart divs, those with their svg, and each chart's axes."""
    seen: dict[str, Any] = page.evaluate(
        """() => {
            const charts = [...document.querySelectorAll('.js-plotly-plot')];
            return {
                declared: Number(document.body.dataset.chartCount),
                charts: charts.length,
                drawn: charts.filter(c => c.querySelector('svg.main-svg')).length,
                axes: charts.map(c => ({title: c.layout.title.text, x: c._fullLayout.xaxis.type})),
                scripts: document.querySelectorAll('script[src]').length,
            };
        }"""
    )
    return seen


def test_the_run_report_renders_every_chart_in_chromium(pages: dict[str, Any], browser: Any) -> None:
    started = time.monotonic()
    page, errors, problems = open_page(browser, pages["dir"] / "run.html")
    seen = rendered(page)
    print(f"\nrun report: {seen['charts']} charts drawn in Chromium in {time.monotonic() - started:.2f} s")

    assert (errors, problems) == ([], [])
    # the stages (Gantt), the trials' objective, one per tuned hyperparameter, the compression, the cost by stage
    # (the local cloud's runs record what their jobs cost)
    assert seen["declared"] == 4 + len(TUNED)
    assert seen["charts"] == seen["declared"] == seen["drawn"]
    assert seen["scripts"] == 0  # plotly.js is embedded, nothing is fetched
    axes = {chart["title"].split(" vs ")[0]: chart["x"] for chart in seen["axes"] if " vs " in chart["title"]}
    assert set(axes) == set(TUNED)
    assert {name for name, axis in axes.items() if axis == "log"} == LOG_SCALED
    assert {name for name, axis in axes.items() if axis == "category"} == CATEGORICAL
    assert page.inner_text("#gate") == "gate: passed"
    assert page.inner_text("#cost").startswith("total: $")
    assert pages["report"].record["cost"]["total"] > 0
    assert len(pages["report"].trials["trials"]) == SPEC["tuning"]["max_jobs"]


def test_a_report_with_cost_and_warm_start_draws_the_cost_chart(pages: dict[str, Any], browser: Any) -> None:
    page, errors, problems = open_page(browser, pages["dir"] / "costed.html")
    seen = rendered(page)

    assert (errors, problems) == ([], [])
    assert seen["charts"] == seen["declared"] == seen["drawn"] == 4 + len(TUNED)
    assert "Cost by stage (USD)" in [chart["title"] for chart in seen["axes"]]
    assert page.inner_text("#cost").startswith("total: $0.4321 USD")
    assert "IdenticalDataAndAlgorithm from churn-v1-a1e9-3c4d5e6f-hpo" in page.inner_text("body")


def test_compare_renders_its_charts_in_chromium(pages: dict[str, Any], browser: Any) -> None:
    page, errors, problems = open_page(browser, pages["dir"] / "compare.html")
    seen = rendered(page)

    assert (errors, problems) == ([], [])
    assert [row["dataset_version"] for row in pages["rows"]] == ["v1", "v2"]
    assert seen["charts"] == seen["declared"] == seen["drawn"] == 3  # objective, size and cost
    assert page.locator("#compare tr").count() == 1 + len(pages["rows"])

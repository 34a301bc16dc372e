"""The report's shaping and rendering (mlcp_cli.report): best so far either way, the axes of the tuned
hyperparameters, escaping of everything a user names, cost absent or present, one plotly.js per file, and
gathering through an API client (a fake one here; the real API in tests/local_cloud/test_report_browser.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mlcp_cli.api_client import ApiError
from mlcp_cli.report import charts, gather_compare, gather_run, shape
from mlcp_cli.report.render import compare_html, run_html

HOSTILE = '<script>alert("x")</script>'


def trial(index: int, value: float | None, status: str = "Completed", **params: str) -> dict[str, Any]:
    return {
        "training_job_name": f"churn-hpo-{index:03d}-0a1b2c3d",
        "status": status,
        "created_at": f"2026-11-30T08:{index:02d}:00Z",
        "started_at": f"2026-11-30T08:{index:02d}:30Z",
        "ended_at": f"2026-11-30T08:{index + 1:02d}:00Z",
        "hyperparameters": params,
        "objective": None if value is None else {"metric": "validation:auc", "value": value},
    }


def trials_of(
    *items: dict[str, Any], objective: str = "Maximize", ranges: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "run_id": "churn-v1-0a1b",
        "pipeline": "churn",
        "tuning_job_name": "churn-hpo",
        "tuning_job_status": "Completed",
        "objective": {"metric": "validation:auc", "type": objective},
        "parameter_ranges": ranges or [],
        "trials": list(items),
        "reason": None,
    }


RANGES: list[dict[str, Any]] = [
    {"name": "max_depth", "type": "Integer", "min_value": "3", "max_value": "10", "scaling": "Auto"},
    {"name": "eta", "type": "Continuous", "min_value": "0.01", "max_value": "0.5", "scaling": "Logarithmic"},
    {"name": "booster", "type": "Categorical", "values": ["gbtree", "dart"]},
]


def record(**extra: Any) -> dict[str, Any]:
    return {
        "run_id": "churn-v1-0a1b",
        "pipeline": "churn",
        "status": "SUCCEEDED",
        "dataset_version": "v1",
        "created_at": "2026-11-30T08:00:00Z",
        "updated_at": "2026-11-30T08:30:00Z",
        "stages": {
            "validate": {
                "status": "SUCCEEDED",
                "started_at": "2026-11-30T08:00:00Z",
                "ended_at": "2026-11-30T08:00:01Z",
            },
            "tune": {
                "status": "SUCCEEDED",
                "started_at": "2026-11-30T08:00:01Z",
                "ended_at": "2026-11-30T08:20:00Z",
                "job_name": "churn-hpo",
            },
        },
        "best": {"objective_metric": "validation:auc", "objective_value": 0.93, "hyperparameters": {"eta": "0.1"}},
        "gate": {
            "passed": False,
            "size_before": 66180,
            "size_after": 18565,
            "metric_before": 0.93,
            "metric_after": 0.90,
            "reasons": ["metric dropped 3.2 % (max 1 %)"],
        },
        **extra,
    }


# --- best so far ----------------------------------------------------------------------------------------------------
def test_best_so_far_maximize_keeps_the_highest_and_skips_trials_without_a_value() -> None:
    assert shape.best_so_far([None, 0.7, 0.65, None, 0.8, 0.75], maximize=True) == [None, 0.7, 0.7, 0.7, 0.8, 0.8]


def test_best_so_far_minimize_keeps_the_lowest() -> None:
    assert shape.best_so_far([0.5, 0.6, 0.3, None, 0.4], maximize=False) == [0.5, 0.5, 0.3, 0.3, 0.3]


def test_the_direction_is_the_tuning_jobs_objective_type() -> None:
    assert shape.maximize(trials_of(objective="Minimize")) is False
    assert shape.maximize(trials_of(objective="Maximize")) is True
    assert shape.maximize({"objective": None}) is True  # not known: SageMaker's most common objective


def test_the_objective_chart_draws_the_best_so_far_of_a_minimize_job() -> None:
    from mlcp_cli.report.charts import objective  # noqa: PLC0415

    figure = objective(trials_of(trial(1, 0.5), trial(2, 0.7), trial(3, 0.2), objective="Minimize"))

    assert figure is not None
    best = next(t for t in figure.data if t.name.startswith("best so far"))
    assert list(best.y) == [0.5, 0.5, 0.2]
    assert best.name == "best so far (Minimize)"


# --- hyperparameter axes --------------------------------------------------------------------------------------------
def test_each_tuned_hyperparameter_gets_its_axis_from_its_range() -> None:
    trials = trials_of(
        trial(1, 0.7, max_depth="5", eta="0.1", booster="dart"),
        trial(2, None, max_depth="6", eta="0.2", booster="gbtree"),  # no objective: not plotted
        trial(3, 0.8, max_depth="3", eta="0.05", booster="gbtree"),
        ranges=RANGES,
    )

    series = {s.name: s for s in shape.parameter_series(trials)}

    assert list(series) == ["max_depth", "eta", "booster"]
    assert (series["max_depth"].axis, series["max_depth"].x, series["max_depth"].y) == (
        "linear",
        [5.0, 3.0],
        [0.7, 0.8],
    )
    assert (series["eta"].axis, series["eta"].x) == ("log", [0.1, 0.05])
    assert series["booster"].axis == "category"
    assert series["booster"].x == ["dart", "gbtree"]
    assert series["booster"].categories == ["gbtree", "dart"]  # the range's order


def test_values_that_are_not_numbers_go_on_a_category_axis_and_a_log_range_with_zero_stays_linear() -> None:
    ranges = [{"name": "lr", "type": "Continuous", "min_value": "0", "max_value": "1", "scaling": "Logarithmic"}]
    trials = trials_of(trial(1, 0.7, lr="0", optimizer="adam"), trial(2, 0.8, lr="0.5", optimizer="sgd"), ranges=ranges)

    series = {s.name: s for s in shape.parameter_series(trials)}

    assert series["lr"].axis == "linear"  # log(0) is not drawable
    assert (series["optimizer"].axis, series["optimizer"].categories) == ("category", ["adam", "sgd"])


def test_the_hyperparameter_chart_uses_the_axis_type() -> None:
    from mlcp_cli.report.charts import hyperparameter  # noqa: PLC0415

    log = hyperparameter(shape.ParameterSeries("eta", "log", [0.1], [0.7]), "auc")
    category = hyperparameter(shape.ParameterSeries("booster", "category", ["dart"], [0.7], ["gbtree", "dart"]), "auc")

    assert log.layout.xaxis.type == "log"
    assert category.layout.xaxis.type == "category"
    assert list(category.layout.xaxis.categoryarray) == ["gbtree", "dart"]


# --- rendering --------------------------------------------------------------------------------------------------------
def charts_in(page: str) -> tuple[int, int]:
    declared = int(re.search(r'data-chart-count="(\d+)"', page).group(1))  # type: ignore[union-attr]
    return declared, page.count('class="plotly-graph-div"')


def test_a_report_embeds_one_plotly_js_and_declares_its_charts() -> None:
    trials = trials_of(trial(1, 0.7, max_depth="5", eta="0.1", booster="dart"), ranges=RANGES)

    page = run_html(record(), trials)

    assert page.count("plotly.js v") == 1  # the library's banner: one copy for every chart
    assert "<script src=" not in page
    # stages (Gantt), objective, three hyperparameters, compression; no cost recorded: no cost chart
    assert charts_in(page) == (6, 6)
    assert "total: <b>not recorded</b>" in page
    assert '<span class="failed">failed</span>' in page
    assert "<li>metric dropped 3.2 % (max 1 %)</li>" in page
    assert "none (the tuning job started cold)" in page


def test_a_recorded_cost_and_warm_start_are_shown() -> None:
    cost = {
        "currency": "USD",
        "total": 0.1234,
        "stages": {"tune": {"usd": 0.1, "jobs": 6}, "compress": {"usd": 0.0234}},
    }
    warm = {
        "type": "TransferLearning",
        "parents": ["churn-v0-hpo"],
        "parent_runs": ["churn-v0-0a1b"],
        "cold_reason": None,
    }

    page = run_html(record(cost=cost, warm_start=warm), trials_of(trial(1, 0.7)))

    assert "total: <b>$0.1234 USD</b>" in page
    assert charts_in(page) == (4, 4)  # stages, objective, compression, cost
    assert "TransferLearning from\n <code>churn-v0-hpo</code>" in page
    assert "(runs <code>churn-v0-0a1b</code>)" in page


def test_everything_a_user_names_is_escaped() -> None:
    """GIVEN a record and trials whose names, values and reasons carry markup THEN the page holds it only escaped
    (the HTML as entities, plotly's JSON with its < as \\u003c): nothing becomes a tag."""
    hostile_record = record(
        run_id=HOSTILE,
        pipeline=HOSTILE,
        dataset_version=HOSTILE,
        failure={"stage": "gate", "error": HOSTILE, "reason": HOSTILE},
        warm_start={"type": HOSTILE, "parents": [HOSTILE], "cold_reason": HOSTILE},
        model_package_arn=HOSTILE,
    )
    hostile_record["gate"]["reasons"] = [HOSTILE]
    hostile_record["best"]["hyperparameters"] = {HOSTILE: HOSTILE}
    hostile_record["stages"]["tune"]["job_name"] = HOSTILE
    ranges = [{"name": HOSTILE, "type": "Categorical", "values": [HOSTILE, "b"]}]
    trials = trials_of(trial(1, 0.7, **{HOSTILE: HOSTILE}), ranges=ranges)
    trials["objective"]["metric"] = HOSTILE
    trials["reason"] = HOSTILE

    page = run_html(hostile_record, trials)

    assert HOSTILE not in page
    assert "<script>alert" not in page
    assert page.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") >= 10  # Jinja2's autoescape, in the HTML


def test_compare_shows_a_dash_for_an_unrecorded_cost_and_draws_only_charts_with_values() -> None:
    rows: list[dict[str, Any]] = [
        {"run_id": "r1", "dataset_version": "v1", "status": "SUCCEEDED", "best_objective": 0.9, "size_after": 100.0,
         "cost_total": None, "currency": "USD", "objective_metric": "validation:auc"},
        {"run_id": "r2", "dataset_version": HOSTILE, "status": "FAILED", "best_objective": None, "size_after": None,
         "cost_total": None, "currency": "USD", "objective_metric": None},
    ]  # fmt: skip

    page = compare_html("churn", rows)

    assert charts_in(page) == (2, 2)  # objective and size; no cost recorded
    assert page.count('<td class="num">\u2014</td>') == 2
    assert HOSTILE not in page


# --- gathering through the API client ------------------------------------------------------------------------------
class FakeApi:
    """The API client's surface the report uses, over in-memory records (pages of two)."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = {r["run_id"]: r for r in records}
        self.calls: list[str] = []

    def owned(self, run_id: str, owner: str | None, call: Any) -> Any:
        return call(owner or "churn")

    def get_run(self, pipeline: str, run_id: str) -> dict[str, Any]:
        self.calls.append(f"get {run_id}")
        found = self.records.get(run_id)
        if found is None or found["pipeline"] != pipeline:
            raise ApiError(404, {"code": "NotFound", "message": f"pipeline {pipeline!r} has no run {run_id!r}"})
        return found

    def get_run_trials(self, pipeline: str, run_id: str) -> dict[str, Any]:
        self.calls.append(f"trials {run_id}")
        return trials_of(trial(1, 0.7))

    def get_pipeline(self, name: str) -> dict[str, Any]:
        self.calls.append(f"pipeline {name}")
        if name != "churn":
            raise ApiError(404, {"code": "NotFound", "message": f"pipeline {name!r} is not registered"})
        return {"name": name}

    def list_runs(self, pipeline: str, limit: int, next_token: str | None = None) -> dict[str, Any]:
        ordered = sorted(
            (r for r in self.records.values() if r["pipeline"] == pipeline), key=lambda r: r["created_at"], reverse=True
        )  # newest first
        start = int(next_token or 0)
        return {"items": ordered[start : start + 2], "next_token": str(start + 2) if start + 2 < len(ordered) else None}


def test_gather_run_reads_the_record_and_its_trials() -> None:
    api = FakeApi([record()])

    report = gather_run(api, "churn-v1-0a1b", "churn")  # type: ignore[arg-type]

    assert report.record["run_id"] == "churn-v1-0a1b"
    assert len(report.trials["trials"]) == 1
    assert api.calls == ["get churn-v1-0a1b", "trials churn-v1-0a1b"]


def test_gather_run_of_an_unknown_run_is_the_apis_404() -> None:
    with pytest.raises(ApiError) as raised:
        gather_run(FakeApi([]), "nope", "churn")  # type: ignore[arg-type]

    assert raised.value.status == 404


def test_compare_keeps_the_latest_run_of_each_dataset_version_over_every_page() -> None:
    runs = [
        record(run_id="a", dataset_version="v1", created_at="2026-11-30T08:00:00Z"),
        record(run_id="b", dataset_version="v2", created_at="2026-11-30T09:00:00Z", cost={"total": 0.5}),
        record(run_id="c", dataset_version="v1", created_at="2026-11-30T10:00:00Z"),  # a retrain of v1
        record(run_id="d", dataset_version=None, created_at="2026-11-30T11:00:00Z"),  # no dataset version
        record(run_id="e", dataset_version="v3", created_at="2026-11-30T12:00:00Z", status="FAILED", gate=None),
    ]

    rows = gather_compare(FakeApi(runs), "churn")  # type: ignore[arg-type]

    assert [(r["dataset_version"], r["run_id"]) for r in rows] == [("v1", "c"), ("v2", "b"), ("v3", "e")]
    assert [r["cost_total"] for r in rows] == [None, 0.5, None]
    assert rows[0]["size_after"] == 18565.0
    assert rows[2]["size_after"] is None
    assert rows[0]["best_objective"] == 0.93


def test_compare_of_given_runs_only() -> None:
    runs = [
        record(run_id=i, dataset_version=f"v{n}", created_at=f"2026-11-30T0{n}:00:00Z") for n, i in enumerate("abc")
    ]

    rows = gather_compare(FakeApi(runs), "churn", run_ids=["a", "c"])  # type: ignore[arg-type]

    assert [r["run_id"] for r in rows] == ["a", "c"]


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "-"), (512, "512 B"), (18565, "18.1 KiB"), (5 * 1024**2, "5.0 MiB"), (3 * 1024**3, "3.0 GiB")],
)
def test_sizes_read_as_people_read_them(value: float | None, text: str) -> None:
    assert shape.size(value) == text


def test_trials_without_an_objective_yet_get_a_note_not_empty_charts() -> None:
    """GIVEN a running tuning job whose trials have reported no objective yet THEN the page says so and draws
    neither the objective chart nor one empty chart per hyperparameter (only the stages' Gantt)."""
    running = trials_of(trial(1, None, "InProgress", max_depth="5", eta="0.1", booster="dart"), ranges=RANGES)

    page = run_html(record(status="RUNNING", gate=None), running)

    assert charts_in(page) == (1, 1)
    assert "no trial has reported validation:auc yet" in page
    assert "no trial has reported" not in run_html(record(), trials_of(trial(1, 0.7, eta="0.1"), ranges=RANGES))


def test_the_compression_legend_sits_above_the_plot_clear_of_the_metric_axis() -> None:
    """The metric's axis is on the right, where plotly puts a legend by default: the legend goes above the plot,
    and the metric axis has its own ticks (not ones synced to the byte axis: 0.128, 0.255, ...)."""
    values: dict[str, float | None] = {
        "size_before": 131_700.0,
        "size_after": 36_213.0,
        "metric_before": 0.841,
        "metric_after": 0.837,
    }
    layout = charts.compression(values, "validation:auc").layout

    assert (layout.legend.orientation, layout.legend.yanchor, layout.legend.y) == ("h", "bottom", 1.02)
    assert (layout.yaxis2.side, layout.yaxis2.tickmode) == ("right", "auto")
    assert layout.margin.r >= 70


def test_compare_of_an_unknown_pipeline_is_the_apis_404_and_of_a_pipeline_without_runs_no_rows() -> None:
    with pytest.raises(ApiError) as raised:
        gather_compare(FakeApi([record()]), "churn-typo")  # type: ignore[arg-type]
    assert raised.value.status == 404

    api = FakeApi([])
    assert gather_compare(api, "churn") == []  # type: ignore[arg-type]
    assert api.calls == ["pipeline churn"]


def test_the_cost_names_unpriced_instance_types_the_spot_saving_and_the_prices_used() -> None:
    """An instance type the price table has no price for is named (never silently left out of the total), as
    `mlcp runs get` does; with the managed-spot saving and the Region and date of the prices."""
    cost = {
        "currency": "USD",
        "total": 0.1234,
        "stages": {"tune": {"usd": 0.1, "spot_savings_usd": 0.2}, "compress": {"usd": 0.0234}},
        "price_table": {
            "source": "https://aws.amazon.com/sagemaker/pricing/",
            "as_of": "2026-11-30",
            "region": "eu-west-1",
        },
        "unpriced": ["ml.p5.48xlarge in eu-west-1"],
    }

    page = run_html(record(cost=cost), trials_of(trial(1, 0.7)))

    assert "total: <b>$0.1234 USD</b>, managed spot saved $0.2000 USD" in page
    assert "(eu-west-1 On-Demand prices of 2026-11-30: https://aws.amazon.com/sagemaker/pricing/)" in page
    assert '<p class="failed" id="cost-unpriced">no price for ml.p5.48xlarge in eu-west-1: not in the total</p>' in page
    plain = run_html(record(cost={**cost, "unpriced": None, "stages": {"tune": {"usd": 0.1}}}), trials_of())
    assert "cost-unpriced" not in plain
    assert "spot saved" not in plain


def test_compare_keeps_a_versions_succeeded_run_over_a_later_running_or_failed_retrain() -> None:
    """A retrain of v1 that is still running (or failed) must not hide v1's model; v2 never succeeded: its latest."""
    runs: list[dict[str, Any]] = [
        {"run_id": "v1-a", "dataset_version": "v1", "status": "SUCCEEDED", "created_at": "2026-11-30T08:00:00Z"},
        {"run_id": "v2-a", "dataset_version": "v2", "status": "FAILED", "created_at": "2026-11-30T08:10:00Z"},
        {"run_id": "v1-b", "dataset_version": "v1", "status": "RUNNING", "created_at": "2026-11-30T09:00:00Z"},
        {"run_id": "v2-b", "dataset_version": "v2", "status": "RUNNING", "created_at": "2026-11-30T09:05:00Z"},
        {"run_id": "v1-c", "dataset_version": "v1", "status": "FAILED", "created_at": "2026-11-30T09:30:00Z"},
        {"run_id": "none", "dataset_version": None, "status": "SUCCEEDED", "created_at": "2026-11-30T07:00:00Z"},
    ]
    assert [r["run_id"] for r in shape.latest_per_version(runs)] == ["v1-a", "v2-b"]

"""One self-contained HTML file per report: Jinja2 templates (package data, autoescaped: every text from a record
is escaped) and plotly figures as ``<div>``s, with one embedded copy of plotly.js in the head (no CDN, no network).
The body says how many charts it holds (``data-chart-count``): the browser test checks that each one rendered."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from mlcp_cli.report import charts, shape

CONFIG = {"displaylogo": False, "responsive": True}


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("mlcp_cli.report", "templates"), autoescape=select_autoescape(default=True)
    )
    environment.globals |= {"size": shape.size, "money": shape.compare_money, "clock": shape.clock}
    return environment


@cache
def _plotlyjs() -> Markup:
    from plotly.offline import get_plotlyjs  # noqa: PLC0415 - 4 MB of JavaScript, read when a report is written

    return Markup(get_plotlyjs())  # noqa: S704 - plotly.js itself, embedded once per file


def _generator() -> str:
    try:
        return version("mlcp")
    except PackageNotFoundError:
        return "(source)"


class Charts:
    """The figures of one page, numbered in order (div ids ``chart-1`` ...)."""

    def __init__(self) -> None:
        self.count = 0

    def div(self, figure: Any) -> Markup:
        if figure is None:
            return Markup("")
        self.count += 1
        text = figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{self.count}", config=CONFIG)
        return Markup(f'<div class="chart">{text}</div>')  # noqa: S704 - plotly's own markup; its JSON escapes "<"


def _page(template: str, charts_: Charts, **context: Any) -> str:
    return (
        _environment()
        .get_template(template)
        .render(plotlyjs=_plotlyjs(), chart_count=charts_.count, generator=_generator(), **context)
    )


def run_html(record: dict[str, Any], trials: dict[str, Any]) -> str:
    """The report of one run: stages (table, Gantt), trials (objective with the best so far, one chart per tuned
    hyperparameter), compression before/after, the gate's verdict, warm start and cost."""
    figures = Charts()
    stages = shape.stage_rows(record)
    metric = str(
        (trials.get("objective") or {}).get("metric") or (record.get("best") or {}).get("objective_metric") or "metric"
    )
    compression = shape.compression(record)
    total, currency, cost_stages = shape.cost_rows(record)
    verdict, reasons = shape.verdict(record)
    rendered = {
        "timeline": figures.div(charts.timeline(stages, record.get("updated_at"))),
        "objective": figures.div(charts.objective(trials)),
        # a hyperparameter no trial has reported an objective for yet (a running job) gets no empty chart
        "hyperparameters": [
            figures.div(charts.hyperparameter(s, metric)) for s in shape.parameter_series(trials) if s.y
        ],
        "compression": figures.div(charts.compression(compression, metric)) if compression else Markup(""),
        "cost": figures.div(charts.cost(cost_stages, currency)) if total is not None else Markup(""),
    }
    best_values = [
        v for v in shape.best_so_far(shape.objective_values(trials), shape.maximize(trials)) if v is not None
    ]
    return _page(
        "run.html.j2",
        figures,
        record=record,
        trials=trials,
        stages=stages,
        charts=rendered,
        metric=metric,
        compression=compression,
        verdict=verdict,
        reasons=reasons,
        best_value=best_values[-1] if best_values else None,
        no_objective_yet=bool(trials.get("trials")) and not best_values,
        warm_start=record.get("warm_start"),
        cost_total=shape.money(total, currency),
        price_table=(record.get("cost") or {}).get("price_table"),
        spot_saved=shape.money(saved, currency) if (saved := shape.spot_saved(record)) else None,
        unpriced=(record.get("cost") or {}).get("unpriced") or [],
    )


def compare_html(pipeline: str, rows: list[dict[str, Any]]) -> str:
    """The runs of a pipeline across dataset versions: the table and the objective, size and cost charts."""
    figures = Charts()
    metric = next((str(r["objective_metric"]) for r in rows if r.get("objective_metric")), "best objective")
    rendered = [
        figures.div(charts.across_versions(rows, "best_objective", "Best objective by dataset version", metric)),
        figures.div(charts.across_versions(rows, "size_after", "Model size after compression", "bytes")),
        figures.div(charts.across_versions(rows, "cost_total", "Cost by dataset version", "USD")),
    ]
    return _page("compare.html.j2", figures, pipeline=pipeline, rows=rows, charts=[c for c in rendered if c])

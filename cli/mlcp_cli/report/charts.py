"""The report's charts as plotly figures (https://plotly.com/python/). Every text that comes from a run record or
a spec (names, hyperparameter values, reasons) is HTML-escaped here: plotly.js renders a subset of HTML in labels,
and it turns the entities back into the characters, so a name shows as typed and never becomes markup."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

import plotly.graph_objects as go

from mlcp_cli.report import shape

STATUS_COLOURS = {
    "SUCCEEDED": "#2e7d32",
    "Completed": "#2e7d32",
    "RUNNING": "#1565c0",
    "InProgress": "#1565c0",
    "FAILED": "#c62828",
    "Failed": "#c62828",
    "SKIPPED": "#9e9e9e",
    "Stopped": "#9e9e9e",
}
LAYOUT: dict[str, Any] = {"template": "plotly_white", "height": 360, "margin": {"l": 70, "r": 30, "t": 60, "b": 60}}


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def timeline(stages: list[dict[str, Any]], now: str | None) -> go.Figure | None:
    """The stages as a Gantt chart: a bar per stage from its start to its end (a running stage: to ``now``)."""
    bars = []
    for row in stages:
        start = _time(row["started_at"]) or _time(row["ended_at"])
        end = _time(row["ended_at"]) or _time(now) or start
        if start is None or end is None:
            continue
        bars.append((row, start, max((end - start).total_seconds() * 1000.0, 1.0)))
    if not bars:
        return None
    figure = go.Figure()
    for row, start, millis in bars:
        figure.add_trace(
            go.Bar(
                base=[start.isoformat()],
                x=[millis],
                y=[esc(row["stage"])],
                orientation="h",
                name=esc(f"{row['stage']} {row['status']}"),
                marker_color=STATUS_COLOURS.get(row["status"], "#6d4c41"),
                hovertext=[esc(f"{row['stage']}: {row['status']}, {millis / 1000:.1f} s {row['job_name'] or ''}")],
                hoverinfo="text",
                showlegend=False,
            )
        )
    figure.update_layout(title="Stages", xaxis={"type": "date", "title": "time (UTC)"}, **LAYOUT)
    figure.update_yaxes(autorange="reversed", title="stage")
    return figure


def objective(trials: dict[str, Any]) -> go.Figure | None:
    """Every trial's objective in creation order, and the best so far (Maximize: the highest; Minimize: lowest)."""
    values = shape.objective_values(trials)
    if not any(v is not None for v in values):
        return None
    items = trials.get("trials") or []
    index = list(range(1, len(values) + 1))
    maximize = shape.maximize(trials)
    metric = esc((trials.get("objective") or {}).get("metric") or "objective")
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=index,
            y=values,
            mode="markers",
            name="trial",
            marker={"size": 10, "color": [STATUS_COLOURS.get(t.get("status"), "#6d4c41") for t in items]},
            text=[esc(f"{t.get('training_job_name')} ({t.get('status')})") for t in items],
            hovertemplate="trial %{x}: %{y}<br>%{text}<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=index,
            y=shape.best_so_far(values, maximize),
            mode="lines",
            line_shape="hv",
            name=f"best so far ({'Maximize' if maximize else 'Minimize'})",
        )
    )
    figure.update_layout(title=f"Objective {metric} by trial", xaxis_title="trial (creation order)", **LAYOUT)
    figure.update_yaxes(title=metric)
    return figure


def hyperparameter(series: shape.ParameterSeries, metric: str) -> go.Figure:
    """One tuned hyperparameter against the objective, on a category, log or linear axis."""
    x = [esc(v) for v in series.x] if series.axis == "category" else series.x
    figure = go.Figure(go.Scatter(x=x, y=series.y, mode="markers", marker={"size": 10}, name=esc(series.name)))
    xaxis: dict[str, Any] = {"type": series.axis, "title": esc(series.name)}
    if series.axis == "category":
        xaxis |= {"categoryorder": "array", "categoryarray": [esc(c) for c in series.categories]}
    figure.update_layout(title=f"{esc(series.name)} vs {esc(metric)}", xaxis=xaxis, yaxis_title=esc(metric), **LAYOUT)
    return figure


def compression(values: dict[str, float | None], metric: str) -> go.Figure:
    """Model size and metric before and after compression, side by side (two y axes)."""
    figure = go.Figure()
    figure.add_trace(
        go.Bar(
            x=["size before", "size after"],
            y=[values["size_before"], values["size_after"]],
            name="model size (bytes)",
            marker_color="#5c6bc0",
            yaxis="y",
        )
    )
    figure.add_trace(
        go.Bar(
            x=["metric before", "metric after"],
            y=[values["metric_before"], values["metric_after"]],
            name=esc(metric),
            marker_color="#26a69a",
            yaxis="y2",
        )
    )
    figure.update_layout(
        title="Compression: before and after",
        yaxis={"title": "bytes"},
        # its own round ticks (0.2, 0.4, ...), not ticks synced to the byte axis (0.128, 0.255, ...)
        yaxis2={"title": esc(metric), "overlaying": "y", "side": "right", "tickmode": "auto", "showgrid": False},
        # the legend above the plot: on the right (plotly's default) it covers the metric's axis
        **(LAYOUT | {"margin": {**LAYOUT["margin"], "r": 70}}),
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1},
    )
    return figure


def cost(stages: list[tuple[str, float]], currency: str) -> go.Figure | None:
    if not stages:
        return None
    figure = go.Figure(go.Bar(x=[esc(s) for s, _ in stages], y=[u for _, u in stages], marker_color="#8d6e63"))
    figure.update_layout(title=f"Cost by stage ({esc(currency)})", yaxis_title=esc(currency), **LAYOUT)
    return figure


def across_versions(rows: list[dict[str, Any]], key: str, title: str, axis: str) -> go.Figure | None:
    """One value of each dataset version's run (compare), versions in order; None when no run has it."""
    points = [(esc(r["dataset_version"]), r[key]) for r in rows if r.get(key) is not None]
    if not points:
        return None
    figure = go.Figure(
        go.Scatter(x=[v for v, _ in points], y=[y for _, y in points], mode="lines+markers", marker={"size": 10})
    )
    figure.update_layout(title=title, xaxis={"type": "category", "title": "dataset version"}, **LAYOUT)
    figure.update_yaxes(title=axis, rangemode="normal" if key == "best_objective" else "tozero")  # sizes, costs from 0
    return figure

"""How the CLI shows a run's ``cost`` (the run record's, or a batch run's stats): one line, plus what had no price;
and the run's ``warm_start`` (its parents, or why it started cold)."""

from __future__ import annotations

from typing import Any

from mlcp.common.pricing import usd_text


def cost_text(cost: dict[str, Any]) -> str:
    """``cost: $0.0123 USD (augment $0.0010, tune $0.0100 ...) us-east-1 prices of <date>`` (the run's ``cost``)."""
    stages = cost.get("stages") or {}
    parts = []
    for name in ("augment", "tune", "compress", "batch"):
        if name in stages:
            stage = stages[name]
            saved = float(stage.get("spot_savings_usd") or 0)
            parts.append(
                f"{name} {usd_text(float(stage['usd']))}" + (f", spot saved {usd_text(saved)}" if saved else "")
            )
    table = cost.get("price_table") or {}
    text = f"cost: {usd_text(float(cost['total']))} {cost.get('currency', 'USD')} ({'; '.join(parts)})"
    text += f"  {table.get('region', '')} prices of {table.get('as_of') or '-'}"
    if cost.get("unpriced"):
        text += f"\n      no price for {', '.join(cost['unpriced'])}: not in the total"
    return text


def warm_start_text(warm: dict[str, Any]) -> str:
    """``warm start: TransferLearning from run(s) a, b (tuning jobs x, y)``, or ``... started cold: <reason>``
    (the run record's ``warm_start``: ``type``, ``parents``, ``parent_runs``, ``cold_reason``)."""
    head = f"warm start: {warm.get('type') or '-'}"
    if warm.get("parents"):
        runs = ", ".join(warm.get("parent_runs") or []) or "-"
        return f"{head} from run(s) {runs} (tuning jobs {', '.join(warm['parents'])})"
    return f"{head}, started cold: {warm.get('cold_reason') or 'no usable parent'}"

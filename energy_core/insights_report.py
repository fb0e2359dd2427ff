"""The weekly summary as a reader gets it: Markdown (the download and the CLI), flat rows (the
CSV) and JSON (``energy-monitor summary --json``), all from one ``WeeklySummary``."""

from __future__ import annotations

from energy_core.chat.wording import kwh, money, watts
from energy_core.insights import Mover, Total, WeeklySummary
from energy_core.stats import Change
from energy_core.stats.period import describe_range

CSV_COLUMNS = ["section", "item", "metric", "value", "baseline", "change", "note"]


def figure(metric: str, value: float | None, currency: str) -> str:
    if value is None:
        return "no data"
    return money(value, currency) if metric == "cost" else kwh(value)


def change_text(change: Change, metric: str, currency: str) -> str:
    """ "+12% (+1.20 kWh)", or the difference and why there is no percent ("not comparable:
    readings cover only 40% of the baseline")."""
    if change.delta is None:
        return f"not comparable: {change.reason}" if change.reason else "no data"
    sign = "+" if change.delta >= 0 else "-"
    amount = figure(metric, abs(change.delta), currency)
    if change.ratio is not None:
        return f"{change.ratio * 100:+.0f}% ({sign}{amount})"
    reason = change.reason or "no baseline"
    return f"{sign}{amount} (not comparable: {reason})"


def baseload_text(summary: WeeklySummary) -> str:
    now, before = summary.baseload.baseload_w, summary.baseload_before.baseload_w
    if now is None:
        return "no data (too few hours covered this week)"
    if before is None:
        return f"{watts(now)} (no figure for the week before)"
    delta = summary.baseload_change_w
    return f"{watts(now)}, {'+' if delta >= 0 else '-'}{watts(abs(delta))} on the week before"


def summary_markdown(summary: WeeklySummary) -> str:
    c = summary.currency
    lines = [
        f"# Weekly summary {summary.week}",
        "",
        f"{describe_range(summary.period.start, summary.period.full_end)}; compared with the "
        f"week before ({describe_range(summary.previous.start, summary.previous.full_end)}) and "
        f"the same dates a year earlier "
        f"({describe_range(summary.last_year.start, summary.last_year.full_end)}).",
        "",
        "| | this week | vs the week before | vs a year earlier |",
        "| --- | --- | --- | --- |",
    ]
    for t in summary.totals:
        lines.append(
            f"| {t.title} | {figure(t.metric, t.value, c)} | "
            f"{change_text(t.previous, t.metric, c)} | {change_text(t.last_year, t.metric, c)} |"
        )
    for title, found in (
        ("Biggest movers vs the week before", summary.movers_previous),
        ("Biggest movers vs a year earlier", summary.movers_last_year),
    ):
        lines += ["", f"## {title}", ""]
        lines += [mover_line(m, c) for m in found] or ["No device has figures in both weeks."]
    lines += ["", "## Always-on load", "", baseload_text(summary), "", "## Alerts", ""]
    lines += alert_lines(summary)
    return "\n".join(lines) + "\n"


def alert_lines(summary: WeeklySummary) -> list[str]:
    """The week's alerts as Markdown list items, oldest first."""
    if not summary.alerts:
        return ["No alert opened this week."]
    return [f"- {a['opened_at'][:16].replace('T', ' ')} UTC: {a['title']}" for a in summary.alerts]


def mover_line(m: Mover, currency: str) -> str:
    what = "generation" if m.metric == "generation_wh" else "consumption"
    return (
        f"- {m.name} ({what}): {figure(m.metric, m.change.value, currency)}, "
        f"{change_text(m.change, m.metric, currency)}"
    )


def summary_rows(summary: WeeklySummary) -> list[dict]:
    """One row per figure, in CSV_COLUMNS; values in kWh (energy) or the currency (cost)."""
    rows = []
    for t in summary.totals:
        for which, change in (("previous week", t.previous), ("a year earlier", t.last_year)):
            rows.append(_row("total", t.title, t.metric, change, which))
    for which, found in (
        ("previous week", summary.movers_previous),
        ("a year earlier", summary.movers_last_year),
    ):
        rows += [_row("mover", m.name, m.metric, m.change, which) for m in found]
    rows.append(
        {
            "section": "always-on",
            "item": "baseload",
            "metric": "baseload_w",
            "value": _round(summary.baseload.baseload_w),
            "baseline": _round(summary.baseload_before.baseload_w),
            "change": _round(summary.baseload_change_w),
            "note": "previous week",
        }
    )
    rows += [
        {"section": "alert", "item": a["title"], "metric": a["kind"], "value": None,
         "baseline": None, "change": None, "note": a["opened_at"]}
        for a in summary.alerts
    ]  # fmt: skip
    return rows


def _row(section: str, item: str, metric: str, change: Change, which: str) -> dict:
    scale = 1.0 if metric == "cost" else 1000.0
    unit_metric = metric if metric == "cost" else metric.replace("_wh", "_kwh")
    note = f"vs {which}" + (f"; not comparable: {change.reason}" if not change.comparable else "")
    return {
        "section": section,
        "item": item,
        "metric": unit_metric,
        "value": _round(change.value, scale),
        "baseline": _round(change.baseline, scale),
        "change": _round(change.ratio, 1 / 100) if change.ratio is not None else None,
        "note": note,
    }


def _round(value: float | None, scale: float = 1.0) -> float | None:
    return None if value is None else round(value / scale, 3)


def summary_json(summary: WeeklySummary) -> dict:
    def change(c: Change) -> dict:
        return {
            "value": c.value,
            "baseline": c.baseline,
            "delta": c.delta,
            "ratio": c.ratio,
            "comparable": c.comparable,
            "reason": c.reason,
        }

    def total(t: Total) -> dict:
        return {"value": t.value, "previous": change(t.previous), "last_year": change(t.last_year)}

    def mover(m: Mover) -> dict:
        return {"device_id": m.device_id, "name": m.name, "metric": m.metric, **change(m.change)}

    return {
        "week": summary.week,
        "start": summary.period.start.isoformat(),
        "end": summary.period.full_end.isoformat(),
        "currency": summary.currency,
        "totals": {t.metric: total(t) for t in summary.totals},
        "movers_previous": [mover(m) for m in summary.movers_previous],
        "movers_last_year": [mover(m) for m in summary.movers_last_year],
        "baseload_w": summary.baseload.baseload_w,
        "baseload_before_w": summary.baseload_before.baseload_w,
        "baseload_change_w": summary.baseload_change_w,
        "alerts": summary.alerts,
    }


__all__ = [
    "CSV_COLUMNS",
    "alert_lines",
    "baseload_text",
    "change_text",
    "figure",
    "mover_line",
    "summary_json",
    "summary_markdown",
    "summary_rows",
]

"""The offline analyst's answers with figures of energy, money and power: totals (with a
breakdown), rankings, the highest or lowest period, peaks and the tariff (comparisons are in
``offline_compare``). Each takes the question model and a ``call`` that runs (and records) one
tool call; every number comes from a result."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from energy_core.chat.question import Question, Target
from energy_core.chat.render import escape_markdown
from energy_core.chat.toolbase import ToolCall, ToolContext
from energy_core.chat.wording import (
    LOW_COVERAGE,
    cap,
    clock,
    coverage_note,
    kwh,
    kwh_or_none,
    local_time,
    money,
    no_data,
    percent,
    percent_or_none,
    period_name,
    price,
    scope,
    watts,
    when,
)
from energy_core.stats import COST_RULE
from energy_core.stats.period import hours_of

Call = Callable[..., ToolCall]
LONG_DEFAULTS = {"month": "last 12 months", "week": "last 8 weeks"}


def range_args(q: Question, index: int = 0, *, time_of_day: bool = True) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if len(q.periods) > index:
        period = q.periods[index]
        args["start"] = period.start.isoformat()
        args["end"] = period.full_end.isoformat()
        args["label"] = period.label
    if time_of_day:
        part = q.time_of_day or (q.periods[index].time_of_day if len(q.periods) > index else None)
        if part:
            args["time_of_day"] = part
        if q.days:
            args["days"] = q.days
    return args


def target_args(target: Target) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if target.devices:
        args["devices"] = target.device_ids()
    if target.rooms:
        args["rooms"] = list(target.rooms)
    return args


def cost_line(ctx: ToolContext) -> str:
    return f"\n\n_{COST_RULE} Here: {ctx.household.tariff.describe()}._"


def _instead_of_figures(made: ToolCall, who: str) -> str | None:
    """What to say when a call has no figures to give: why it was refused, or that ``who`` has
    no readings in its range; None when it has."""
    if not made.ok:
        return made.error
    if not made.result["coverage"]:
        return no_data(who, made)
    return None


# --- totals ------------------------------------------------------------------------------------


def since_first_reading(ctx: ToolContext, q: Question, made: ToolCall) -> str:
    """A note when the range starts before the first reading of the devices asked about: the
    figure is of the part since then ("this year" of a household monitored since October)."""
    span = (made.evidence or {}).get("range")
    if not span:
        return ""
    rooms = set(q.target.rooms)
    devices = list(q.target.devices) + [d for d in ctx.devices if d.location in rooms]
    starts = [d.first_at for d in devices or ctx.devices if d.first_at is not None]
    if not starts:
        return ""
    first = min(starts).astimezone(ctx.household.tz)
    start, end = local_time(span["start"]), local_time(span["end"])
    if not start < first - timedelta(days=1) or first >= end:
        return ""
    return f" Readings start on {first:%a %-d %b %Y}, so this is the figure since then."


def _breakdown_range(q: Question, granularity: str) -> dict[str, Any]:
    """The range and target of a total: a breakdown by week or month without a period covers
    the last weeks or months (the last 7 days by month were two partial months)."""
    args = range_args(q) | target_args(q.target)
    if not q.periods and granularity in LONG_DEFAULTS:
        args["period"] = LONG_DEFAULTS[granularity]
    return args


def _series_rows(r: dict[str, Any], q: Question, granularity: str) -> list[dict[str, Any]]:
    """The rows of a breakdown, without the hours a part of the day leaves out (each of them
    would read "no data")."""
    rows = list(r["series"])
    while rows and rows[0]["coverage"] is None:
        rows.pop(0)  # before the first reading: the note says where the readings start
    part = q.time_of_day or (q.periods[0].time_of_day if q.periods else None)
    if granularity != "hour" or part is None:
        return rows
    wanted = hours_of(part)
    return [row for row in rows if local_time(row["start"]).hour in wanted]


def _breakdown_table(
    ctx: ToolContext,
    r: dict[str, Any],
    q: Question,
    granularity: str,
    headers: tuple[str, str],
    cells: Callable[[dict[str, Any]], tuple[str, str]],
) -> str:
    """A breakdown as a table, the period of each row then its two ``cells``; nothing for a
    total."""
    if granularity == "total":
        return ""
    lines = "\n".join(
        f"| {period_name(row, granularity, ctx.household.tz)} | {' | '.join(cells(row))} |"
        for row in _series_rows(r, q, granularity)
    )
    return f"\n\n| {cap(granularity)} | {headers[0]} | {headers[1]} |\n|---|---|---|\n{lines}"


def per_device_lines(
    rows: list[dict[str, Any]], span: str, needed: str, line: Callable[[str, dict[str, Any]], str]
) -> list[str]:
    """One sentence a device: ``line(name, row)``, or that it has no readings ``span`` when its
    ``needed`` figure is missing."""
    return [
        f"The {escape_markdown(row['name'])} has no readings {span}."
        if row[needed] is None
        else line(escape_markdown(row["name"]), row)
        for row in rows
    ]


def answer_total(ctx: ToolContext, q: Question, call: Call) -> str:
    if "cost" in q.metrics:
        return _cost(ctx, q, call)
    if "power" in q.metrics:
        return _power(ctx, q, call)
    if q.grouping in {"device", "room"}:
        return answer_ranking(ctx, replace(q, limit=20), call)
    granularity = q.grouping if q.grouping in {"hour", "day", "week", "month"} else "total"
    made = call("energy_usage", granularity=granularity, **_breakdown_range(q, granularity))
    who = scope(q.target)
    if (instead := _instead_of_figures(made, who)) is not None:
        return instead
    r = made.result
    generators = bool(q.target.devices) and all(d.is_generator for d in q.target.devices)
    if generators or "generation" in q.metrics:
        out = f"{cap(who)} generated **{kwh_or_none(r['generation_wh'])}** {when(made.evidence)}."
    elif "import" in q.metrics and r["import_wh"] is not None:
        subject = "You" if who == "your household" else cap(who)
        out = (
            f"{subject} bought **{kwh(r['import_wh'])}** from the grid {when(made.evidence)} "
            "(grid import, hour by hour)."
        )
        out += _own_generation(r) or f" {subject} used {kwh(r['consumption_wh'])} in all."
    else:
        subject = "You" if who == "your household" else cap(who)
        out = f"{subject} used **{kwh(r['consumption_wh'])}** {when(made.evidence)}."
        if r["generation_wh"] and abs(r["generation_wh"]) >= 1:
            out += (
                f" Solar and other generation produced {kwh(r['generation_wh'])}, so the net "
                f"was {kwh(r['net_wh'])}."
            )
    out += since_first_reading(ctx, q, made)
    if q.per_day and r["per_day_wh"] is not None:
        out += f" That is {kwh(r['per_day_wh'])} a day on average."
    if q.per_hour and r.get("days"):
        out += f" That is {kwh(r['consumption_wh'] / (r['days'] * 24))} an hour on average."
    out += _breakdown_table(
        ctx,
        r,
        q,
        granularity,
        ("Energy", "Coverage"),
        lambda row: (kwh_or_none(row["consumption_wh"]), percent_or_none(row["coverage"])),
    )
    return out + coverage_note(r["coverage"])


def _own_generation(r: dict[str, Any]) -> str:
    """What the household's own generation did beside the grid import: the rest of the use it
    covered (self-consumption) and what it sent to the grid."""
    if not r["generation_wh"] or r["generation_wh"] < 1 or r["self_consumption_wh"] is None:
        return ""
    return (
        f" Your own generation covered {kwh(r['self_consumption_wh'])} of the "
        f"{kwh(r['consumption_wh'])} used; of the {kwh(r['generation_wh'])} generated, "
        f"{kwh(r['export_wh'] or 0.0)} went to the grid."
    )


RUNNING = re.compile(
    r"\bto (charge|run|heat|wash)\b|\bwhile (it'?s )?(charging|running|on|heating)\b|"
    r"\bwhen (it'?s )?(on|running|charging)\b",
    re.IGNORECASE,
)


def _per_hour(q: Question, r: dict[str, Any], made: ToolCall, call: Call) -> str:
    """An hour's cost: over every hour of the range, or (for "to charge", "while running") over
    the hours the device ran, from its runs over the same range."""
    hours = r["days"] * 24
    out = (
        f" That is **{money(r['cost'] / hours, r['currency'])} an hour** on average "
        f"({kwh(r['consumption_wh'] / hours)} an hour over those {hours:,.0f} hours)."
    )
    if not (q.target.devices and RUNNING.search(q.text)):
        return out
    span = made.evidence["range"]
    runs = call(
        "power_runs",
        start=span["start"],
        end=span["end"],
        label=span["label"],
        **target_args(q.target),
    )
    if not runs.ok or not runs.result["hours_beyond"] or runs.result["cost"] is None:
        return out
    running = runs.result
    on_hours = running["hours_beyond"]
    return (
        f" While it runs it costs **{money(running['cost'] / on_hours, r['currency'])} an "
        f"hour** ({kwh(running['energy_wh'] / on_hours)} an hour over the {on_hours:,.1f} "
        f"hours it ran above {watts(running['threshold_w'])})."
        + out.replace(" That is", " Over every hour of the range that is", 1)
    )


def _cost(ctx: ToolContext, q: Question, call: Call) -> str:
    granularity = q.grouping if q.grouping in {"hour", "day", "week", "month"} else "total"
    made = call("cost", granularity=granularity, **_breakdown_range(q, granularity))
    if not made.ok:
        return made.error
    r = made.result
    who = scope(q.target)
    if not r["coverage"] or r["cost"] is None:
        return no_data(who, made)
    subject = "You spent" if who == "your household" else f"{cap(who)} cost"
    out = (
        f"{subject} **{money(r['cost'], r['currency'])}** {when(made.evidence)}: "
        f"{kwh(r['import_wh'])} bought from the grid at "
        f"{price(r['price_per_kwh'], r['currency'])}."
    )
    out += _own_generation(r) + since_first_reading(ctx, q, made)
    if q.per_day and r["per_day_wh"] is not None and r["days"]:
        out += f" That is {money(r['cost'] / r['days'], r['currency'])} a day on average."
    if q.per_hour and r["days"]:
        out += _per_hour(q, r, made, call)

    def cost_cells(row: dict[str, Any]) -> tuple[str, str]:
        cost = "no data" if row["cost"] is None else money(row["cost"], r["currency"])
        return cost, kwh_or_none(row["consumption_wh"])

    out += _breakdown_table(ctx, r, q, granularity, ("Cost", "Energy"), cost_cells)
    return out + coverage_note(r["coverage"]) + cost_line(ctx)


def power_stats_call(q: Question, call: Call) -> ToolCall | str:
    """The power figures of the question's range and target, or what to say instead."""
    made = call("power_stats", **range_args(q), **target_args(q.target))
    return _instead_of_figures(made, scope(q.target)) or made


def _power(ctx: ToolContext, q: Question, call: Call) -> str:
    made = power_stats_call(q, call)
    if isinstance(made, str):
        return made
    r, span = made.result, when(made.evidence)
    if q.target.devices and len(r["per_device"]) <= 3:
        lines = per_device_lines(
            r["per_device"],
            span,
            "avg_w",
            lambda name, row: (
                f"The {name} averaged **{watts(row['avg_w'])}** {span}; its highest reading "
                f"was {watts(row['max_w'])}"
                + (f" ({clock(row['max_at'])})" if row["max_at"] else "")
                + f" and its lowest {watts(row['min_w'])}."
            ),
        )
        return " ".join(lines) + coverage_note(r["coverage"])
    out = f"{cap(span)}, {scope(q.target)} averaged **{watts(r['household_avg_w'])}**."
    if r["peak_hour_avg_w"] is not None:
        out += (
            f" The busiest hour was {clock(r['peak_hour_start'])[:-3]}:00 at "
            f"{watts(r['peak_hour_avg_w'])} on average."
        )
    return out + coverage_note(r["coverage"])


# --- rankings and extremes ---------------------------------------------------------------------


def answer_ranking(ctx: ToolContext, q: Question, call: Call) -> str:
    by_room = q.grouping == "room"
    args = range_args(q)
    if q.target.rooms and not by_room:
        args["rooms"] = list(q.target.rooms)
    made = call(
        "top_devices",
        limit=max(1, min(q.limit, 20)),
        order=q.order,
        group_by="room" if by_room else "device",
        **args,
    )
    if not made.ok:
        return made.error
    r = made.result
    ranking = [row for row in r["ranking"] if row["coverage"] and row["coverage"] > 0]
    if not ranking:
        return no_data(scope(q.target), made)
    first = ranking[0]
    label = escape_markdown(first["room"] if by_room else first["name"])
    verb = "used the most" if q.order == "most" else "used the least"
    share = f", {percent(first['share'])} of the total" if first["share"] else ""
    out = f"{cap(when(made.evidence))}, **{label}** {verb}: {kwh(first['consumption_wh'])}{share}."
    costs: dict[int, str] = {}
    if "cost" in q.metrics:
        # What each ranked device or room cost, from the cost tool (money is never derived here).
        for row in ranking:
            side = {"rooms": [row["room"]]} if by_room else {"devices": [row["device_id"]]}
            priced = call("cost", **range_args(q), **side)
            if priced.ok and priced.result["cost"] is not None:
                costs[row["rank"]] = money(priced.result["cost"], priced.result["currency"])
        if costs:
            out += f" It cost {costs[first['rank']]}." if first["rank"] in costs else ""
    if len(ranking) > 1:
        lines = "\n".join(
            f"{row['rank']}. {escape_markdown(row['room'] if by_room else row['name'])}: "
            f"{kwh_or_none(row['consumption_wh'])}"
            + (f", {costs[row['rank']]}" if row["rank"] in costs else "")
            + (f" ({percent(row['share'])})" if row["share"] else "")
            for row in ranking
        )
        out += "\n\n" + lines
    return out + coverage_note(r["coverage"]) + (cost_line(ctx) if costs else "")


def _granularity(q: Question) -> str:
    if q.grouping in {"hour", "day", "week", "month"}:
        return q.grouping
    words = re.sub(r"\b(last|this|past|previous) (week|month|year)\b", "", q.text.lower())
    match = re.search(r"\b(hour|day|week|month)s?\b", words)
    return match.group(1) if match else "day"


def answer_extreme_period(ctx: ToolContext, q: Question, call: Call) -> str:
    granularity = _granularity(q)
    tool = "cost" if "cost" in q.metrics else "energy_usage"
    args = range_args(q)
    if not q.periods and granularity in LONG_DEFAULTS:
        # "Which month was the most expensive?": more than the last 7 days to choose from.
        args["period"] = LONG_DEFAULTS[granularity]
    made = call(tool, granularity=granularity, **args, **target_args(q.target))
    if not made.ok:
        return made.error
    r = made.result
    least = q.order == "least"
    generated = tool == "energy_usage" and "generation" in q.metrics and "highest_generation" in r
    key = "generation" if generated else ""
    pick = r[f"lowest_{key}".rstrip("_")] if least else r[f"highest_{key}".rstrip("_")]
    if pick is None:
        return no_data(scope(q.target), made)
    words = ("cheapest", "most expensive") if tool == "cost" else ("lowest", "highest")
    figure = kwh(pick["consumption_wh"])
    if generated:
        figure = f"{kwh(pick['generation_wh'])} generated"
        if q.target.everything and pick.get("export_wh") is not None:
            # the household's export (a generator alone "exports" all it makes)
            figure += f", {kwh(pick['export_wh'])} of it exported"
    if tool == "cost":
        figure = f"{money(pick['cost'], r['currency'])} ({kwh(pick['consumption_wh'])} used)"
    out = (
        f"The {words[0] if least else words[1]} {granularity} for {scope(q.target)} "
        f"{when(made.evidence)} was **{period_name(pick, granularity, ctx.household.tz)}**: "
        f"{figure}."
    )
    if pick["coverage"] < LOW_COVERAGE:
        out += f" (Readings cover {percent(pick['coverage'])} of it.)"
    cut = [row for row in r["series"] if row.get("whole") is False]
    if cut:
        out += (
            f" I compared whole {granularity}s only: {len(cut)} {granularity}"
            + ("s" if len(cut) > 1 else "")
            + " cut short by the range, by now or by the start of the readings "
            + ("were" if len(cut) > 1 else "was")
            + " left out."
        )
    return out + (cost_line(ctx) if tool == "cost" else "")


def answer_tariff(ctx: ToolContext, q: Question, call: Call) -> str:
    made = call("cost", period="today")
    if not made.ok:
        return made.error
    # The cost tool's evidence states the tariff in force, time-of-use periods included.
    note = made.evidence.get("note") or ""
    words = note.split("Here: ", 1)[1].rstrip(".") if "Here: " in note else ""
    r = made.result
    out = (
        f"Your tariff today: {words}."
        if words
        else (f"You pay {price(r['price_per_kwh'], r['currency'])} for energy from the grid.")
    )
    return out + f"\n\n_{COST_RULE}_"


__all__ = [
    "answer_tariff",
    "answer_extreme_period",
    "power_stats_call",
    "answer_ranking",
    "answer_total",
    "per_device_lines",
    "range_args",
    "target_args",
]

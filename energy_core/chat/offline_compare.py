"""The offline analyst's comparisons: two periods, two devices or rooms, or parts of the day
side by side, each figure from one tool call."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from energy_core.chat.offline_figures import Call, cost_line, range_args, target_args
from energy_core.chat.question import Question
from energy_core.chat.toolbase import ToolContext
from energy_core.chat.understand_kind import EXPLAIN as WHY
from energy_core.chat.wording import (
    adverbial,
    cap,
    coverage_note,
    kwh,
    money,
    no_data,
    percent,
    scope,
    used,
    watts,
    when,
)
from energy_core.stats.period import add_days, time_of_day_bounds


def _figure(r: dict[str, Any], cost: bool) -> str:
    if cost:
        return "no data" if r["cost"] is None else f"**{money(r['cost'], r['currency'])}**"
    return "no data" if r["consumption_wh"] is None else f"**{kwh(r['consumption_wh'])}**"


def _compare_selections(ctx: ToolContext, q: Question, call: Call) -> str:
    cost = "cost" in q.metrics
    made = [
        call("cost" if cost else "energy_usage", **range_args(q), **target_args(side))
        for side in q.sides
    ]
    failed = [m for m in made if not m.ok]
    if failed:
        return failed[0].error
    key = "cost" if cost else "consumption_wh"
    parts = [
        f"{cap(scope(side))}: {_figure(m.result, cost)}"
        for side, m in zip(q.sides, made, strict=True)
    ]
    out = f"{cap(when(made[0].evidence))}:\n\n" + "\n".join(f"- {p}" for p in parts)
    known = [(side, m.result[key]) for side, m in zip(q.sides, made, strict=True)]
    known = [(side, v) for side, v in known if v is not None]
    if len(known) >= 2:
        ordered = sorted(known, key=lambda sv: -sv[1])
        (top, a), (_, b) = ordered[0], ordered[1]
        unit = (lambda v: money(v, made[0].result["currency"])) if cost else kwh
        more = "cost more" if cost else "used more"
        out += f"\n\n{cap(scope(top))} {more}, by {unit(a - b)}"
        if b > 0 and a >= 3 * b:
            out += f" ({a / b:,.0f} times as much)."
        else:
            out += f" ({(a - b) / b * 100:.0f}% more)." if b > 0 else "."
    missing = [side for side, m in zip(q.sides, made, strict=True) if m.result[key] is None]
    if missing:
        out += (
            f"\n\nThere are no readings for {scope(missing[0])} in that period, so I give no "
            "figure for it (no data is not zero)."
        )
    if WHY.search(q.text) and len(known) >= 2:
        out += _why_more(q, made, call)
    coverages = [m.result["coverage"] for m in made if m.result["coverage"] is not None]
    return (
        out
        + coverage_note(min(coverages) if coverages else None)
        + (cost_line(ctx) if cost else "")
    )


def _why_more(q: Question, made: list, call: Call) -> str:
    """Why one side used more than the other: how long each ran (above its standby level) and
    how much power it drew while running, over the same range."""
    span = made[0].evidence["range"]
    timing = {"start": span["start"], "end": span["end"], "label": span["label"]}
    if q.time_of_day:
        timing["time_of_day"] = q.time_of_day
    rows = []
    for side in q.sides:
        runs = call("power_runs", **timing, **target_args(side))
        if not runs.ok:
            return ""
        r = runs.result
        hours = r["hours_beyond"] or 0.0
        rows.append((side, hours, r["energy_wh"] / hours if hours else 0.0, r))
    rows.sort(key=lambda row: -row[1] * row[2])
    lines = [
        f"{cap(scope(side))} ran (above {watts(r['threshold_w'])}) for {hours:,.1f} h, "
        f"{percent(r['share_of_covered'] or 0)} of the time, drawing {watts(power)} on average "
        "while running"
        if hours
        else f"{cap(scope(side))} did not run (its power stayed at or below "
        f"{watts(r['threshold_w'])})"
        for side, hours, power, r in rows
    ]
    (top, top_h, top_w, _), (other, other_h, other_w, _) = rows[0], rows[1]
    if not other_h:
        reason = f"{scope(other)} did not run"
    elif top_h >= other_h and top_w >= other_w:
        reason = "it ran longer and drew more power while running"
    elif top_h >= other_h:
        reason = (
            f"it ran {top_h / other_h:,.1f} times as long, though it draws less power "
            f"({watts(top_w)} against {watts(other_w)})"
        )
    else:
        reason = (
            f"it draws {top_w / other_w:,.1f} times the power while running, though it ran "
            f"for less time ({top_h:,.1f} h against {other_h:,.1f} h)"
        )
    return "\n\n**Why**: " + ". ".join(lines) + f". {cap(scope(top))} used more because {reason}."


def _compare_times_of_day(ctx: ToolContext, q: Question, call: Call) -> str:
    cost = "cost" in q.metrics
    key = "cost" if cost else "consumption_wh"
    made = [
        call(
            "cost" if cost else "energy_usage",
            **{**range_args(q, time_of_day=False), "time_of_day": part},
            **target_args(q.target),
        )
        for part in q.times_of_day[:2]
    ]
    failed = [m for m in made if not m.ok]
    if failed:
        return failed[0].error
    plain = {**made[0].evidence["range"], "time_of_day": None}
    plain["description"] = plain["description"].split(", ")[0]
    span = when({"range": plain})
    lines = []
    for part, m in zip(q.times_of_day, made, strict=False):
        first, last = time_of_day_bounds(part)
        lines.append(f"- {cap(part)} ({first:02d}:00-{last:02d}:00): {_figure(m.result, cost)}")
    out = f"{cap(scope(q.target))} {span}:\n\n" + "\n".join(lines)
    values = [m.result[key] for m in made]
    if None not in values:
        (a, b), parts = values, q.times_of_day
        bigger = parts[0] if a >= b else parts[1]
        unit = (lambda v: money(v, ctx.currency)) if cost else kwh
        out += f"\n\nThe {bigger} used more, by {unit(abs(a - b))}."
    return out + (cost_line(ctx) if cost else "")


def answer_comparison(ctx: ToolContext, q: Question, call: Call) -> str:
    if q.comparison == "selections":
        return _compare_selections(ctx, q, call)
    if q.comparison == "times_of_day":
        return _compare_times_of_day(ctx, q, call)
    periods = list(q.periods)
    if not periods:
        from energy_core.chat.periods import parse_period

        periods = [
            parse_period(
                "today" if q.comparison == "same_day_last_week" else "last 7 days",
                now=ctx.now,
                timezone=ctx.timezone,
            )
        ]
    first = periods[0]
    if len(periods) > 1:
        second = periods[1]
    elif q.comparison == "same_day_last_week":
        second = replace(
            first,
            start=add_days(first.start, -7),
            end=add_days(first.end, -7),
            full_end=add_days(first.full_end, -7),
            label="the same day a week earlier",
        )
    elif q.comparison == "last_year":
        second = first.same_period_last_year()
    else:
        second = first.previous()
    args: dict[str, Any] = target_args(q.target)
    for prefix, period in (("first", first), ("second", second)):
        args[f"{prefix}_start"] = period.start.isoformat()
        args[f"{prefix}_end"] = period.full_end.isoformat()
        args[f"{prefix}_label"] = period.label
    if q.time_of_day:
        args["time_of_day"] = q.time_of_day
    made = call("compare_periods", **args)
    if not made.ok:
        return made.error
    r = made.result
    a, b = r["first"], r["second"]
    who = scope(q.target)
    if not a["coverage"] and not b["coverage"]:
        return no_data(who, made)
    a_when, b_when = when(made.evidence), when(made.evidence, "second_range")
    cost = "cost" in q.metrics
    key, verb = ("cost", "cost") if cost else ("consumption_wh", "used")

    def figure(side: dict[str, Any]) -> str:
        return f"**{money(side['cost'], ctx.currency)}**" if cost else used(side)

    pairs = ((a, a_when), (b, b_when))
    known = [f"{figure(side)} {span}" for side, span in pairs if side[key] is not None]
    out = f"{cap(who)} {verb} {' and '.join(known)}." if known else ""
    for side, span in pairs:
        if side[key] is None:
            out += f" There are no readings {span}, so I give no figure for it."
    if a["consumption_wh"] is None or b["consumption_wh"] is None:
        out += " Without both figures there is no change to give (no data is not zero)."
        return out + (cost_line(ctx) if cost else "")
    partial = a["partial"] or b["partial"]
    change = r["per_day_change_pct"] if partial else r["change_pct"]
    if cost:
        change = r["per_day_cost_change_pct"] if partial else r["cost_change_pct"]
    if not r["comparable"]:
        out += (
            f" I do not give a change in percent: {r['not_comparable_because']}, so the "
            "two are not comparable."
        )
    elif change is not None:
        direction = "more" if change > 0 else "less"
        basis = "a day " if partial else ""
        what = "spent " if cost else ""
        out += (
            f" That is {abs(change):.0f}% {direction} {what}{basis}{adverbial(a['label'])} "
            f"than {adverbial(b['label'])}."
        )
        if partial:
            out += " (I compare daily averages because one period is not over yet.)"
    coverages = [c for c in (a["coverage"], b["coverage"]) if c is not None]
    return (
        out
        + coverage_note(min(coverages) if coverages else None)
        + (cost_line(ctx) if cost else "")
    )


__all__ = ["answer_comparison"]

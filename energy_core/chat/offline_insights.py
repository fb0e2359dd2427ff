"""The offline analyst's answers about patterns and state: typical profiles (when a device usually
runs, weekdays against weekends), why a period was high, the month's bill projected, solar split
into self-consumed and exported, the always-on load, data coverage, device status and the list
of devices. Every number comes from a tool result."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from energy_core.chat.offline_figures import (
    cost_line,
    per_device_lines,
    range_args,
    target_args,
)
from energy_core.chat.question import Question
from energy_core.chat.render import escape_markdown
from energy_core.chat.toolbase import ToolCall, ToolContext
from energy_core.chat.understand_kind import WEEK_NUMBER
from energy_core.chat.wording import (
    cap,
    clock,
    coverage_note,
    hour_ranges,
    kwh,
    listing,
    local_time,
    money,
    no_data,
    percent,
    scope,
    watts,
    when,
)
from energy_core.insights import TOTAL_TITLES, Mover
from energy_core.stats import Change

Call = Callable[..., ToolCall]
CLEAR_PEAK = 1.25  # a busiest hour this many times the day's average stands out


def _profile_args(q: Question) -> dict[str, Any]:
    args = range_args(q, time_of_day=False)
    return {**args, **target_args(q.target)}


def _all_day(profile: list[dict[str, Any]], top: dict[str, Any]) -> str:
    """A device that draws at least half its busiest hour's power in every hour of the day (a
    fridge, a router): it runs all day, and its busiest hour is named only when it stands out,
    at least ``CLEAR_PEAK`` times the day's average."""
    mean = sum(p["avg_w"] for p in profile) / len(profile)
    if top["avg_w"] >= CLEAR_PEAK * mean:
        return (
            f"runs all day ({watts(mean)} on average); it uses the most power at "
            f"{top['hour']:02d}:00 ({watts(top['avg_w'])} on average)"
        )
    return (
        f"runs all day at a steady {watts(mean)} on average, with no hour clearly "
        f"busier than the others (the most is {watts(top['avg_w'])} at {top['hour']:02d}:00)"
    )


def answer_profile(ctx: ToolContext, q: Question, call: Call) -> str:
    split = q.grouping == "weekday"
    made = call("hourly_profile", split="weekday_weekend" if split else "none", **_profile_args(q))
    if not made.ok:
        return made.error
    r = made.result
    who = scope(q.target)
    span = when(made.evidence)
    if split:
        wd, we = r["weekday"], r["weekend"]
        if not wd["profile"] and not we["profile"]:
            return no_data(who, made)
        lines = []
        for name, part in (("weekday", wd), ("weekend day", we)):
            if not part["profile"]:
                lines.append(f"- On a typical {name}: no data.")
                continue
            peak = part["peak_hours"][0]
            day = f"{kwh(part['typical_day_wh'])} a day, " if part["typical_day_wh"] else ""
            lines.append(
                f"- On a typical {name}: {day}busiest at {peak['hour']:02d}:00 "
                f"({watts(peak['avg_w'])} on average)."
            )
        out = f"{cap(span)}, {who} on weekdays and at weekends:\n\n" + "\n".join(lines)
        if wd["typical_day_wh"] and we["typical_day_wh"]:
            diff = (we["typical_day_wh"] - wd["typical_day_wh"]) / wd["typical_day_wh"] * 100
            out += (
                f"\n\nA weekend day uses {abs(diff):.0f}% {'more' if diff > 0 else 'less'} than "
                "a weekday."
            )
        return out + coverage_note(r["coverage"])
    if not r["profile"]:
        return no_data(who, made)
    consumers = not any(d.is_generator for d in q.target.devices)
    if consumers and r["peak_hours"] and not r["peak_hours"][0]["avg_w"]:
        # Readings of 0 W all along: no hour of use to name (not "the most at 00:00 (0.0 W)").
        return f"{cap(span)}, {who} drew no power: every reading was 0 W." + coverage_note(
            r["coverage"]
        )
    peaks = ", ".join(f"{p['hour']:02d}:00 ({watts(p['avg_w'])})" for p in r["peak_hours"])
    quiet = r["quietest_hours"][0]
    if q.target.devices and len(r["usual_hours"]) == 24:
        out = f"{cap(span)}, {who} {_all_day(r['profile'], r['peak_hours'][0])}"
    elif q.target.devices and r["usual_hours"]:
        out = (
            f"{cap(span)}, {who} usually runs {hour_ranges(r['usual_hours'])}; it uses the "
            f"most power at {peaks} on average"
        )
    else:
        out = f"{cap(span)}, {who} uses the most power at {peaks} on average"
    out += f", and the least at {quiet['hour']:02d}:00 ({watts(quiet['avg_w'])})."
    if r["typical_day_wh"] and re.search(r"\b(daily|a day|per day|each day|day to day)\b", q.text):
        out = (
            f"A typical day is **{kwh(r['typical_day_wh'])}** (the average of each hour of the "
            f"day added up). " + out
        )
    return out + coverage_note(r["coverage"])


def answer_explain(ctx: ToolContext, q: Question, call: Call) -> str:
    made = call("explain_period", **_profile_args(q))
    if not made.ok:
        return made.error
    r = made.result
    who = scope(q.target)
    if r["actual_wh"] is None:
        return no_data(who, made)
    span = when(made.evidence)
    diff = r["difference_wh"]
    subject = "you" if who == "your household" else who
    hours = [h for h in r["hours"] if h["difference_wh"] > 0]
    several_days = " - " in made.evidence["range"]["description"]
    typical = "the typical days" if several_days else "a typical day like it"
    head = (
        f"{cap(span)} {subject} used **{kwh(r['actual_wh'])}**, against "
        f"{kwh(r['typical_wh'])} on {typical} ({r['baseline_days']} days before): "
        f"{kwh(abs(diff))} {'more' if diff >= 0 else 'less'}."
    )
    # The devices that moved the way the whole did, furthest first: below typical on a day
    # under it (the tool lists the devices most above typical first).
    devices = r["devices"] if diff >= 0 else list(reversed(r["devices"]))
    movers = [d for d in devices if (d["difference_wh"] > 0) == (diff >= 0) and d["difference_wh"]]
    lines = [
        f"- {escape_markdown(d['name'])}: {kwh(d['actual_wh'])} against a typical "
        f"{kwh(d['typical_wh'])} ({'+' if d['difference_wh'] >= 0 else '-'}"
        f"{kwh(abs(d['difference_wh']))})"
        for d in devices[:3]
    ]
    out = head
    if movers and len(r["devices"]) > 1:
        share = abs(movers[0]["difference_wh"]) / abs(diff) if diff else 0.0
        part = "Most of the difference" if share > 0.5 else "The largest part of the difference"
        out += f" {part} is the {escape_markdown(movers[0]['name'])}."
    out += "\n\nThe devices that differ most from their typical day:\n" + "\n".join(lines)
    if hours:
        moment = "%a %-d %b %H:00" if several_days else "%H:00"
        out += (
            "\n\nThe hours furthest above typical: "
            + "; ".join(
                f"{local_time(h['start']):{moment}} ({kwh(h['actual_wh'])} against "
                f"{kwh(h['typical_wh'])})"
                for h in hours
            )
            + "."
        )
    return out + coverage_note(r["coverage"])


def answer_forecast(ctx: ToolContext, q: Question, call: Call) -> str:
    made = call("project_month")
    if not made.ok:
        return made.error
    r = made.result
    currency = r["currency"]
    if r["projected_cost"] is None:
        return (
            "I cannot project this month's bill: there are not enough readings of this month "
            f"or of the last {r['basis_days']} days to go on."
        )
    return (
        f"**Projection** (not a reading): your bill for {r['month']} would come to about "
        f"**{money(r['projected_cost'], currency)}** ({kwh(r['projected_import_wh'])} from the "
        f"grid). So far this month: {money(r['so_far_cost'], currency)} "
        f"({kwh(r['so_far_import_wh'])}). For the remaining {r['remaining_days']:.1f} days: "
        f"about {money(r['rest_cost'], currency)}.\n\n"
        f"Assumptions: each remaining hour uses what the same weekday and hour used on average "
        f"over the last {r['basis_days']} whole days, priced at your tariff for each hour; "
        "standing charges are not included." + cost_line(ctx)
    )


def _device_standby(q: Question, call: Call) -> str:
    """A device's standby: its lowest reading (the always-on load is the household's figure,
    not one device's)."""
    made = call("power_stats", **range_args(q), **target_args(q.target))
    if not made.ok:
        return made.error
    span = when(made.evidence)
    lines = per_device_lines(
        made.result["per_device"],
        span,
        "min_w",
        lambda name, row: (
            f"The {name}'s lowest reading {span} was **{watts(row['min_w'])}** (its standby "
            f"draw at most), against an average of {watts(row['avg_w'])}."
        ),
    )
    return (
        " ".join(lines)
        + " The always-on load ('What is my always-on load?') is a figure of the whole "
        "household." + coverage_note(made.result["coverage"])
    )


def answer_baseload(ctx: ToolContext, q: Question, call: Call) -> str:
    if q.target.devices:
        return _device_standby(q, call)
    made = call("baseload")
    r = made.result
    if r["baseload_w"] is None:
        return no_data("your household", made)
    return (
        f"Your always-on load is about **{watts(r['baseload_w'])}**: the "
        f"{r['percentile']}th percentile of hourly household consumption "
        f"{when(made.evidence)} ({r['hours_used']} well-covered hours). Left running all "
        f"year that is {kwh(r['annual_kwh'] * 1000)}, about "
        f"{money(r['annual_cost'], r['currency'])}." + coverage_note(r["coverage"])
    )


def answer_coverage(ctx: ToolContext, q: Question, call: Call) -> str:
    args = range_args(q)
    if not args and re.search(r"\bwhen\b|\bever\b|\blast time\b", q.text, re.IGNORECASE):
        # "when was the fridge offline": a gap is looked for further back than a week
        args = {"period": "last 30 days"}
    if q.target.devices:
        args["devices"] = q.target.device_ids()
    made = call("data_coverage", **args)
    if not made.ok:
        return made.error
    rows = [r for r in made.result["per_device"] if r["coverage"] is not None]
    if made.result["coverage"] is None:
        return no_data("the devices asked about", made)
    worst = min(rows, key=lambda r: r["coverage"], default=None)
    out = (
        f"Readings cover {_share(made.result['coverage'])} of the time {when(made.evidence)} "
        "across the devices asked about (each from its first reading on)."
    )
    starts = [r["first_reading_at"] for r in rows if r["first_reading_at"]]
    if starts and min(starts) > made.evidence["range"]["start"]:
        out += (
            f" The first readings are from {local_time(min(starts)):%a %-d %b %Y %H:%M}; "
            "there is no data before that."
        )
    if worst is not None and worst["coverage"] < 0.999:
        out += (
            f" The least complete is {escape_markdown(worst['name'])} at "
            f"{_share(worst['coverage'])} ({worst['missing_hours']:.1f} hours missing)."
        )
    return out + _gap_lines(rows, q)


def _share(coverage: float) -> str:
    """A coverage in percent, with a decimal where rounding would make a gap read as 100%."""
    return f"{coverage * 100:.1f}%" if 0.995 <= coverage < 1 else percent(coverage)


def _duration(minutes: float) -> str:
    hours, rest = divmod(round(minutes), 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def _gap_lines(rows: list[dict[str, Any]], q: Question) -> str:
    """When each device had no reading holding power (offline, or not sending)."""
    listed = [r for r in rows if r.get("gap_count") is not None]
    if not listed:
        return ""
    lines = []
    for r in listed:
        name = escape_markdown(r["name"])
        if not r["gap_count"]:
            if q.target.devices or len(listed) == 1:
                lines.append(f"- {name}: no gap, it reported throughout.")
            continue
        stretches = "; ".join(
            f"{local_time(g['start']):%a %-d %b %H:%M} - {local_time(g['end']):%a %-d %b %H:%M} "
            f"({_duration(g['minutes'])})"
            for g in r["gaps"]
        )
        more = (
            f" (the {len(r['gaps'])} longest of {r['gap_count']})"
            if r["gap_count"] > len(r["gaps"])
            else ""
        )
        lines.append(f"- {name} had no readings{more}: {stretches}.")
    if not lines:
        return " No device had a gap: every one reported throughout."
    return "\n\nWhen the readings stopped (offline, or not sending):\n" + "\n".join(lines)


def answer_status(ctx: ToolContext, q: Question, call: Call) -> str:
    # The status tool takes devices: a room is the devices in it.
    rooms = set(q.target.rooms)
    chosen = q.target.device_ids() + [
        d.device_id for d in ctx.devices if d.location in rooms and d.device_id
    ]
    args = {"devices": list(dict.fromkeys(chosen))} if chosen else {}
    made = call("device_status", **args)
    if not made.ok:
        return made.error
    rows = made.result["devices"]
    if not rows:
        return "You have no devices yet."
    lines = []
    for r in rows:
        name = escape_markdown(r["name"])
        seen = (
            f"last reading {clock(r['last_reading_at'])}"
            if r["last_reading_at"]
            else ("no readings yet")
        )
        if r["online"]:
            lines.append(f"- {name}: reporting, {watts(r['power_w'])} now ({seen})")
        else:
            lines.append(f"- {name}: **not reporting** ({seen})")
    online = made.result["online"]
    if len(rows) == 1:
        r = rows[0]
        name = escape_markdown(r["name"])
        if r["online"] and r["power_w"] is not None:
            verb = "generating" if r["power_w"] < 0 else "drawing"
            head = f"The {name} is online, {verb} **{watts(abs(r['power_w']))}** now."
        else:
            head = f"The {name} is {'online' if r['online'] else 'offline (not reporting)'}."
        seen = (
            f"last reading {clock(r['last_reading_at'])}"
            if r["last_reading_at"]
            else ("no readings yet")
        )
        return f"{head} ({cap(seen)}.)"
    elif online == len(rows):
        head = f"All {len(rows)} devices are reporting (online)."
    else:
        missing = [r["name"] for r in rows if not r["online"]]
        head = f"{online} of {len(rows)} devices are reporting; not reporting: {listing(missing)}."
    consumers = [
        r
        for r in rows
        if r["online"]
        and r["power_w"] is not None
        and not any(d.is_generator for d in ctx.devices if d.device_id == r["device_id"])
    ]
    if len(rows) > 1 and consumers:
        head += f" Consuming devices draw {watts(sum(r['power_w'] for r in consumers))} now."
    return head + "\n\n" + "\n".join(lines)


def answer_inventory(ctx: ToolContext, q: Question, call: Call) -> str:
    made = call("list_devices")
    r = made.result
    if not r["devices"]:
        return "You have no devices yet. Add one on the Devices page, then ask again."
    rooms_asked = set(q.target.rooms)
    if rooms_asked:
        # "What devices are in the kitchen?": the devices of the rooms named.
        listed = [d for d in r["devices"] if d["location"] in rooms_asked]
        names = ", ".join(escape_markdown(n) for n in sorted(rooms_asked))
        return (
            f"In the {names}: "
            + ", ".join(f"**{escape_markdown(d['name'])}** ({d['type']})" for d in listed)
            + "."
        )
    lines = []
    for d in r["devices"]:
        extra = ", generates power" if d["generator"] else ""
        extra += ", grid meter" if d["grid_meter"] else ""
        room = f" in the {escape_markdown(d['location'])}" if d["location"] else ""
        lines.append(f"- **{escape_markdown(d['name'])}** ({d['type']}){room}{extra}")
    rooms = f" in {counted(len(r['rooms']), 'room')}" if r["rooms"] else ""
    return f"You have {counted(r['count'], 'device')}{rooms}:\n\n" + "\n".join(lines)


def counted(n: int, noun: str) -> str:
    """'1 device', '3 devices'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


__all__ = [
    "answer_baseload",
    "answer_coverage",
    "answer_explain",
    "answer_forecast",
    "answer_inventory",
    "answer_profile",
    "answer_status",
]


WEEK_BEFORE_LAST = re.compile(r"\bweek before last\b|\b(?:two|2) weeks ago\b", re.IGNORECASE)


def _summary_week(ctx: ToolContext, q: Question) -> str:
    """The ``week`` argument of a summary question: the ISO week named ("week 47"), the week
    before last, the week of the period named, else the last whole week."""
    tz = ctx.household.tz
    today = ctx.now.astimezone(tz).date()
    this_monday = today - timedelta(days=today.weekday())
    if number := WEEK_NUMBER.search(q.text):
        year = int(number[1]) if number[1] else today.isocalendar()[0]
        week = int(number[2])
        if not number[1] and (year, week) > today.isocalendar()[:2]:
            year -= 1  # "week 50" in early December of a year not there yet: last year's
        return f"{year}-W{week:02d}"
    if WEEK_BEFORE_LAST.search(q.text):
        monday = this_monday - timedelta(days=14)
    elif q.periods:
        start = q.periods[0].start.astimezone(tz).date()
        monday = start - timedelta(days=start.weekday())
    else:
        return "last"
    if monday == this_monday:
        return "this"
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def answer_summary(ctx: ToolContext, q: Question, call: Call) -> str:
    # insights_report builds on the chat's wording, which imports this package.
    from energy_core.insights_report import change_text, figure, mover_line

    made = call("weekly_summary", week=_summary_week(ctx, q))
    if not made.ok:
        return made.error
    r = made.result
    c = r["currency"]
    totals = r["totals"]
    if all(t["value"] is None for t in totals.values()):
        return f"There are no readings {when(made.evidence)}, so there is nothing to summarise."
    year_before = any(t["last_year"]["baseline"] is not None for t in totals.values())
    against = "the week before" + (" and the same dates a year earlier" if year_before else "")
    lines = [
        f"**Your week at a glance**: {made.evidence['range']['description']}, week {r['week']}, "
        f"against {against}.",
        "",
    ]
    for metric, t in totals.items():
        if metric in ("generation_wh", "export_wh") and not t["value"]:
            continue  # a household without generation: no line of zeros
        line = (
            f"- **{TOTAL_TITLES[metric]}: {figure(metric, t['value'], c)}**, "
            f"{change_text(Change(**t['previous']), metric, c)} on the week before"
        )
        if year_before:
            line += f", {change_text(Change(**t['last_year']), metric, c)} on a year earlier"
        lines.append(line)
    if not year_before:
        lines += ["", "A year earlier has no readings to compare with."]
    movers = [
        Mover(m["device_id"], m["name"], m["metric"], Change(**_change_fields(m)))
        for m in r["movers_previous"][:3]
    ]
    if movers:
        lines += ["", "Changed most on the week before:"]
        lines += [escape_markdown(mover_line(m, c)) for m in movers]
    if r["baseload_w"] is not None:
        always_on = f"Always-on load: about {watts(r['baseload_w'])}"
        if r["baseload_change_w"] is not None:
            delta = r["baseload_change_w"]
            always_on += f", {'+' if delta >= 0 else '-'}{watts(abs(delta))} on the week before"
        lines += ["", always_on + "."]
    titles = [a["title"] for a in r["alerts"]]
    lines += ["", f"Alerts opened that week: {listing(titles, 'none')}."]
    return "\n".join(lines)


def _change_fields(mover: dict[str, Any]) -> dict[str, Any]:
    return {k: mover[k] for k in ("value", "baseline", "delta", "ratio", "comparable", "reason")}

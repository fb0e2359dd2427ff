"""The offline answers about runs and levels, from the ``power_runs`` tool: how long and when the
power was above (or below) a level, and an appliance's runs (what one costs, how many, and when
they usually start)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from energy_core.chat.offline_figures import range_args, target_args
from energy_core.chat.question import Question
from energy_core.chat.toolbase import ToolCall, ToolContext
from energy_core.chat.wording import (
    cap,
    clock,
    coverage_note,
    kwh,
    listing,
    money,
    percent,
    scope,
    watts,
    when,
)

Call = Callable[..., ToolCall]
SHOWN_STRETCHES = 6


def _level(w: float) -> str:
    return f"{w / 1000:g} kW" if w >= 1000 else f"{w:g} W"


def _duration(hours: float) -> str:
    minutes = round(hours * 60)
    if minutes < 60:
        return f"{minutes} min"
    whole, rest = divmod(minutes, 60)
    return f"{whole} h {rest:02d} min" if rest else f"{whole} h"


def _stretch(run: dict[str, Any], *, with_day: bool, below: bool = False) -> str:
    start, end = datetime.fromisoformat(run["start"]), datetime.fromisoformat(run["end"])
    if end.date() != start.date():
        # A stretch into another day says both days.
        span = f"{clock(run['start'])} - {clock(run['end'])}"
    else:
        span = (clock(run["start"]) if with_day else f"{start:%H:%M}") + f"-{end:%H:%M}"
    return span if below else f"{span} (peak {watts(run['peak_w'])})"


def _subject(q: Question, r: dict[str, Any]) -> str:
    if r["generation"]:
        return f"{cap(scope(q.target))}'s generation"
    return cap(scope(q.target)) + ("'s power" if q.target.everything else "")


def answer_threshold(ctx: ToolContext, q: Question, call: Call) -> str:
    made = call(
        "power_runs",
        threshold_w=q.threshold_w,
        below=q.below,
        **range_args(q, time_of_day=False),
        **target_args(q.target),
    )
    if not made.ok:
        return ""
    r, span = made.result, when(made.evidence)
    side = "below" if q.below else "above"
    level = _level(r["threshold_w"])
    subject = _subject(q, r)
    if not r["covered_hours"]:
        return (
            f"I have no readings of {scope(q.target)} {span}, so I cannot say when it was "
            f"{side} {level}."
        )
    if not r["runs"]:
        return f"{subject} was never {side} {level} {span}." + coverage_note(r["coverage"])
    out = (
        f"{subject} was {side} {level} for **{_duration(r['hours_beyond'])}** {span}, "
        f"{r['share_of_covered'] * 100:.0f}% of the time with readings"
    )
    one_day = r["days_with_runs"] == 1 and len({x["start"][:10] for x in r["listed"]}) == 1
    if r["runs"] == 1:
        out += f", in one stretch: {_stretch(r['first'], with_day=True, below=q.below)}."
    elif r["runs"] <= SHOWN_STRETCHES:
        stretches = [_stretch(x, with_day=not one_day, below=q.below) for x in r["listed"]]
        day = f" on {clock(r['first']['start'])[:-6]}" if one_day else ""
        out += f", in {r['runs']} stretches{day}: " + "; ".join(stretches) + "."
    else:
        out += (
            f", in {r['runs']} stretches on {r['days_with_runs']} days; the first "
            f"{_stretch(r['first'], with_day=True, below=q.below)}, the longest "
            f"{_stretch(r['longest'], with_day=True, below=q.below)}."
        )
    return out + coverage_note(r["coverage"])


def answer_runs(ctx: ToolContext, q: Question, call: Call) -> str:
    args = range_args(q, time_of_day=False) or {"period": "last 30 days"}
    if q.run_view == "start" and q.time_of_day:
        args["time_of_day"] = q.time_of_day  # "when do the lights come on in the evening"
    household = q.run_view == "household"
    made = call("power_runs", **args, **target_args(q.target), household_during=household)
    if not made.ok:
        return ""
    r, span = made.result, when(made.evidence)
    name = scope(q.target)
    if household and r["runs"]:
        return _household_during(r, span, name)
    if not r["covered_hours"]:
        return f"I have no readings of {name} {span}, so I cannot count its runs."
    if not r["runs"] and made.arguments.get("time_of_day"):
        return f"None of the runs of {name} started {span}." + coverage_note(r["coverage"])
    if not r["runs"]:
        return (
            f"{cap(name)} did not run {span}: it stayed at its standby level "
            f"({_level(r['threshold_w'])} or less)." + coverage_note(r["coverage"])
        )
    runs = "once" if r["runs"] == 1 else f"{r['runs']} times"
    days = r["days_with_runs"]
    on_days = f" on {days} days" if 1 < days < r["runs"] else ""
    counted = f"{cap(span)}, {name} ran **{runs}**{on_days}"
    rule = (
        f" (a run: above {_level(r['threshold_w'])}, pauses under "
        f"{r['join_minutes']:g} minutes joined)"
    )
    if q.per_day and made.result["runs"] and _days(made) >= 1:
        counted += f", about {r['runs'] / _days(made):.1f} a day"
    per = r["per_run"]
    if q.run_view == "time":
        return (
            f"{cap(span)}, {name} ran for **{_duration(r['hours_beyond'])}**"
            + (
                f" ({percent(r['share_of_covered'])} of the time with readings)"
                if r["share_of_covered"] is not None
                else ""
            )
            + ", in "
            f"{'one run' if r['runs'] == 1 else str(r['runs']) + ' runs'}{rule}; "
            f"the longest run lasted {_duration(r['longest']['minutes'] / 60)} "
            f"({clock(r['longest']['start'])}), and one run {_duration(per['minutes'] / 60)} on "
            "average." + coverage_note(r["coverage"])
        )
    if q.run_view == "start":
        return _starts(q, r, span, name, counted + rule)
    if q.run_view == "end":
        return _ends(r, span, name, counted + rule)
    if q.run_view == "last":
        last = r["last"]
        same_day = last["end"][:10] == last["start"][:10]
        until = f"{datetime.fromisoformat(last['end']):%H:%M}" if same_day else clock(last["end"])
        return (
            f"The last run of {name} {span} began {clock(last['start'])} and lasted "
            f"{_duration(last['minutes'] / 60)}, until {until}, using {kwh(last['energy_wh'])}."
        ) + coverage_note(r["coverage"])
    out = (
        f"{counted}{rule}. One run used **{kwh(per['energy_wh'])}** on average and lasted about "
        f"{_duration(per['minutes'] / 60)}"
    )
    if per["cost"] is not None:
        out += (
            f", costing **{money(per['cost'], r['currency'])}** at the import price of its "
            f"hours (solar not deducted); all {r['runs']} runs came to "
            f"{money(r['cost'], r['currency'])}"
        )
    return out + "." + coverage_note(r["coverage"])


def _household_during(r: dict[str, Any], span: str, name: str) -> str:
    during = r["household_during"]
    runs = "one run" if r["runs"] == 1 else f"{r['runs']} runs"
    return (
        f"{cap(span)}, while {name} ran ({runs}, {_duration(during['hours'])} in all), the "
        f"household used **{kwh(during['energy_wh'])}**: {kwh(during['own_wh'])} by {name} "
        f"itself and {kwh(during['others_wh'])} by everything else. (A run: above "
        f"{_level(r['threshold_w'])}, pauses under {r['join_minutes']:g} minutes joined; the "
        "household is its consuming devices added up from the raw readings, generation not "
        "deducted.)" + coverage_note(during["coverage"])
    )


def _days(made: ToolCall) -> float:
    span = made.evidence["range"]
    start, end = datetime.fromisoformat(span["start"]), datetime.fromisoformat(span["end"])
    return (end - start).total_seconds() / 86_400


def _starts(q: Question, r: dict[str, Any], span: str, name: str, counted: str) -> str:
    """When the runs started: each start on one day, the usual hour over several."""
    if not r["starts"]:
        return (
            f"{cap(span)}, {name} did not go on: it was already running when its readings of "
            f"the period began and ran for {_duration(r['hours_beyond'])} in all."
            + coverage_note(r["coverage"])
        )
    listed = [x for x in r["listed"] if x["switched_on"]]
    already = (
        " (it was already on when its readings of the period began)" if r["on_at_start"] else ""
    )
    if r["days_with_runs"] == 1 and len(listed) <= SHOWN_STRETCHES:
        times = [
            f"**{datetime.fromisoformat(x['start']):%H:%M}** (until "
            f"{datetime.fromisoformat(x['end']):%H:%M}, {kwh(x['energy_wh'])})"
            for x in listed
        ]
        return (
            f"{cap(span)}, {name} went on at " + listing(times, escape=False) + already + "."
        ) + coverage_note(r["coverage"])
    hours = r["start_hours"]
    top = hours[0]
    usual = [h for h in hours if h["runs"] == top["runs"]]
    usual_words = " and ".join(f"{h['hour']:02d}:00-{(h['hour'] + 1) % 24:02d}:00" for h in usual)
    times = "time" if top["runs"] == 1 else "times"
    out = (
        f"{counted}{already}. It most often went on between **{usual_words}** "
        f"({top['runs']} {times}"
        + (" each" if len(usual) > 1 else "")
        + f"); the middle start time was **{r['median_start']}**. The latest run started "
        f"{clock(r['last']['start'])}."
    )
    if r["starts"] > 1 and top["runs"] == 1:
        out += " Its start times vary from day to day, so it has no usual time yet."
    return out + coverage_note(r["coverage"])


def _ends(r: dict[str, Any], span: str, name: str, counted: str) -> str:
    """When the runs ended: each end on one day, the usual hour over several."""
    if not r["end_hours"]:
        return f"{cap(span)}, {name} did not go off: it was still on when the period ended."
    if r["days_with_runs"] == 1 and r["runs"] <= SHOWN_STRETCHES:
        times = [
            f"**{datetime.fromisoformat(x['end']):%H:%M}** (on since "
            f"{datetime.fromisoformat(x['start']):%H:%M})"
            for x in r["listed"]
        ]
        return f"{cap(span)}, {name} went off at {listing(times, escape=False)}." + coverage_note(
            r["coverage"]
        )
    top = r["end_hours"][0]
    usual = [h for h in r["end_hours"] if h["runs"] == top["runs"]]
    words = " and ".join(f"{h['hour']:02d}:00-{(h['hour'] + 1) % 24:02d}:00" for h in usual)
    out = (
        f"{counted}. It most often went off between **{words}** ({top['runs']} "
        f"{'time' if top['runs'] == 1 else 'times'}{' each' if len(usual) > 1 else ''}); the "
        f"middle end time was **{r['median_end']}**."
    )
    return out + coverage_note(r["coverage"])


HANDLERS = {"threshold": answer_threshold, "runs": answer_runs}

__all__ = ["HANDLERS", "answer_runs", "answer_threshold"]

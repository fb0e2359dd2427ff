"""The offline analyst's answer to "is the fridge working properly": a device's runs over a
recent period (how often it ran, how long each time, the share of the time it ran, the power it
drew while running, its energy a day and its gaps) against the same figures over the days before,
its usual pattern; what differs by more than a quarter is said, with both figures. Every number
comes from ``power_runs`` calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from energy_core.chat.question import Question
from energy_core.chat.toolbase import ToolCall, ToolContext
from energy_core.chat.wording import cap, kwh, local_time, percent, scope, watts, when
from energy_core.stats.period import add_days

Call = Callable[..., ToolCall]
USUAL_DAYS = 28
UNUSUAL = 0.25  # a figure this much above or below its usual is said as unusual
LOW_COVERAGE = 0.95


def _figures(r: dict[str, Any]) -> dict[str, float] | None:
    """Runs a day, minutes a run, share of the time running, power while running and energy a
    day, from one ``power_runs`` result; None without readings."""
    days = (r["covered_hours"] or 0) / 24
    if days <= 0:
        return None
    hours = r["hours_beyond"] or 0.0
    return {
        "runs": r["runs"] / days,
        "minutes": (r["per_run"] or {}).get("minutes") or 0.0,
        "duty": r["share_of_covered"] or 0.0,
        "power": r["energy_wh"] / hours if hours else 0.0,
        "energy": r["energy_wh"] / days,
    }


LABELS = {
    "runs": ("runs a day", lambda v: f"{v:.1f}"),
    "minutes": ("minutes a run", lambda v: f"{v:.0f}"),
    "duty": ("share of the time running", percent),
    "power": ("power while running", watts),
    "energy": ("energy a day", kwh),
}
ALWAYS_ON = 0.95  # a device running this share of the time has no runs to count


def _pair(key: str, now: float, usual: float, colon: str = "") -> str:
    label, shape = LABELS[key]
    return f"{label}{colon} {shape(now)} against {shape(usual)} usually"


def answer_health(ctx: ToolContext, q: Question, call: Call) -> str:
    if len(q.target.devices) != 1:
        return (
            "I check one device at a time against its own usual pattern: ask e.g. 'is the "
            f"{ctx.devices[0].name if ctx.devices else 'fridge'} working properly?'"
        )
    device = q.target.devices[0]
    if q.periods:
        period = q.periods[0]
        recent = {"start": period.start.isoformat(), "end": period.full_end.isoformat()}
        recent["label"] = period.label
    else:
        recent = {"period": "last 7 days"}
    devices = [device.device_id]
    now_call = call("power_runs", devices=devices, join_minutes=0, **recent)
    if not now_call.ok:
        return now_call.error
    start = local_time(now_call.evidence["range"]["start"]).astimezone(ctx.household.tz)
    usual_call = call(
        "power_runs",
        devices=devices,
        join_minutes=0,
        start=add_days(start, -USUAL_DAYS).isoformat(),
        end=start.isoformat(),
        label=f"the {USUAL_DAYS} days before",
    )
    if not usual_call.ok:
        return usual_call.error
    name, span = cap(scope(q.target)), when(now_call.evidence)
    now, usual = _figures(now_call.result), _figures(usual_call.result)
    if now is None:
        return (
            f"I can't tell: {scope(q.target)} sent no readings {span}, so there is nothing to "
            "check. If it should be on, it may be offline or switched off at the socket."
        )
    if usual is None:
        return (
            f"I can't compare {scope(q.target)} with its usual pattern yet: it has no readings "
            f"in {usual_call.evidence['range']['description']} to learn it from. {cap(span)}: "
            + "; ".join(f"{LABELS[k][0]} {LABELS[k][1](v)}" for k, v in now.items())
            + "."
        )
    keys = list(LABELS)
    if usual["duty"] >= ALWAYS_ON and now["duty"] >= ALWAYS_ON:
        keys = ["duty", "power", "energy"]  # always on: one long run, nothing to count
    odd = [
        k
        for k in keys
        if abs(now[k] - usual[k]) > UNUSUAL * max(usual[k], 1e-9) and (now[k] or usual[k])
    ]
    lines = "\n".join(
        f"- {_pair(k, now[k], usual[k], ':')}" + (" **(unusual)**" if k in odd else "")
        for k in keys
    )
    coverage = now_call.result["coverage"]
    gaps = ""
    if coverage is not None and coverage < LOW_COVERAGE:
        gaps = (
            f"\n\nIts readings cover only {percent(coverage)} of {span}: it was offline or not "
            "sending for the rest ('when was it offline?' lists when)."
        )
    usual_words = f"its usual pattern ({usual_call.evidence['range']['description']})"
    if not odd:
        verdict = f"{name} looks normal {span}: each figure is within a quarter of {usual_words}."
    else:
        verdict = (
            f"{name} behaved differently {span} from {usual_words}: "
            + "; ".join(_pair(k, now[k], usual[k]) for k in odd)
            + ". That is worth a look"
            + (
                " (a door left open, a failing seal or thermostat)"
                if device.type in ("fridge", "freezer", "fridge_freezer")
                else ""
            )
            + (
                ", though shorter or duller days explain less generation too."
                if device.is_generator
                else ", though a change in how it is used can explain it too."
            )
        )
    return (
        f"{verdict}\n\n{lines}{gaps}\n\n_Runs: stretches above its standby level "
        f"({watts(now_call.result['threshold_w'])}), from the raw readings; 'unusual' is more "
        f"than {percent(UNUSUAL)} away from its usual._"
    )


__all__ = ["answer_health"]

"""The offline analyst's answer to "which night did I use the most": each night of the period on
its own (22:00 to 06:00 the next morning, as "last night" is), one ``energy_usage`` (or ``cost``)
call each, the highest or lowest among the whole nights. A night is not a calendar day, so the
day series cannot give it."""

from __future__ import annotations

from datetime import datetime

from energy_core.chat import offline_figures
from energy_core.chat.offline_figures import Call, cost_line, target_args
from energy_core.chat.periods import Period, parse_period
from energy_core.chat.question import Question
from energy_core.chat.toolbase import ToolCall, ToolContext
from energy_core.chat.wording import cap, kwh, money, scope
from energy_core.stats.period import add_days

NIGHT_FROM, NIGHT_TO = 22, 6
MAX_NIGHTS = 31


def _nights(q: Question, ctx: ToolContext) -> tuple[Period, list[tuple[datetime, datetime]]]:
    """The question's period, and (start, end) of each night that begins on one of its days
    and is over."""
    period = q.period or parse_period("last 7 days", now=ctx.now, timezone=ctx.timezone)
    tz = ctx.household.tz
    day = period.start.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    nights = []
    while day < period.full_end and len(nights) < MAX_NIGHTS:
        start = day.replace(hour=NIGHT_FROM)
        end = add_days(day, 1).replace(hour=NIGHT_TO)
        if end <= ctx.now:
            nights.append((start, end))
        day = add_days(day, 1)
    return period, nights


def _night_name(made: ToolCall) -> str:
    start = datetime.fromisoformat(made.evidence["range"]["start"])
    end = datetime.fromisoformat(made.evidence["range"]["end"])
    return f"the night of {start:%a %-d %b} to {end:%a %-d %b} ({start:%H:%M}-{end:%H:%M})"


def answer_extreme_night(ctx: ToolContext, q: Question, call: Call) -> str:
    cost = "cost" in q.metrics
    tool, key = ("cost", "cost") if cost else ("energy_usage", "consumption_wh")
    period, nights = _nights(q, ctx)
    made = [
        call(
            tool,
            start=start.isoformat(),
            end=end.isoformat(),
            label=f"the night of {start:%a %-d %b}",
            **target_args(q.target),
        )
        for start, end in nights
    ]
    known = [m for m in made if m.ok and m.result["coverage"] and m.result[key] is not None]
    who = scope(q.target)
    if not known:
        return (
            f"I have no readings for {who} on any whole night of that period (a night here is "
            "22:00 to 06:00), so I cannot say which was highest."
        )
    least = q.order == "least"
    pick = (min if least else max)(known, key=lambda m: m.result[key])

    def figure(m: ToolCall) -> str:
        r = m.result
        return money(r["cost"], r["currency"]) if cost else kwh(r["consumption_wh"])

    word = (
        ("cheapest" if cost else "lowest") if least else ("most expensive" if cost else "highest")
    )
    lines = "\n".join(f"- {cap(_night_name(m))}: {figure(m)}" for m in known)
    out = (
        f"The {word} night for {who} was **{_night_name(pick)}**: **{figure(pick)}**, of the "
        f"{len(known)} whole nights that began in {period.describe()}:\n\n{lines}"
    )
    return out + (cost_line(ctx) if cost else "")


def answer_extreme_period(ctx: ToolContext, q: Question, call: Call) -> str:
    if q.grouping == "night":
        return answer_extreme_night(ctx, q, call)
    return offline_figures.answer_extreme_period(ctx, q, call)


__all__ = ["answer_extreme_period"]

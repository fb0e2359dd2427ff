"""The offline analyst: a question read into the question model (``understand``), answered with
the same tool calls an LLM would make, in short sentences built only from the tools' results.
No network, no model.

It never substitutes: a name that matches nothing of the household's, or several things, or only
nearly, is asked back with the options; a question outside the household's meters (or an
instruction to the analyst) says what can be asked instead. It never produces a number no tool
returned. The answers themselves are in ``offline_figures`` (totals, rankings, power),
``offline_compare`` (comparisons) and ``offline_insights`` (profiles, explanations, projections,
solar, status).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from energy_core.chat import (
    offline_compare,
    offline_figures,
    offline_health,
    offline_insights,
    offline_money,
    offline_nights,
    offline_power,
    offline_runs,
    offline_solar,
)
from energy_core.chat.answers import OFFLINE, ChatAnswer
from energy_core.chat.followups import follow_up
from energy_core.chat.question import Question
from energy_core.chat.render import escape_markdown
from energy_core.chat.suggestions import suggested_questions
from energy_core.chat.tools import ToolCall, ToolContext, run_tool
from energy_core.chat.understand import understand
from energy_core.chat.understand_kind import SAVE_BY_STOPPING
from energy_core.chat.wording import kwh, listing, money, watts

log = logging.getLogger(__name__)

Call = Callable[..., ToolCall]
HANDLERS: dict[str, Callable[[ToolContext, Question, Call], str]] = {
    "total": offline_figures.answer_total,
    "ranking": offline_figures.answer_ranking,
    "extreme_period": offline_nights.answer_extreme_period,
    "comparison": offline_compare.answer_comparison,
    "peak": offline_power.answer_peak,
    "profile": offline_insights.answer_profile,
    "explain": offline_insights.answer_explain,
    "forecast": offline_money.answer_forecast,
    "solar": offline_solar.answer_solar,
    "baseload": offline_insights.answer_baseload,
    "health": offline_health.answer_health,
    "coverage": offline_insights.answer_coverage,
    "status": offline_insights.answer_status,
    "summary": offline_insights.answer_summary,
    "inventory": offline_insights.answer_inventory,
    **offline_money.HANDLERS,
    **offline_runs.HANDLERS,
}
NOT_ANSWERED = {
    "clarify",
    "unknown_name",
    "out_of_scope",
    "future",
    "period_error",
    "vague_period",
}


def _your_devices(ctx: ToolContext) -> str:
    named = [f"{d.name} ({d.location})" if d.location else d.name for d in ctx.devices]
    return listing(named, "none yet")


def _before_footnote(text: str, addition: str) -> str:
    """``addition`` after the answer's figures, before its footnote (the cost rule in italics)."""
    body, sep, footnote = text.rpartition("\n\n_")
    if not sep or not footnote.rstrip().endswith("_"):
        return text + addition
    return body + addition + sep + footnote


def _against_level(q: Question, calls: list[ToolCall]) -> str:
    """The total of the answer against the amount the question checks it by."""
    cost = q.money_level is not None
    level, below = q.money_level if cost else q.energy_level
    key = "cost" if cost else "consumption_wh"
    made = [c for c in calls if c.ok and c.name in ("energy_usage", "cost") and c.result]
    if len(made) != 1 or made[0].result.get(key) is None:
        return ""
    value = made[0].result[key]
    answer = (value < level) if below else (value > level)
    side = "less" if value < level else "more"

    def said(amount: float) -> str:
        return money(amount, made[0].result["currency"]) if cost else kwh(amount)

    return (
        f"\n\n**{'Yes' if answer else 'No'}**: that is {said(abs(value - level))} {side} "
        f"than {said(level)}."
    )


def _over_a_year(q: Question, calls: list[ToolCall]) -> str:
    """The answer's daily average over 365 days: a rate, said as one, never a reading."""
    made = [c for c in calls if c.ok and c.name in ("energy_usage", "cost") and c.result]
    if len(made) != 1 or not made[0].result.get("days"):
        return ""
    r = made[0].result
    if r.get("consumption_wh") is None:
        return ""
    days = r["days"]
    out = f"\n\nAt that rate a year (365 days) is about **{kwh(r['consumption_wh'] / days * 365)}**"
    # Energy figures carry a cost too, but only the cost tool says in what currency.
    if r.get("cost") is not None and r.get("currency"):
        out += f" and **{money(r['cost'] / days * 365, r['currency'])}**"
    out += f" (the daily average of those {days:.1f} days, times 365; a projection)."
    if SAVE_BY_STOPPING.search(q.text):
        out += " Switching it off then would save about that, if nothing else changed."
    return out


class OfflineAnalyst:
    """Answers in a few sentences from tool results; see the module docstring."""

    engine = OFFLINE

    def answer(
        self, ctx: ToolContext, question: str, history: Sequence[dict[str, str]] = ()
    ) -> ChatAnswer:
        """The answer to ``question``; ``history`` (earlier messages) lets a short question
        follow on from the one before ("and the week before?")."""
        q = follow_up(ctx, question, history) or understand(ctx, question)
        calls: list[ToolCall] = []

        def call(name: str, **arguments: Any) -> ToolCall:
            made = run_tool(ctx, name, arguments)
            calls.append(made)
            return made

        if q.kind in HANDLERS:
            text = HANDLERS[q.kind](ctx, q, call)
        else:
            text = getattr(self, f"_answer_{q.kind}")(ctx, q)
        if q.energy_level is not None or q.money_level is not None:
            text = _before_footnote(text, _against_level(q, calls))
        if q.per_year and q.kind == "total":
            text = _before_footnote(text, _over_a_year(q, calls))
        if q.notes:
            text = " ".join(q.notes) + "\n\n" + text
        answer = ChatAnswer(text=text, engine=OFFLINE, tool_calls=calls)
        if q.kind in NOT_ANSWERED or (q.kind == "what_if" and q.problem):
            answer.understood = q.kind == "period_error"
            if q.options:
                answer.suggestions = [o.question for o in q.options]
            else:
                # Shown with the answer as questions to pick, not repeated in its text.
                answer.suggestions = suggested_questions(
                    ctx.session, user_id=ctx.user_id, now=ctx.now, settings=ctx.settings
                )
        failed = [c for c in calls if not c.ok]
        if failed and not any(c.ok for c in calls):
            answer.text = "I could not answer that: " + failed[0].error
        return answer

    # --- answers without figures -------------------------------------------------------------

    def _answer_help(self, ctx: ToolContext, q: Question) -> str:
        suggestions = suggested_questions(
            ctx.session, user_id=ctx.user_id, now=ctx.now, settings=ctx.settings
        )
        lines = "\n".join(f"- {s}" for s in suggestions)
        return (
            "I answer questions about your own meters from the stored readings, and show how I "
            "got each number. I understand:\n"
            "- **energy and cost** of the household, a device or a room, for periods like "
            "today, yesterday, last week, this month, November, the 12th, Sunday 22 November, "
            "from 1 to 7 November, last weekend, this winter, also at night or in the evening;\n"
            "- **comparisons** of two periods or two devices ('the fridge versus the router');\n"
            "- **rankings** of devices or rooms, the highest or lowest day or hour;\n"
            "- **power**: averages, peaks with when they happened, typical hours of the day, "
            "weekdays against weekends, when a device usually runs;\n"
            "- **why** a day was high, **the bill** so far and projected, the **budget**, what "
            "a saved alternative tariff **would have saved**, the standing charge and the "
            "cheapest hours, "
            "**solar** used in the house and exported, the **always-on** load;\n"
            "- **a week at a glance** ('summarise last week', 'week 47'): the weekly summary "
            "with its changes, the devices that moved most and the alerts;\n"
            "- which devices are **online** and how **complete** the data is.\n\n"
            f"For example:\n{lines}"
        )

    def _answer_clarify(self, ctx: ToolContext, q: Question) -> str:
        phrase = escape_markdown(q.unknown_names[0]) if q.unknown_names else "that"
        options = listing([o.label for o in q.options])
        if len(q.options) > 1:
            return (
                f"Several of your devices answer to '{phrase}': {options}. Which one do you mean? "
                "Pick one below, or ask again with its name."
            )
        return (
            f"You have no device called '{phrase}'. Did you mean the {options}? Pick it below, "
            "or ask again with the name of one of your devices: " + _your_devices(ctx) + "."
        )

    def _answer_unknown_name(self, ctx: ToolContext, q: Question) -> str:
        asked = listing([f"'{n}'" for n in q.unknown_names])
        text = (
            f"You have no device or room called {asked}; your devices are {_your_devices(ctx)}. "
            "I only answer about these, so I give no figure rather than someone else's."
        )
        if q.options:
            text += f" Did you mean the {listing([o.label for o in q.options])}?"
        return text

    def _answer_out_of_scope(self, ctx: ToolContext, q: Question) -> str:
        if q.problem == "clock":
            return (
                "I can narrow a figure to clock times within one day (yesterday, Monday, a "
                "date), but across several days only to whole hours ('between 7am and 9am "
                "last week') or parts of the day (night, morning, afternoon and evening; 'in "
                "the evening' is six to ten pm). I can also show "
                "hours in a breakdown ('hourly usage yesterday'), or answer one of the "
                "questions below."
            )
        if q.problem == "utility":
            return (
                "I only measure electricity: your meters send power readings, so I have no "
                "figures for gas, water or other fuels. About your electricity, you could ask one "
                "of the questions below."
            )
        if q.problem == "carbon":
            return (
                "I can't give emissions: your meters measure electricity only, and I do not "
                "have the carbon intensity of the grid's electricity hour by hour to turn it "
                "into carbon dioxide. I can give the energy you bought from the grid ('How "
                "much did I import from the grid last month?'), or answer one of the questions "
                "below."
            )
        if q.problem == "heat":
            return (
                "I can't give a heat pump's efficiency (its COP): that is the heat it gives "
                "over the electricity it uses, and your meters read only the electricity. I "
                "can give what it used and cost, when it runs and its peak power, as in the "
                "questions below."
            )
        if q.problem == "temperature":
            return (
                "I can't give energy per degree: that needs the outdoor temperature hour by "
                "hour, and I have only your meters' power readings, no weather. I can give what "
                "a device used and cost over a period, or compare it with a usual day, as in "
                "the questions below."
            )
        if q.problem == "electrical":
            return (
                "I can't give that: your meters send power readings (watts) only, not voltage, "
                "current, power factor or frequency. I can give power (average, peak, lowest) "
                "and energy, as in the questions below."
            )
        if q.problem == "control":
            return (
                "I can't change anything: I only read your meters. Devices are switched at the "
                "device itself; the budget and the tariff are set on the Tariffs page and alerts "
                "on the Alerts page. I can tell you what your devices use and cost, as in the "
                "questions below."
            )
        if q.problem == "benchmark":
            return (
                "I can't compare you with other or average households: I only have your own "
                "household's readings, and no figures of anyone else's. I can compare your own "
                "periods or devices ('this month versus last month'), as in the questions below."
            )
        if q.problem == "instruction":
            return (
                "I can't do that. I only read your own household's meters, through read-only "
                "tools, and my instructions do not change; nobody else's data is within reach. "
                "I can tell you about your energy use, costs, devices and rooms, as in the "
                "questions below."
            )
        return (
            "That is not something I can answer: I only know your household's meters "
            "(energy, power, costs, devices, rooms and their data). You could ask one of the "
            "questions below."
        )

    def _answer_vague_period(self, ctx: ToolContext, q: Question) -> str:
        return (
            f"I can't tell {q.problem}: your meters record only electricity, not "
            "holidays, weather or events. Ask again with the dates ('last weekend', 'in November', "
            "'last week'), as in the questions below."
        )

    def _answer_future(self, ctx: ToolContext, q: Question) -> str:
        return (
            "I can't tell how much you will use in a period that has not happened; I only read "
            "what your meters recorded. I can project this month's bill from your typical "
            "hours ('What will my bill be this month?'), or answer about a past period, as in "
            "the questions below."
        )

    def _answer_period_error(self, ctx: ToolContext, q: Question) -> str:
        return q.problem or "I could not read the period in that question."


__all__ = ["OfflineAnalyst", "kwh", "money", "understand", "watts"]

"""A week at a glance in the chat: "summarise my week", "how did we do last week?", "week 47"
are answered with the weekly summary the Live page and `energy-monitor summary` show, through
the weekly_summary tool, with the same figures."""

from __future__ import annotations

from datetime import date

import pytest

from energy_core.chat.tools import ToolContext, run_tool
from energy_core.chat.wording import kwh, money
from energy_core.db import session_scope
from energy_core.insights import weekly_summary
from energy_core.stats import load_household
from tests.chat.conftest import NOW, chat_settings
from tests.chat.test_profile_answers import ask


@pytest.mark.parametrize(
    ("question", "week"),
    [
        ("Summarise my week", "last"),
        ("Give me a recap of last week", "2026-W48"),
        ("How did we do last week?", "2026-W48"),
        ("weekly report please", "last"),
        ("How am I doing?", "last"),
        ("An overview of this week, please", "this"),
        ("Summary of week 47", "2026-W47"),
        ("recap the week before last", "2026-W47"),
        ("Can I have the summary for 2026-W46?", "2026-W46"),
    ],
)
def test_a_summary_question_asks_for_the_week_it_names(seeded, question, week):
    engine, user_id = seeded

    answer = ask(engine, user_id, question)

    (made,) = answer.tool_calls
    assert made.ok and made.name == "weekly_summary"
    assert made.arguments.get("week", "last") == week
    assert "Your week at a glance" in answer.text


def test_the_summary_says_the_figures_of_the_weekly_summary(seeded):
    engine, user_id = seeded
    with session_scope(engine, read_only=True, household=user_id) as session:
        household = load_household(session, user_id=user_id, settings=chat_settings())
        summary = weekly_summary(session, household, now=NOW, monday=date(2026, 11, 23))
    totals = {t.metric: t for t in summary.totals}

    answer = ask(engine, user_id, "Summarise last week")

    text = answer.text
    assert "week 2026-W48" in text and "Mon 23 Nov - Sun 29 Nov 2026" in text
    assert f"Consumption: {kwh(totals['consumption_wh'].value)}" in text
    assert f"Cost: {money(totals['cost'].value, summary.currency)}" in text
    assert f"{totals['consumption_wh'].previous.ratio * 100:+.0f}%" in text
    # The demo has no readings a year back: said once, not as a line of "not comparable".
    assert "A year earlier has no readings to compare with." in text
    assert "on a year earlier" not in text
    assert "Always-on load: about" in text and "Alerts opened that week:" in text


def test_a_week_without_readings_is_no_data_not_zeros(seeded):
    engine, user_id = seeded

    answer = ask(engine, user_id, "Summary of week 10")

    assert answer.tool_calls[0].arguments["week"] == "2026-W10"
    assert "There are no readings" in answer.text
    assert "0.00 kWh" not in answer.text


def test_a_week_that_does_not_exist_is_refused_with_the_reason(seeded):
    engine, user_id = seeded

    answer = ask(engine, user_id, "Summary of week 60")

    assert "is not a week of that year" in answer.text


@pytest.mark.parametrize(
    "question",
    ["Give me an overview of the heat pump last week", "Summarise last month"],
)
def test_a_summary_of_one_device_or_of_a_month_is_answered_with_its_figures(seeded, question):
    engine, user_id = seeded

    answer = ask(engine, user_id, question)

    assert answer.tool_calls and all(c.name != "weekly_summary" for c in answer.tool_calls)
    assert "kWh" in answer.text


def test_each_household_gets_its_own_week(seeded, neighbour):
    engine, user_id = seeded

    mine = ask(engine, user_id, "Summarise this week")
    theirs = ask(engine, neighbour, "Summarise this week")

    mine_kwh = mine.tool_calls[0].result["totals"]["consumption_wh"]["value"]
    theirs_kwh = theirs.tool_calls[0].result["totals"]["consumption_wh"]["value"]
    assert mine_kwh != theirs_kwh
    with session_scope(engine, read_only=True, household=neighbour) as session:
        household = load_household(session, user_id=neighbour, settings=chat_settings())
        expected = weekly_summary(session, household, now=NOW, monday=date(2026, 11, 30))
    assert theirs_kwh == pytest.approx(
        next(t.value for t in expected.totals if t.metric == "consumption_wh")
    )


@pytest.mark.parametrize(
    ("arguments", "refusal"),
    [
        ({"week": "last", "user_id": 2}, "Extra inputs are not permitted"),
        ({"week": "next"}, "String should match pattern"),
        ({"week": "2099-W01"}, "has not started yet"),
    ],
)
def test_the_tool_refuses_another_household_and_weeks_it_cannot_have(seeded, arguments, refusal):
    engine, user_id = seeded
    with session_scope(engine, read_only=True) as session:
        ctx = ToolContext.load(session, user_id=user_id, now=NOW, settings=chat_settings())
        made = run_tool(ctx, "weekly_summary", arguments)
    assert not made.ok and made.result is None and refusal in made.error

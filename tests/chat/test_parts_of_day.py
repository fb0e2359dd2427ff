"""A part of the day ("this morning", "at night") that is over is whole, though its day is not: a
figure per day counts the days of its hours, so this morning after noon compares with yesterday
morning as two whole mornings (it used to be divided by the half day gone since midnight, and
7.06 kWh against 7.66 kWh was called 74 % more)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from energy_core.chat.offline import OfflineAnalyst
from energy_core.chat.toolbase import _days, _still_running
from energy_core.chat.tools import ToolContext
from energy_core.db import session_scope
from energy_core.stats.period import day_period, week_period
from tests.chat.conftest import chat_settings
from tests.chat.golden_oracle import Oracle
from tests.oracle import Oracle as RawOracle

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("now", "part", "days", "running"),
    [
        (datetime(2026, 12, 3, 12, 45, tzinfo=UTC), "morning", 1.0, False),
        (datetime(2026, 12, 3, 9, 0, tzinfo=UTC), "morning", 0.5, True),
        (datetime(2026, 12, 3, 12, 45, tzinfo=UTC), "evening", 0.0, True),
        (datetime(2026, 12, 3, 23, 0, tzinfo=UTC), "night", 7 / 8, True),
        (datetime(2026, 12, 3, 12, 45, tzinfo=UTC), None, 12.75 / 24, True),
    ],
)
def test_the_days_of_today_count_only_the_hours_of_its_part(now, part, days, running):
    today = day_period(now.astimezone(LONDON).date(), now=now).with_time_of_day(part)

    assert _days(today) == pytest.approx(days)
    assert _still_running(today) is running


def test_the_nights_of_a_week_so_far_are_whole_nights():
    # Thursday 12:45: the nights of Monday to Thursday morning (6 + 8 + 8 + 8 hours) are 3.75.
    now = datetime(2026, 12, 3, 12, 45, tzinfo=UTC)
    week = week_period(now.date(), offset=0, now=now).with_time_of_day("night")

    assert _days(week) == pytest.approx(3.75)
    assert _still_running(week)


def test_this_morning_after_noon_compares_whole_with_yesterday_morning(seeded):
    engine, user_id = seeded
    # Tuesday 1 December 2026, 13:00 in London: the morning is over.
    now = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    with session_scope(engine, read_only=True) as session:
        ctx = ToolContext.load(session, user_id=user_id, now=now, settings=chat_settings())
        answer = OfflineAnalyst().answer(
            ctx, "How much did I use this morning compared with yesterday morning?"
        )
        oracle = Oracle(RawOracle(session, user_id))

    (made,) = answer.tool_calls
    morning = frozenset(range(6, 12))
    today = datetime(2026, 12, 1, tzinfo=LONDON)
    this_morning = oracle.energy(today, now, None, morning)
    yesterday_morning = oracle.energy(today - timedelta(days=1), today, None, morning)
    first, second = made.result["first"], made.result["second"]
    assert first["consumption_wh"] == pytest.approx(this_morning, abs=2e-3)
    assert second["consumption_wh"] == pytest.approx(yesterday_morning, abs=2e-3)
    assert not first["partial"] and first["days"] == 1.0
    assert first["per_day_wh"] == first["consumption_wh"]
    change = (this_morning - yesterday_morning) / yesterday_morning * 100
    direction = "more" if change > 0 else "less"
    assert f"That is {abs(change):.0f}% {direction} this morning than yesterday." in answer.text
    assert "daily averages" not in answer.text

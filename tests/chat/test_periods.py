"""Periods in words resolved in the user's timezone, cut at now."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from energy_core.chat.periods import PeriodError, find_periods, parse_period

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 4, 8, 10, 15, tzinfo=UTC)  # Wednesday, 11:15 in London


def span(text: str) -> tuple[datetime, datetime]:
    period = parse_period(text, now=NOW, timezone="Europe/London")
    return period.start, period.end


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("today", datetime(2026, 4, 8, tzinfo=LONDON), NOW),
        ("yesterday", datetime(2026, 4, 7, tzinfo=LONDON), datetime(2026, 4, 8, tzinfo=LONDON)),
        ("last week", datetime(2026, 3, 30, tzinfo=LONDON), datetime(2026, 4, 6, tzinfo=LONDON)),
        ("last month", datetime(2026, 3, 1, tzinfo=LONDON), datetime(2026, 4, 1, tzinfo=LONDON)),
        ("in October", datetime(2025, 10, 1, tzinfo=LONDON), datetime(2025, 11, 1, tzinfo=LONDON)),
        # Today so far and the two whole days before, as "the last 3 days" means on a page.
        ("last 3 days", datetime(2026, 4, 6, tzinfo=LONDON), NOW),
        ("on Monday", datetime(2026, 4, 6, tzinfo=LONDON), datetime(2026, 4, 7, tzinfo=LONDON)),
        (
            "last Wednesday",
            datetime(2026, 4, 1, tzinfo=LONDON),
            datetime(2026, 4, 2, tzinfo=LONDON),
        ),
        ("5 March", datetime(2026, 3, 5, tzinfo=LONDON), datetime(2026, 3, 6, tzinfo=LONDON)),
        (
            "2025-12-24",
            datetime(2025, 12, 24, tzinfo=LONDON),
            datetime(2025, 12, 25, tzinfo=LONDON),
        ),
        ("last year", datetime(2025, 1, 1, tzinfo=LONDON), datetime(2026, 1, 1, tzinfo=LONDON)),
        ("this year", datetime(2026, 1, 1, tzinfo=LONDON), NOW),
    ],
)
def test_periods_in_words_are_local_calendar_ranges_cut_at_now(text, start, end):
    assert span(text) == (start, end)


def test_the_day_of_the_clock_change_has_23_hours():
    start, end = span("29 March")
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 23 * 3600


def test_a_part_of_the_day_keeps_the_period_and_names_its_hours():
    period = parse_period("yesterday at night", now=NOW, timezone="Europe/London")
    assert period.time_of_day == "night" and period.hours == frozenset([22, 23, 0, 1, 2, 3, 4, 5])
    assert span("yesterday") == (period.start, period.end)


def test_a_period_that_has_not_started_is_an_error_the_user_can_act_on():
    with pytest.raises(PeriodError, match="has not started yet"):
        parse_period("this Sunday", now=NOW, timezone="Europe/London")
    with pytest.raises(PeriodError, match="one period"):
        parse_period("whenever", now=NOW, timezone="Europe/London")


def test_the_verb_may_is_not_the_month():
    assert find_periods("may i see the fridge", now=NOW, timezone="Europe/London") == []
    (mention,) = find_periods("usage in may", now=NOW, timezone="Europe/London")
    assert mention.period.start == datetime(2025, 5, 1, tzinfo=LONDON)


def test_ranges_and_since_become_one_period():
    (since,) = find_periods("since 1 march", now=NOW, timezone="Europe/London")
    assert (since.period.start, since.period.end) == (datetime(2026, 3, 1, tzinfo=LONDON), NOW)
    (between,) = find_periods("from 2 march to 4 march", now=NOW, timezone="Europe/London")
    assert between.period.end == datetime(2026, 3, 5, tzinfo=LONDON)

"""Periods of the user's calendar: presets, the period before, the same period last year, and the
buckets a range is cut into (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from energy_core.stats.period import (
    Period,
    PeriodError,
    buckets,
    days_period,
    describe_range,
    preset_period,
    rolling_period,
)

LONDON = ZoneInfo("Europe/London")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        ("today", local(2026, 3, 31, 0, 0), local(2026, 3, 31, 14, 30)),
        ("yesterday", local(2026, 3, 30, 0, 0), local(2026, 3, 31, 0, 0)),
        ("last_7_days", local(2026, 3, 25, 0, 0), local(2026, 3, 31, 14, 30)),
        ("this_week", local(2026, 3, 30, 0, 0), local(2026, 3, 31, 14, 30)),
        ("last_week", local(2026, 3, 23, 0, 0), local(2026, 3, 30, 0, 0)),
        ("this_month", local(2026, 3, 1, 0, 0), local(2026, 3, 31, 14, 30)),
        ("last_month", local(2026, 2, 1, 0, 0), local(2026, 3, 1, 0, 0)),
        ("this_year", local(2026, 1, 1, 0, 0), local(2026, 3, 31, 14, 30)),
        ("last_year", local(2025, 1, 1, 0, 0), local(2026, 1, 1, 0, 0)),
    ],
)
def test_presets_are_ranges_of_the_local_calendar(preset, start, end):
    now = local(2026, 3, 31, 14, 30).astimezone(UTC)

    period = preset_period(preset, now=now, timezone="Europe/London")

    assert (period.start, period.end) == (start, end)
    assert period.is_partial == (end == local(2026, 3, 31, 14, 30))


def test_yesterday_over_the_spring_change_has_23_hours():
    period = preset_period("yesterday", now=local(2026, 3, 30, 9, 0), timezone="Europe/London")

    assert period.seconds == 23 * 3600
    assert [b - a for a, b in buckets(period.start, period.end, "hour", LONDON)] == [
        timedelta(hours=1)
    ] * 23


def test_a_running_period_compares_with_the_same_part_of_the_one_before():
    now = local(2026, 3, 31, 14, 30)

    previous = preset_period("this_month", now=now, timezone="Europe/London").previous()

    # 31 March has no twin in February: the comparison ends on its last day, same time.
    assert (previous.start, previous.end) == (local(2026, 2, 1, 0, 0), local(2026, 2, 28, 14, 30))
    assert previous.full_end == local(2026, 3, 1, 0, 0)
    assert previous.label == "the month before"


def test_today_compares_with_yesterday_until_the_same_time():
    today = preset_period("today", now=local(2026, 6, 10, 12, 0), timezone="Europe/London")

    assert (today.previous().start, today.previous().end) == (
        local(2026, 6, 9, 0, 0),
        local(2026, 6, 9, 12, 0),
    )


def test_the_last_7_days_are_compared_with_the_7_before_and_with_last_year():
    period = preset_period("last_7_days", now=local(2026, 6, 10, 12, 0), timezone="Europe/London")

    assert (period.previous().start, period.previous().end) == (
        local(2026, 5, 28, 0, 0),
        local(2026, 6, 3, 12, 0),
    )
    last_year = period.same_period_last_year()
    assert (last_year.start, last_year.end) == (local(2025, 6, 4, 0, 0), local(2025, 6, 10, 12, 0))


def test_custom_days_cover_whole_days_and_their_baseline_is_as_long():
    period = days_period(date(2026, 1, 16), date(2026, 1, 10), timezone="Europe/London")

    assert (period.start, period.end) == (local(2026, 1, 10, 0, 0), local(2026, 1, 17, 0, 0))
    assert period.previous().start == local(2026, 1, 3, 0, 0)
    assert period.default_granularity() == "day"


def test_rolling_periods_step_back_by_their_duration_in_absolute_time():
    period = rolling_period(local(2026, 3, 29, 12, 0), timedelta(hours=24))

    assert period.start == local(2026, 3, 28, 11, 0)  # 24 hours before, across the change
    assert period.previous().end == period.start
    assert period.previous().label == "the day before"


def test_days_weeks_and_months_follow_the_local_calendar():
    days = buckets(local(2026, 3, 28), local(2026, 3, 31), "day", LONDON)
    assert [(b - a).total_seconds() / 3600 for a, b in days] == [24, 23, 24]
    months = buckets(
        datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 4, 2, tzinfo=UTC), "month", LONDON
    )
    assert [a.astimezone(LONDON).month for a, _ in months] == [1, 2, 3, 4]
    weeks = buckets(
        datetime(2026, 3, 4, tzinfo=UTC), datetime(2026, 3, 20, tzinfo=UTC), "week", LONDON
    )
    assert all(a.astimezone(LONDON).weekday() == 0 for a, _ in weeks[1:])


def test_a_period_needs_aware_instants_in_order():
    with pytest.raises(ValueError, match="timezone-aware"):
        Period(start=datetime(2026, 1, 1), end=datetime(2026, 1, 2))
    with pytest.raises(PeriodError):
        Period(start=local(2026, 1, 2), end=local(2026, 1, 1))


def test_a_range_across_new_year_gives_the_year_of_both_ends():
    london = ZoneInfo("Europe/London")
    days = describe_range(
        datetime(2025, 12, 25, tzinfo=london), datetime(2026, 1, 2, tzinfo=london)
    )
    times = describe_range(
        datetime(2025, 12, 2, 10, 15, tzinfo=london), datetime(2026, 12, 2, 10, 15, tzinfo=london)
    )
    assert days == "Thu 25 Dec 2025 - Thu 1 Jan 2026"
    assert times == "Tue 2 Dec 2025 10:15 - Wed 2 Dec 2026 10:15"
    assert (
        describe_range(datetime(2026, 11, 23, tzinfo=london), datetime(2026, 11, 30, tzinfo=london))
        == "Mon 23 Nov - Sun 29 Nov 2026"
    )

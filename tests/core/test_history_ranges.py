"""Ranges in the user's calendar and what the History page builds from energy_series."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from energy_core.aggregates import energy_series
from energy_core.db import session_scope
from energy_core.history import (
    Range,
    compare_ranges,
    custom_range,
    default_granularity,
    device_totals,
    flows,
    household_series,
    preset_range,
    previous_range,
    same_range_last_year,
    weekday_hour_profile,
)
from tests.factories import add_readings, make_device, make_user

LONDON = ZoneInfo("Europe/London")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


# --- ranges ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        ("today", local(2026, 3, 31, 0, 0), local(2026, 3, 31, 14, 30)),
        ("yesterday", local(2026, 3, 30, 0, 0), local(2026, 3, 31, 0, 0)),
        ("last_7_days", local(2026, 3, 25, 0, 0), local(2026, 3, 31, 14, 30)),
        ("this_month", local(2026, 3, 1, 0, 0), local(2026, 3, 31, 14, 30)),
        ("last_month", local(2026, 2, 1, 0, 0), local(2026, 3, 1, 0, 0)),
        ("this_year", local(2026, 1, 1, 0, 0), local(2026, 3, 31, 14, 30)),
    ],
)
def test_presets_are_ranges_of_the_local_calendar(preset, start, end):
    now = local(2026, 3, 31, 14, 30).astimezone(UTC)

    period = preset_range(preset, now=now, timezone="Europe/London")

    assert (period.start, period.end) == (start, end)


def test_yesterday_over_the_spring_change_has_23_hours():
    period = preset_range("yesterday", now=local(2026, 3, 30, 9, 0), timezone="Europe/London")

    # Subtracting in UTC: Python subtracts two times of one zone by their wall clocks.
    assert period.end.astimezone(UTC) - period.start.astimezone(UTC) == timedelta(hours=23)


def test_this_month_is_compared_with_the_same_days_of_the_previous_month():
    now = local(2026, 3, 31, 14, 30)
    period = preset_range("this_month", now=now, timezone="Europe/London")

    previous = previous_range(period)

    # 31 March has no twin in February: the comparison ends on its last day, same time.
    assert (previous.start, previous.end) == (local(2026, 2, 1, 0, 0), local(2026, 2, 28, 14, 30))


def test_the_last_7_days_are_compared_with_the_7_before_and_with_last_year():
    period = preset_range("last_7_days", now=local(2026, 6, 10, 12, 0), timezone="Europe/London")

    assert (previous_range(period).start, previous_range(period).end) == (
        local(2026, 5, 28, 0, 0),
        local(2026, 6, 3, 12, 0),
    )
    last_year = same_range_last_year(period)
    assert (last_year.start, last_year.end) == (local(2025, 6, 4, 0, 0), local(2025, 6, 10, 12, 0))


def test_custom_range_covers_whole_days_and_its_baseline_is_as_long():
    period = custom_range(date(2026, 1, 10), date(2026, 1, 16), timezone="Europe/London")

    assert (period.start, period.end) == (local(2026, 1, 10, 0, 0), local(2026, 1, 17, 0, 0))
    assert previous_range(period).start == local(2026, 1, 3, 0, 0)
    assert default_granularity(period) == "day"


# --- figures -----------------------------------------------------------------------------------

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def home(engine):  # noqa: ANN201
    """A heater (1 kW in the evenings of the first week, 500 W in the second) and a solar
    inverter (-300 W at noon), readings every five minutes for two weeks."""
    with session_scope() as session:
        user = make_user(session, timezone="UTC")
        heater = make_device(session, user=user, device_id="heater", name="Heater")
        solar = make_device(session, user=user, device_id="solar", name="Solar", bidirectional=True)
        heat, sun = [], []
        for step in range(14 * 24 * 12):
            ts = START + timedelta(minutes=5 * step)
            evening = 18 <= ts.hour < 22
            heat.append((ts, (1000.0 if step < 7 * 24 * 12 else 500.0) if evening else 0.0))
            sun.append((ts, -300.0 if 11 <= ts.hour < 13 else 0.0))
        add_readings(session, user=user, device=heater, points=heat)
        add_readings(session, user=user, device=solar, points=sun)
    return user.id


def test_the_second_week_compares_with_the_first_and_not_with_an_empty_last_year(home):
    week = Range(START + timedelta(days=7), START + timedelta(days=14), shift_days=7)
    with session_scope(read_only=True) as session:
        rows = compare_ranges(
            session,
            user_id=home,
            current=week,
            previous=previous_range(week),
            last_year=same_range_last_year(week),
            timezone="UTC",
        )

    household, heater, solar = rows
    assert heater.device_id == "heater" and solar.device_id == "solar"
    assert heater.current.energy_wh == pytest.approx(7 * 4 * 500.0)
    assert heater.previous.energy_wh == pytest.approx(7 * 4 * 1000.0)
    assert heater.vs_previous.ratio == pytest.approx(-0.5)
    assert heater.vs_last_year.delta_wh is None and heater.vs_last_year.ratio is None
    assert household.current.energy_wh == pytest.approx(7 * (2000.0 - 600.0))
    assert flows(r.current.energy_wh for r in rows[1:]).generated_wh == pytest.approx(7 * 600.0)


def test_household_series_is_what_energy_series_says_the_household_is(home):
    kwargs = {
        "user_id": home,
        "start": START + timedelta(hours=5, minutes=17),
        "end": START + timedelta(days=3, hours=2),
        "granularity": "hour",
    }
    with session_scope(read_only=True) as session:
        by_device = energy_series(session, **kwargs)
        household = energy_series(session, by_device=False, **kwargs)

    built = household_series(by_device)
    assert [p.period_start for p in built] == [p.period_start for p in household]
    assert [p.energy_wh for p in built] == pytest.approx([p.energy_wh for p in household])
    assert [p.covered_s for p in built] == pytest.approx([p.covered_s for p in household])


def test_shares_split_use_from_generation(home):
    with session_scope(read_only=True) as session:
        points = energy_series(
            session, user_id=home, start=START, end=START + timedelta(days=7), granularity="day"
        )

    heater, solar = device_totals(points)
    assert (heater.device_id, heater.share) == ("heater", pytest.approx(1.0))
    assert (solar.device_id, solar.share) == ("solar", pytest.approx(1.0))
    assert solar.energy_wh == pytest.approx(-7 * 600.0)


def test_the_weekday_profile_averages_each_local_hour(home):
    with session_scope(read_only=True) as session:
        cells = weekday_hour_profile(
            session,
            user_id=home,
            start=START,
            end=START + timedelta(days=14),
            device_ids=["heater"],
            timezone="UTC",
        )

    assert len(cells) == 7 * 24
    monday_evening = next(c for c in cells if (c.weekday, c.hour) == (0, 19))
    assert monday_evening.hours == 2
    assert monday_evening.avg_w == pytest.approx(750.0)  # 1000 W one Monday, 500 W the next
    assert next(c for c in cells if (c.weekday, c.hour) == (3, 3)).avg_w == pytest.approx(0.0)

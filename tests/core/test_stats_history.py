"""What the History page builds, through the read layer: comparisons of two weeks, the devices
together per period, shares split by direction, and the weekday profile. (The calendar of the
periods themselves is tested in test_stats_period.py.)"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from energy_core.db import session_scope
from energy_core.stats import (
    compare,
    days_period,
    load_household,
    read_series,
    shares,
    weekday_hour_profile,
)
from tests.factories import add_readings, make_device, make_user

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # a Monday
NOW = START + timedelta(days=30)


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


def week(first: date):  # noqa: ANN201 - a Period
    return days_period(first, first + timedelta(days=6), timezone="UTC", now=NOW)


def test_the_second_week_compares_with_the_first_and_not_with_an_empty_last_year(home):
    period = week(date(2026, 1, 12))
    with session_scope(read_only=True) as session:
        selection = load_household(session, user_id=home).select(period)
        together, heater, solar = compare(session, selection, period.previous())
        last_year = compare(session, selection, period.same_period_last_year())

    assert heater.device_id == "heater" and solar.device_id == "solar"
    assert heater.current.consumption_wh == pytest.approx(7 * 4 * 500.0)
    assert heater.baseline.consumption_wh == pytest.approx(7 * 4 * 1000.0)
    assert heater.change("consumption_wh").ratio == pytest.approx(-0.5)
    assert solar.current.generation_wh == pytest.approx(7 * 600.0)
    assert together.current.consumption_wh == pytest.approx(7 * 2000.0)
    assert together.current.generation_wh == pytest.approx(7 * 600.0)
    # Last year has no readings: no change, and the reason says so.
    change = last_year[1].change("consumption_wh")
    assert change.ratio is None and change.baseline is None and not change.comparable
    assert "no readings" in change.reason


def test_the_devices_together_per_period_are_the_sum_of_each_device(home):
    period = days_period(date(2026, 1, 5), date(2026, 1, 7), timezone="UTC", now=NOW)
    with session_scope(read_only=True) as session:
        selection = load_household(session, user_id=home).select(period, granularity="hour")
        series = read_series(session, selection)

    for i, together in enumerate(series.household):
        parts = [series.by_device[d][i] for d in ("heater", "solar")]
        assert together.consumed_wh == pytest.approx(sum(p.consumed_wh for p in parts))
        assert together.generated_wh == pytest.approx(sum(p.generated_wh for p in parts))
        assert together.covered_s == pytest.approx(sum(p.covered_s for p in parts))


def test_shares_split_consumption_from_generation(home):
    with session_scope(read_only=True) as session:
        selection = load_household(session, user_id=home).select(week(date(2026, 1, 5)))
        heater, solar = shares(read_series(session, selection))

    assert (heater.figure.device_id, heater.consumption_share) == ("heater", pytest.approx(1.0))
    assert (solar.figure.device_id, solar.generation_share) == ("solar", pytest.approx(1.0))
    assert solar.figure.generation_wh == pytest.approx(7 * 600.0)
    assert solar.figure.is_generating and not heater.figure.is_generating


def test_the_weekday_profile_averages_each_local_hour(home):
    period = days_period(date(2026, 1, 5), date(2026, 1, 18), timezone="UTC", now=NOW)
    with session_scope(read_only=True) as session:
        selection = load_household(session, user_id=home).select(period, device_ids=["heater"])
        cells = weekday_hour_profile(session, selection)

    assert len(cells) == 7 * 24
    monday_evening = next(c for c in cells if (c.weekday, c.hour) == (0, 19))
    assert monday_evening.hours == 2
    assert monday_evening.avg_w == pytest.approx(750.0)  # 1000 W one Monday, 500 W the next
    assert next(c for c in cells if (c.weekday, c.hour) == (3, 3)).avg_w == pytest.approx(0.0)

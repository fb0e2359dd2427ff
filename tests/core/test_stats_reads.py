"""Reading figures through the read layer: days in the user's timezone, before and after the
rollup, partial hours from raw readings, gaps, rooms, and only the user's own devices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from energy_core.db import session_scope
from energy_core.rollup import rollup_dirty_hours
from energy_core.stats import instant_period, load_household, read_series
from tests.factories import add_readings, make_device, make_user, seed_device

LONDON = ZoneInfo("Europe/London")


def minutes(start: datetime, count: int, power_w: float) -> list[tuple[datetime, float]]:
    return [(start + timedelta(minutes=m), power_w) for m in range(count)]


def series_of(engine, user_id: int, start: datetime, end: datetime, **select):  # noqa: ANN001, ANN201
    with session_scope(engine, read_only=True) as s:
        household = load_household(s, user_id=user_id)
        period = instant_period(start, end, timezone=household.timezone)
        return read_series(s, household.select(period, **select))


def test_daily_energy_in_the_users_timezone_before_and_after_rollup(engine):
    start = datetime(2026, 3, 27, 0, 0, tzinfo=LONDON)  # London is on UTC in March before the 29th
    end = datetime(2026, 3, 30, 0, 0, tzinfo=LONDON)
    with session_scope(engine) as s:
        user = make_user(s, timezone="Europe/London")
        device = make_device(s, user=user)
        add_readings(s, user=user, device=device, points=minutes(start, 3 * 24 * 60, 1000.0))

    fresh = series_of(engine, user.id, start, end, granularity="day").household  # all raw
    rollup_dirty_hours(engine)
    rolled = series_of(engine, user.id, start, end, granularity="day").household
    for days in (fresh, rolled):
        assert [f.start.astimezone(LONDON).day for f in days] == [27, 28, 29]
        assert [round(f.consumption_wh, 6) for f in days] == [24000.0, 24000.0, 23000.0]
        assert [f.coverage for f in days] == pytest.approx([1.0, 1.0, 1.0])
        assert days[0].avg_w == pytest.approx(1000.0)
        assert days[0].sample_count == 1440
        assert days[0].min_w == days[0].max_w == 1000.0


def test_ranges_with_partial_hours_use_raw_readings_for_the_edges(engine):
    t0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    user, device = seed_device(engine, minutes(t0, 180, 600.0))
    rollup_dirty_hours(engine)
    start, end = t0 + timedelta(minutes=30), t0 + timedelta(hours=2, minutes=15)
    total = series_of(engine, user.id, start, end).total
    assert total.consumption_wh == pytest.approx(600.0 * 1.75)
    assert total.coverage == pytest.approx(1.0)


def test_gaps_lower_coverage_and_a_period_without_readings_has_no_data(engine):
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    with session_scope(engine) as s:
        user = make_user(s)
        device = make_device(s, user=user)
        add_readings(s, user=user, device=device, points=minutes(t0, 360, 100.0))  # 6 h, not 24
    rollup_dirty_hours(engine)
    days = series_of(engine, user.id, t0, t0 + timedelta(days=2), granularity="day").household
    assert days[0].consumption_wh == pytest.approx(100.0 * (6 + 600 / 3600 - 1 / 60))
    assert 0.2 < days[0].coverage < 0.3
    # The device took part all day but no reading held: coverage 0, and no data, not 0 Wh.
    assert days[1].coverage == 0 and days[1].consumption_wh is None and days[1].avg_w is None


def test_household_totals_sum_devices_and_rooms_narrow_them(engine):
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    with session_scope(engine) as s:
        user = make_user(s)
        kettle = make_device(s, user=user, location="Kitchen")
        tv = make_device(s, user=user, location="Living room")
        add_readings(s, user=user, device=kettle, points=minutes(t0, 120, 2000.0))
        add_readings(s, user=user, device=tv, points=minutes(t0, 120, 100.0))
    rollup_dirty_hours(engine)
    end = t0 + timedelta(hours=2)
    household = series_of(engine, user.id, t0, end, granularity="hour").household
    kitchen = series_of(engine, user.id, t0, end, granularity="hour", rooms=["Kitchen"])
    assert [f.consumption_wh for f in household] == pytest.approx([2100.0, 2100.0])
    # Several devices together have no single peak reading.
    assert household[0].device_id is None and household[0].max_w is None
    assert set(kitchen.by_device) == {kettle.device_id}


def test_another_users_devices_are_never_in_a_series(engine):
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    with session_scope(engine) as s:
        alice, bob = make_user(s), make_user(s)
        alices = make_device(s, user=alice)
        add_readings(s, user=alice, device=alices, points=minutes(t0, 60, 500.0))
    rollup_dirty_hours(engine)
    series = series_of(engine, bob.id, t0, t0 + timedelta(hours=1), device_ids=[alices.device_id])
    assert series.selection.empty.code == "no_devices"
    assert series.by_device == {} and series.total.consumption_wh is None

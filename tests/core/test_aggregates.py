"""Read functions over the aggregates: periods in the user's timezone, coverage, freshness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from energy_core.aggregates import energy_series, periods
from energy_core.db import session_scope
from energy_core.rollup import rollup_dirty_hours
from tests.factories import add_readings, make_device, make_user

LONDON = ZoneInfo("Europe/London")


def minutes(start: datetime, count: int, power_w: float) -> list[tuple[datetime, float]]:
    return [(start + timedelta(minutes=m), power_w) for m in range(count)]


def test_days_follow_the_local_calendar_across_a_dst_change():
    spans = periods(
        datetime(2026, 3, 28, tzinfo=LONDON), datetime(2026, 3, 31, tzinfo=LONDON), "day", LONDON
    )
    assert [(b - a).total_seconds() / 3600 for a, b in spans] == [24, 23, 24]
    months = periods(
        datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 4, 2, tzinfo=UTC), "month", LONDON
    )
    assert [a.astimezone(LONDON).month for a, _ in months] == [1, 2, 3, 4]
    weeks = periods(
        datetime(2026, 3, 4, tzinfo=UTC), datetime(2026, 3, 20, tzinfo=UTC), "week", LONDON
    )
    assert all(a.astimezone(LONDON).weekday() == 0 for a, _ in weeks[1:])


def test_daily_energy_in_the_users_timezone_before_and_after_rollup(engine):
    start = datetime(2026, 3, 27, 0, 0, tzinfo=LONDON)  # London is on UTC in March before the 29th
    with session_scope(engine) as s:
        user = make_user(s, timezone="Europe/London")
        device = make_device(s, user=user)
        add_readings(s, user=user, device=device, points=minutes(start, 3 * 24 * 60, 1000.0))

    def daily():
        with session_scope(engine, read_only=True) as s:
            return energy_series(
                s,
                user_id=user.id,
                start=start,
                end=start + timedelta(days=3),
                granularity="day",
            )

    fresh = daily()  # nothing rolled up yet: everything comes from raw readings
    rollup_dirty_hours(engine)
    rolled = daily()
    for points in (fresh, rolled):
        assert [p.period_start.day for p in points] == [27, 28, 29]
        assert [round(p.energy_wh, 6) for p in points] == [24000.0, 24000.0, 23000.0]
        assert [p.coverage for p in points] == pytest.approx([1.0, 1.0, 1.0])
        assert points[0].avg_w == pytest.approx(1000.0)
        assert points[0].sample_count == 1440
        assert points[0].min_w == points[0].max_w == 1000.0


def test_ranges_with_partial_hours_use_raw_readings_for_the_edges(engine):
    t0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    with session_scope(engine) as s:
        user = make_user(s)
        device = make_device(s, user=user)
        add_readings(s, user=user, device=device, points=minutes(t0, 180, 600.0))
    rollup_dirty_hours(engine)
    with session_scope(engine, read_only=True) as s:
        (total,) = energy_series(
            s,
            user_id=user.id,
            start=t0 + timedelta(minutes=30),
            end=t0 + timedelta(hours=2, minutes=15),
            granularity="total",
        )
    assert total.energy_wh == pytest.approx(600.0 * 1.75)
    assert total.coverage == pytest.approx(1.0)


def test_gaps_lower_coverage_and_empty_periods_are_listed_with_zero(engine):
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    with session_scope(engine) as s:
        user = make_user(s)
        device = make_device(s, user=user)
        add_readings(s, user=user, device=device, points=minutes(t0, 360, 100.0))  # 6 h, not 24
    rollup_dirty_hours(engine)
    with session_scope(engine, read_only=True) as s:
        points = energy_series(
            s, user_id=user.id, start=t0, end=t0 + timedelta(days=2), granularity="day"
        )
    assert points[0].energy_wh == pytest.approx(100.0 * (6 + 600 / 3600 - 1 / 60))
    assert 0.2 < points[0].coverage < 0.3
    assert points[1].energy_wh == 0 and points[1].coverage == 0 and points[1].avg_w is None


def test_household_totals_sum_devices_and_filters_by_room(engine):
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    with session_scope(engine) as s:
        user = make_user(s)
        kettle = make_device(s, user=user, location="Kitchen")
        tv = make_device(s, user=user, location="Living room")
        add_readings(s, user=user, device=kettle, points=minutes(t0, 120, 2000.0))
        add_readings(s, user=user, device=tv, points=minutes(t0, 120, 100.0))
    rollup_dirty_hours(engine)
    end = t0 + timedelta(hours=2)
    with session_scope(engine, read_only=True) as s:
        household = energy_series(
            s, user_id=user.id, start=t0, end=end, granularity="hour", by_device=False
        )
        kitchen = energy_series(
            s, user_id=user.id, start=t0, end=end, granularity="hour", locations=["Kitchen"]
        )
    assert [p.energy_wh for p in household] == pytest.approx([2100.0, 2100.0])
    assert household[0].device_id is None and household[0].min_w is None
    assert {p.device_id for p in kitchen} == {kettle.device_id}


def test_another_users_devices_are_never_in_a_series(engine):
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    with session_scope(engine) as s:
        alice, bob = make_user(s), make_user(s)
        alices = make_device(s, user=alice)
        add_readings(s, user=alice, device=alices, points=minutes(t0, 60, 500.0))
    rollup_dirty_hours(engine)
    with session_scope(engine, read_only=True) as s:
        points = energy_series(
            s,
            user_id=bob.id,
            start=t0,
            end=t0 + timedelta(hours=1),
            device_ids=[alices.device_id],
        )
    assert points == []

"""Retention: raw readings go only when their hours are safely aggregated; aggregates stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, text
from sqlmodel import col, func, select

from energy_core.db import session_scope
from energy_core.models import HourlyAggregate, Reading
from energy_core.retention import last_prune, prune_readings, retention_horizon
from energy_core.rollup import (
    dirty_backlog,
    mark_for_rebuild,
    rebuild_aggregates,
    rollup_dirty_hours,
)
from energy_core.settings import Settings
from energy_core.sql.ingest import mark_hours_dirty
from energy_core.sql.locks import job_lock
from energy_core.stats import instant_period, load_household, read_series
from energy_core.types import UTCDateTime
from tests.factories import seed_device

T0 = datetime(2025, 1, 6, tzinfo=UTC)
HOUR = timedelta(hours=1)
# With the default 400 days, readings before NOW - 400 days may go: all of T0's day.
NOW = T0 + timedelta(days=401)


def seed_day(engine, *, hours: int = 24, power_w: float = 1000.0):
    """One device with a reading every minute for ``hours`` hours from T0."""
    return seed_device(engine, [(T0 + timedelta(minutes=m), power_w) for m in range(hours * 60)])


def readings_per_hour(engine, device_pk: int) -> dict[datetime, int]:
    with session_scope(engine, read_only=True) as s:
        stamps = s.exec(select(Reading.ts).where(Reading.device_pk == device_pk)).all()
    counts: dict[datetime, int] = {}
    for ts in stamps:
        hour = ts.replace(minute=0, second=0, microsecond=0)
        counts[hour] = counts.get(hour, 0) + 1
    return counts


def aggregates(engine, device_pk: int) -> dict[datetime, float]:
    with session_scope(engine, read_only=True) as s:
        rows = s.exec(select(HourlyAggregate).where(HourlyAggregate.device_pk == device_pk)).all()
    return {r.hour_start: r.energy_wh for r in rows}


def test_old_readings_of_aggregated_hours_are_deleted_and_aggregates_kept(engine):
    user, device = seed_day(engine)
    rollup_dirty_hours(engine)
    before = aggregates(engine, device.id)

    run = prune_readings(engine, now=NOW, batch_hours=5)

    assert run.readings == 24 * 60 and run.hours == 24 and run.batches == 5
    assert readings_per_hour(engine, device.id) == {}
    assert aggregates(engine, device.id) == before
    with session_scope(engine, read_only=True) as s:
        selection = load_household(s, user_id=user.id).select(
            instant_period(T0, T0 + timedelta(days=1), timezone="UTC")
        )
        day = read_series(s, selection).total
        assert last_prune(s).hours_computed == 24
    assert day.consumption_wh == pytest.approx(24_000.0)
    assert day.coverage == pytest.approx(1.0)


def test_a_batch_keeps_to_its_size_across_devices_and_the_run_prunes_every_hour(engine):
    every_10_min = [(T0 + timedelta(minutes=10 * k), 500.0) for k in range(24 * 6)]
    devices = [seed_device(engine, every_10_min)[1] for _ in range(3)]
    rollup_dirty_hours(engine)

    first = prune_readings(engine, now=NOW, batch_hours=5, max_batches=1)

    assert (first.batches, first.hours, first.readings) == (1, 5, 5 * 6)
    # Oldest first: every device's first hour is in it.
    assert all(T0 not in readings_per_hour(engine, d.id) for d in devices)

    rest = prune_readings(engine, now=NOW, batch_hours=5)

    assert first.hours + rest.hours == 3 * 24 and rest.hours <= 5 * rest.batches
    assert all(readings_per_hour(engine, d.id) == {} for d in devices)


def test_readings_inside_the_window_are_kept(engine):
    _, device = seed_day(engine)
    rollup_dirty_hours(engine)
    # Now is 400 days after hour 12: only hours 0..11 are old enough.
    run = prune_readings(engine, now=T0 + timedelta(days=400, hours=12, minutes=30))
    assert run.hours == 12
    assert sorted(readings_per_hour(engine, device.id)) == [T0 + h * HOUR for h in range(12, 24)]


def test_never_deletes_readings_of_an_hour_whose_aggregate_is_missing_or_dirty(engine):
    _, device = seed_day(engine, hours=8)
    rollup_dirty_hours(engine)
    with engine.begin() as conn:
        # Hour 2: its aggregate is missing (as if the rollup never got to it).
        conn.execute(
            text(
                "DELETE FROM hourly_aggregates WHERE device_pk = :d AND hour_start = :h"
            ).bindparams(bindparam("h", type_=UTCDateTime())),
            {"d": device.id, "h": T0 + 2 * HOUR},
        )
        # Hour 5 is dirty: a late reading arrived and the rollup has not run since.
        mark_hours_dirty(conn, [(device.user_id, device.id, T0 + 5 * HOUR)])

    prune_readings(engine, now=NOW)

    left = readings_per_hour(engine, device.id)
    # Hour 4 stays too: its last reading carries into dirty hour 5, whose recomputation needs it.
    assert sorted(left) == [T0 + 2 * HOUR, T0 + 4 * HOUR, T0 + 5 * HOUR]
    assert all(count == 60 for count in left.values())

    # Once the rollup has made them current, the next retention run takes them.
    with engine.begin() as conn:
        mark_hours_dirty(conn, [(device.user_id, device.id, T0 + 2 * HOUR)])
    rollup_dirty_hours(engine)
    prune_readings(engine, now=NOW)
    assert readings_per_hour(engine, device.id) == {}


def test_zero_retention_days_keeps_readings_forever(engine):
    _, device = seed_day(engine, hours=2)
    rollup_dirty_hours(engine)
    run = prune_readings(
        engine, now=NOW + timedelta(days=3650), settings=Settings(retention_days=0)
    )
    assert run.readings == 0 and run.horizon is None
    assert sum(readings_per_hour(engine, device.id).values()) == 120


def test_readings_are_kept_at_least_as_long_as_late_readings_are_accepted():
    now = datetime(2026, 5, 1, 12, 34, tzinfo=UTC)
    settings = Settings(retention_days=7, lateness_days=30)
    assert retention_horizon(now, settings=settings) == datetime(2026, 4, 1, 12, tzinfo=UTC)
    assert retention_horizon(now, settings=Settings(retention_days=400)) == datetime(
        2025, 3, 27, 12, tzinfo=UTC
    )


def test_a_second_scheduler_skips_retention_while_the_first_holds_the_lock(engine):
    _, device = seed_day(engine, hours=2)
    rollup_dirty_hours(engine)
    with job_lock(engine, "retention") as got:
        assert got
        run = prune_readings(engine, now=NOW)
    assert run.skipped and run.readings == 0
    assert sum(readings_per_hour(engine, device.id).values()) == 120
    # The rollup has a lock of its own: pruning does not stop aggregation, nor the reverse.
    with job_lock(engine, "rollup") as got:
        assert got
        assert prune_readings(engine, now=NOW).readings == 120


def test_a_rebuild_after_pruning_leaves_pruned_hours_as_aggregated(engine):
    user, device = seed_day(engine, hours=6)
    rollup_dirty_hours(engine)
    before = aggregates(engine, device.id)
    prune_readings(engine, now=NOW)
    with session_scope(engine) as s:
        marked = mark_for_rebuild(s, now=NOW)
    assert marked == 0
    rollup_dirty_hours(engine)
    assert aggregates(engine, device.id) == before
    # The rebuild without marks keeps to the same horizon.
    assert rebuild_aggregates(engine, now=NOW).hours == 0
    assert aggregates(engine, device.id) == before
    with session_scope(engine, read_only=True) as s:
        assert dirty_backlog(s) == 0
        assert s.exec(select(func.count()).select_from(Reading)).one() == 0
        assert s.exec(
            select(func.count()).where(col(HourlyAggregate.device_pk) == device.id)
        ).one() == len(before)

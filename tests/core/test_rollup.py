"""The SQL rollup against an independent reference of DESIGN.md section 3, on both backends."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event
from sqlmodel import col, delete, select

from energy_core.db import session_scope
from energy_core.models import Device, HourlyAggregate
from energy_core.retention import prune_readings
from energy_core.rollup import (
    Rebuild,
    dirty_backlog,
    mark_for_rebuild,
    rebuild_aggregates,
    rebuild_transactions,
    rollup_dirty_hours,
)
from energy_core.settings import get_settings
from energy_core.sql.rollup import HOUR_US
from energy_core.stats import instant_period, load_household, read_series
from tests.factories import add_readings, make_device, make_user, seed_device, steady_points
from tests.strategies import database_examples, seconds_within, watts

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
# The clock of rebuilds, which leave hours past the retention horizon alone: a day after T0, so
# T0's readings stay inside retention whatever the date the suite runs on.
NOW = T0 + timedelta(days=1)
HOUR_S = 3600


def reference_hours(points: list[tuple[float, float]], max_gap_s: float) -> dict[int, dict]:
    """Hour index -> statistics, from ``(seconds since T0, watts)`` points, by walking each
    reading's holding interval across hour boundaries (no windows, no SQL)."""
    latest: dict[float, float] = {}
    for t, p in points:
        latest.setdefault(t, p)  # the first stored value of a timestamp wins
    ordered = sorted(latest.items())
    hours: dict[int, dict] = defaultdict(
        lambda: {
            "energy_wh": 0.0,
            "consumed_wh": 0.0,
            "generated_wh": 0.0,
            "covered_s": 0.0,
            "samples": [],
        }
    )
    for i, (t, p) in enumerate(ordered):
        hours[int(t // HOUR_S)]["samples"].append(p)
        end = t + max_gap_s
        if i + 1 < len(ordered):
            end = min(end, ordered[i + 1][0])
        cursor = t
        while cursor < end:
            hour = int(cursor // HOUR_S)
            piece_end = min(end, (hour + 1) * HOUR_S)
            hours[hour]["energy_wh"] += p * (piece_end - cursor) / 3600.0
            # Consumption and generation: each reading's energy by its own sign.
            hours[hour]["consumed_wh" if p >= 0 else "generated_wh"] += (
                abs(p) * (piece_end - cursor) / 3600.0
            )
            hours[hour]["covered_s"] += piece_end - cursor
            cursor = piece_end
    return {h: v for h, v in hours.items() if v["covered_s"] > 0 or v["samples"]}


def stored_hours(engine, device_pk: int) -> dict[int, HourlyAggregate]:
    with session_scope(engine, read_only=True) as s:
        rows = s.exec(select(HourlyAggregate).where(HourlyAggregate.device_pk == device_pk)).all()
    return {int((r.hour_start - T0).total_seconds() // HOUR_S): r for r in rows}


def assert_matches_reference(engine, device_pk: int, points, max_gap_s: float) -> None:
    expected = reference_hours(points, max_gap_s)
    got = stored_hours(engine, device_pk)
    assert set(got) == set(expected)
    for hour, exp in expected.items():
        row = got[hour]
        assert row.energy_wh == pytest.approx(exp["energy_wh"], rel=1e-9, abs=1e-6)
        assert row.consumed_wh == pytest.approx(exp["consumed_wh"], rel=1e-9, abs=1e-6)
        assert row.generated_wh == pytest.approx(exp["generated_wh"], rel=1e-9, abs=1e-6)
        assert row.covered_s == pytest.approx(exp["covered_s"], abs=1e-6)
        assert row.coverage == pytest.approx(exp["covered_s"] / 3600.0)
        assert row.sample_count == len(exp["samples"])
        if exp["samples"]:
            assert row.min_watts == min(exp["samples"])
            assert row.max_watts == max(exp["samples"])
        else:
            assert row.min_watts is None and row.max_watts is None
        if exp["covered_s"]:
            assert row.avg_watts == pytest.approx(exp["energy_wh"] * 3600 / exp["covered_s"])


def test_constant_power_for_a_full_hour_gives_exact_energy(engine):
    with session_scope(engine) as s:
        user = make_user(s)
        device = make_device(s, user=user)
        points = [(T0 + timedelta(minutes=m), 1200.0) for m in range(0, 70)]
        add_readings(s, user=user, device=device, points=points)
    rollup_dirty_hours(engine)
    rows = stored_hours(engine, device.id)
    assert rows[0].energy_wh == pytest.approx(1200.0)
    assert rows[0].coverage == pytest.approx(1.0)
    assert rows[0].sample_count == 60
    assert rows[1].sample_count == 10
    # The last reading holds for the default max_gap of 600 s.
    assert rows[1].covered_s == pytest.approx(9 * 60 + 600)


def test_gap_longer_than_max_gap_is_unknown_not_zero(engine):
    with session_scope(engine) as s:
        user = make_user(s)
        device = make_device(s, user=user)
        add_readings(
            s, user=user, device=device, points=[(T0, 500.0), (T0 + timedelta(minutes=40), 100.0)]
        )
    rollup_dirty_hours(engine)
    row = stored_hours(engine, device.id)[0]
    assert row.covered_s == pytest.approx(1200)
    assert row.energy_wh == pytest.approx(500 * 600 / 3600 + 100 * 600 / 3600)
    assert row.avg_watts == pytest.approx(300.0)


def test_reading_near_the_end_of_an_hour_carries_into_the_next(engine):
    user, device = seed_device(engine, [(T0 + timedelta(minutes=55), 3600.0)])
    rollup_dirty_hours(engine)
    rows = stored_hours(engine, device.id)
    assert rows[0].energy_wh == pytest.approx(300.0)
    assert rows[1].energy_wh == pytest.approx(300.0)
    assert rows[1].sample_count == 0
    assert rows[1].min_watts is None


def test_a_battery_that_charges_and_discharges_within_an_hour_keeps_both_parts(engine):
    with session_scope(engine) as s:
        user = make_user(s)
        battery = make_device(s, user=user, bidirectional=True, max_gap_s=3600)
        # Charges at 2 kW for 20 minutes, discharges at 3 kW for 30, then the discharge carries
        # 10 minutes into the next hour.
        points = [(T0, 2000.0), (T0 + timedelta(minutes=20), -3000.0)]
        add_readings(s, user=user, device=battery, points=points)
        add_readings(s, user=user, device=battery, points=[(T0 + timedelta(minutes=50), -3000.0)])
    rollup_dirty_hours(engine)
    rows = stored_hours(engine, battery.id)
    assert rows[0].consumed_wh == pytest.approx(2000 / 3)
    assert rows[0].generated_wh == pytest.approx(3000 * 40 / 60)
    assert rows[0].energy_wh == pytest.approx(2000 / 3 - 2000)
    assert rows[1].consumed_wh == 0 and rows[1].generated_wh == pytest.approx(3000 * 50 / 60)


def first_reading(engine, device_pk: int) -> datetime | None:
    with session_scope(engine, read_only=True) as s:
        return s.get(Device, device_pk).first_reading_at


def test_the_rollup_keeps_each_devices_first_reading_and_retention_never_moves_it(engine):
    user, device = seed_device(
        engine, [(T0 + timedelta(hours=2, minutes=m), 100.0) for m in range(7, 240)]
    )
    assert first_reading(engine, device.id) is None  # not rolled up yet
    rollup_dirty_hours(engine)
    assert first_reading(engine, device.id) == T0 + timedelta(hours=2, minutes=7)
    with session_scope(engine) as s:  # a late reading, older than the first
        add_readings(s, user=user, device=device, points=[(T0 + timedelta(minutes=50), 80.0)])
    rollup_dirty_hours(engine)
    assert first_reading(engine, device.id) == T0 + timedelta(minutes=50)
    # Retention prunes the oldest hours; the device's first reading stays where it was.
    later = T0 + timedelta(days=400, hours=4)
    assert prune_readings(engine, now=later).hours > 0
    with session_scope(engine) as s:
        mark_for_rebuild(s, now=later)
    rollup_dirty_hours(engine)
    assert first_reading(engine, device.id) == T0 + timedelta(minutes=50)


def test_late_reading_changes_the_previous_hour_too(engine):
    user, device = seed_device(engine, [(T0 + timedelta(minutes=50), 600.0)])
    rollup_dirty_hours(engine)
    with session_scope(engine) as s:
        add_readings(s, user=user, device=device, points=[(T0 + timedelta(minutes=55), 0.0)])
    rollup_dirty_hours(engine)
    rows = stored_hours(engine, device.id)
    assert rows[0].energy_wh == pytest.approx(600 * 300 / 3600)
    assert rows.get(1) is None or rows[1].energy_wh == pytest.approx(0.0)


def test_running_the_job_twice_changes_nothing(engine):
    user, device = seed_device(
        engine, [(T0 + timedelta(seconds=17 * i), 10.0 + i) for i in range(500)]
    )
    first = rollup_dirty_hours(engine)
    before = {
        h: (r.energy_wh, r.covered_s, r.sample_count)
        for h, r in stored_hours(engine, device.id).items()
    }
    second = rollup_dirty_hours(engine)
    after = {
        h: (r.energy_wh, r.covered_s, r.sample_count)
        for h, r in stored_hours(engine, device.id).items()
    }
    assert first.hours > 0 and second.hours == 0
    assert before == after
    with session_scope(engine) as s:
        assert dirty_backlog(s) == 0


def test_per_device_max_gap_override_is_used(engine):
    user, device = seed_device(engine, [(T0, 1000.0)], max_gap_s=1800)
    rollup_dirty_hours(engine)
    assert stored_hours(engine, device.id)[0].covered_s == pytest.approx(1800)


readings_strategy = st.lists(
    st.tuples(
        # Seconds since T0 over about five hours.
        seconds_within(5),
        watts(5000, digits=3),
    ),
    min_size=1,
    max_size=60,
)


@database_examples(25)
@given(
    points=readings_strategy,
    chunks=st.integers(min_value=1, max_value=4),
    gap=st.sampled_from([60, 600, 5400]),
)
def test_incremental_rollup_equals_reference_for_random_readings(engine, points, chunks, gap):
    """Random irregular readings, boundaries, duplicates, out of order, in chunks with job runs in
    between: the stored aggregates equal the reference."""
    user, device = seed_device(engine, bidirectional=True, max_gap_s=gap)
    size = max(1, len(points) // chunks)
    for i in range(0, len(points), size):
        chunk = points[i : i + size]
        with session_scope(engine) as s:
            add_readings(
                s,
                user=user,
                device=device,
                points=[(T0 + timedelta(microseconds=round(t * 1e6)), p) for t, p in chunk],
            )
        rollup_dirty_hours(engine)
    canonical = [(round(t * 1e6) / 1e6, p) for t, p in points]
    assert_matches_reference(engine, device.id, canonical, gap)

    # Energy over an arbitrary range (whole hours from aggregates, edges from raw) agrees too.
    start, end = T0 + timedelta(minutes=37), T0 + timedelta(hours=3, minutes=12)
    with session_scope(engine, read_only=True) as s:
        selection = load_household(s, user_id=user.id).select(
            instant_period(start, end, timezone="UTC")
        )
        figure = read_series(s, selection).total
    expected = reference_range(canonical, gap, 37 * 60, 3 * HOUR_S + 12 * 60)
    # No reading holding in the range is no data (None), which the reference counts as 0.
    assert (figure.net_wh or 0.0) == pytest.approx(expected, rel=1e-9, abs=1e-6)


def reference_range(points, max_gap_s, lo, hi) -> float:
    latest: dict[float, float] = {}
    for t, p in points:
        latest.setdefault(t, p)
    ordered = sorted(latest.items())
    total = 0.0
    for i, (t, p) in enumerate(ordered):
        end = t + max_gap_s
        if i + 1 < len(ordered):
            end = min(end, ordered[i + 1][0])
        total += p * max(0.0, min(end, hi) - max(t, lo)) / 3600.0
    return total


# --- several devices, late data, rebuilds -------------------------------------------------------


def aggregate_rows(engine, device_pks=None) -> dict[tuple[int, datetime], tuple]:
    """The stored aggregates (of some devices), all columns but the time they were computed."""
    query = select(HourlyAggregate)
    if device_pks is not None:
        query = query.where(col(HourlyAggregate.device_pk).in_(device_pks))
    with session_scope(engine, read_only=True) as s:
        rows = s.exec(query).all()
    return {
        (r.device_pk, r.hour_start): (
            r.energy_wh,
            r.consumed_wh,
            r.generated_wh,
            r.covered_s,
            r.avg_watts,
            r.min_watts,
            r.max_watts,
            r.sample_count,
        )
        for r in rows
    }


device_readings = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2),  # which device
        seconds_within(4),
        watts(3000, digits=3),
    ),
    min_size=1,
    max_size=80,
)


@database_examples(20)
@given(points=device_readings, cuts=st.lists(st.integers(0, 80), max_size=4), data=st.data())
def test_several_devices_in_random_chunks_equal_reference_and_a_full_rebuild(
    engine, points, cuts, data
):
    """Three devices (one bidirectional meter, gaps of 60 s, 600 s and 2 h), readings out of
    order, duplicated and late, ingested in random chunks with job runs in between: every hour
    equals the reference, and a full rebuild afterwards stores identical rows."""
    gaps = [60, None, 7200]  # None: the default max_gap of 600 s
    with session_scope(engine) as s:
        user = make_user(s)
        devices = [make_device(s, user=user, bidirectional=True, max_gap_s=gap) for gap in gaps]
    bounds = sorted({0, len(points), *(c for c in cuts if c < len(points))})
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        for index, device in enumerate(devices):
            chunk = [(t, p) for d, t, p in points[lo:hi] if d == index]
            if chunk:
                with session_scope(engine) as s:
                    add_readings(
                        s,
                        user=user,
                        device=device,
                        points=[(T0 + timedelta(microseconds=round(t * 1e6)), p) for t, p in chunk],
                    )
        if data.draw(st.booleans(), label="run the job after this chunk"):
            rollup_dirty_hours(engine)
    rollup_dirty_hours(engine)
    for index, device in enumerate(devices):
        mine = [(round(t * 1e6) / 1e6, p) for d, t, p in points if d == index]
        assert_matches_reference(engine, device.id, mine, gaps[index] or 600)

    pks = [d.id for d in devices]
    incremental = aggregate_rows(engine, pks)
    with session_scope(engine) as s:
        marked = mark_for_rebuild(s, Rebuild(device_pks=pks), now=NOW)
    assert marked >= len(incremental)
    rebuilt_run = rollup_dirty_hours(engine)
    assert rebuilt_run.hours == marked and rebuilt_run.remaining == 0
    assert aggregate_rows(engine, pks) == incremental

    # The rebuild path without marks (PostgreSQL: one run per device) stores the same rows,
    # computed afresh: the stored ones are gone first.
    with session_scope(engine) as s:
        s.exec(delete(HourlyAggregate).where(col(HourlyAggregate.device_pk).in_(pks)))
    rebuilt = rebuild_aggregates(engine, Rebuild(device_pks=pks), now=NOW)
    assert rebuilt.remaining == 0 and rebuilt.hours == marked
    assert aggregate_rows(engine, pks) == incremental


def test_rebuild_of_one_device_since_a_date_leaves_the_rest_alone(engine):
    with session_scope(engine) as s:
        user = make_user(s)
        kettle, fridge = make_device(s, user=user), make_device(s, user=user)
        for device in (kettle, fridge):
            add_readings(s, user=user, device=device, points=steady_points(T0, 100.0, count=6 * 12))
    rollup_dirty_hours(engine)
    with session_scope(engine) as s:
        marked = mark_for_rebuild(
            s, Rebuild(since=T0 + timedelta(hours=3), device_pks=[kettle.id]), now=NOW
        )
    # Hours 3, 4, 5 and the sixth, which the last reading carries into.
    assert marked == 4
    with session_scope(engine, read_only=True) as s:
        assert dirty_backlog(s) == 4
    assert rollup_dirty_hours(engine).hours == 4


def test_a_rebuild_without_marks_of_one_device_since_a_date_equals_the_marked_one(
    engine, monkeypatch
):
    """The same hours, the same rows, on two connections and in transactions of two hours (the
    devices' ranges cut between them): a device's hours before ``since`` and the other devices
    are left as stored, and readings before ``since`` still carry into it."""
    with session_scope(engine) as s:
        user = make_user(s)
        devices = [
            make_device(s, user=user, bidirectional=True, max_gap_s=gap)
            for gap in (None, 5400, None)
        ]
        for index, device in enumerate(devices):
            points = [
                (T0 + timedelta(seconds=41 * i + index), float((i * 7 + index) % 900 - 100))
                for i in range(600)
            ]
            add_readings(s, user=user, device=device, points=points)
    rollup_dirty_hours(engine)
    stored = aggregate_rows(engine)
    since, pks = T0 + timedelta(hours=2, minutes=10), [devices[0].id, devices[1].id]
    with session_scope(engine) as s:
        s.exec(delete(HourlyAggregate).where(col(HourlyAggregate.hour_start) >= T0))
    with session_scope(engine) as s:
        marked = mark_for_rebuild(s, Rebuild(since=since, device_pks=pks), now=NOW)
    rollup_dirty_hours(engine)
    by_marks = aggregate_rows(engine)
    assert 0 < len(by_marks) == marked < len(stored)
    assert all(stored[key] == row for key, row in by_marks.items())

    with session_scope(engine) as s:
        s.exec(delete(HourlyAggregate).where(col(HourlyAggregate.hour_start) >= T0))
    monkeypatch.setenv("ENERGY_ROLLUP_BATCH_HOURS", "2")
    get_settings.cache_clear()
    run = rebuild_aggregates(engine, Rebuild(since=since, device_pks=pks), now=NOW)
    assert run.hours == marked and run.remaining == 0
    assert aggregate_rows(engine) == by_marks


def test_a_rebuild_packs_device_ranges_into_transactions_of_about_a_batch_of_hours():
    h = HOUR_US
    ranges = [(1, 0, 3 * h), (2, 10 * h, 11 * h), (3, 20 * h, 27 * h)]
    assert rebuild_transactions(ranges, hours=4) == [
        [(1, 0, 3 * h), (2, 10 * h, 11 * h)],
        [(3, 20 * h, 24 * h)],
        [(3, 24 * h, 27 * h)],
    ]
    assert rebuild_transactions(ranges, hours=100) == [ranges]
    assert rebuild_transactions([], hours=4) == []


def test_a_crash_mid_run_keeps_the_previous_state_and_the_next_run_completes_it(
    engine, monkeypatch
):
    with session_scope(engine) as s:
        user = make_user(s)
        device = make_device(s, user=user)
        first = [(T0 + timedelta(minutes=m), 500.0) for m in range(0, 6 * 60, 2)]
        add_readings(s, user=user, device=device, points=first)
    rollup_dirty_hours(engine)
    before = aggregate_rows(engine)

    # Late readings change every hour; the job then needs several batches of two hours.
    late = [(T0 + timedelta(minutes=m + 1), 1500.0) for m in range(0, 6 * 60, 2)]
    with session_scope(engine) as s:
        add_readings(s, user=user, device=device, points=late)
    monkeypatch.setenv("ENERGY_ROLLUP_BATCH_HOURS", "2")
    get_settings.cache_clear()

    statements = {"rollups": 0}

    def crash_in_second_batch(conn, cursor, statement, parameters, context, executemany):
        if "INSERT INTO hourly_aggregates" in statement:
            statements["rollups"] += 1
            if statements["rollups"] == 2:
                # After the new aggregates were written, before the transaction commits.
                raise RuntimeError("power cut")

    event.listen(engine, "after_cursor_execute", crash_in_second_batch)
    try:
        with pytest.raises(RuntimeError, match="power cut"):
            rollup_dirty_hours(engine)
    finally:
        event.remove(engine, "after_cursor_execute", crash_in_second_batch)

    after_crash = aggregate_rows(engine)
    changed = {key for key in before if after_crash[key] != before[key]}
    assert changed == {(device.id, T0), (device.id, T0 + timedelta(hours=1))}  # batch 1 only
    with session_scope(engine, read_only=True) as s:
        assert dirty_backlog(s) == 5  # hours 2..6 are still marked

    rollup_dirty_hours(engine)
    merged = [(t - T0).total_seconds() for t, _ in first + late]
    points = [(t, p) for t, (_, p) in zip(merged, first + late, strict=True)]
    assert_matches_reference(engine, device.id, points, 600)


def test_a_large_backlog_shared_by_several_workers_gives_the_same_rows(engine, monkeypatch):
    with session_scope(engine) as s:
        user = make_user(s)
        devices = [make_device(s, user=user) for _ in range(5)]
        points = [(T0 + timedelta(seconds=37 * i), float(i % 300)) for i in range(1200)]
        for device in devices:
            add_readings(s, user=user, device=device, points=points)
    monkeypatch.setenv("ENERGY_ROLLUP_BATCH_HOURS", "3")
    monkeypatch.setenv("ENERGY_ROLLUP_WORKERS", "3")
    get_settings.cache_clear()
    run = rollup_dirty_hours(engine)
    assert run.remaining == 0 and run.hours == 5 * 13
    canonical = [((t - T0).total_seconds(), p) for t, p in points]
    for device in devices:
        assert_matches_reference(engine, device.id, canonical, 600)

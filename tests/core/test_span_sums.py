"""Sums of stored hours per span and device (the read layer's SQL), checked against the stored
rows summed here, for a few spans (SQLite sums each in a SELECT of its own) and for many (each
hour finds its span in one): the same figures either way, dirty hours left out."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from energy_core.db import session_scope
from energy_core.models import DirtyHour, HourlyAggregate
from energy_core.rollup import rollup_dirty_hours
from energy_core.sql import reads
from energy_core.sql.nets import hourly_nets
from energy_core.types import ceil_hour, floor_hour
from tests.factories import add_readings, make_device, make_user

T0 = datetime(2026, 3, 2, tzinfo=UTC)
HOURS = 40


@pytest.fixture
def stored(engine):
    """Two days of a heater (on and off) and a battery (charging, then discharging), rolled up,
    then a late reading that leaves one hour of the heater dirty."""
    with session_scope(engine) as s:
        user = make_user(s)
        heater = make_device(s, user=user, device_id="heater")
        battery = make_device(s, user=user, device_id="battery", bidirectional=True)
        add_readings(
            s,
            user=user,
            device=heater,
            points=[
                (T0 + timedelta(minutes=5 * i), 2000.0 if (i // 12) % 3 else 0.0)
                for i in range(HOURS * 12)
            ],
        )
        add_readings(
            s,
            user=user,
            device=battery,
            points=[
                (T0 + timedelta(minutes=7 * i), 800.0 if i % 20 < 11 else -1500.0)
                for i in range(HOURS * 60 // 7)
            ],
        )
        user_id, pks = user.id, (heater.id, battery.id)
    rollup_dirty_hours(engine)
    with session_scope(engine) as s:
        add_readings(
            s,
            user=s.get(type(user), user_id),
            device=s.get(type(heater), pks[0]),
            points=[(T0 + timedelta(hours=5, minutes=31), 3000.0)],
        )
        assert s.exec(select(DirtyHour)).all()
    return user_id, pks


def expected_sums(engine, user_id: int, bounds: list[datetime], start: datetime, end: datetime):
    """The stored rows of clean hours, summed per (span, device) in Python."""
    with session_scope(engine, read_only=True) as s:
        dirty = {(d.device_pk, d.hour_start) for d in s.exec(select(DirtyHour)).all()}
        rows = s.exec(select(HourlyAggregate).where(HourlyAggregate.user_id == user_id)).all()
    sums: dict = defaultdict(lambda: [0.0, 0.0, 0.0, math.inf, -math.inf, 0, 0.0])
    for row in rows:
        if not start <= row.hour_start < end or (row.device_pk, row.hour_start) in dirty:
            continue
        idx = next(
            (i for i, lo in enumerate(bounds[:-1]) if lo <= row.hour_start < bounds[i + 1]), None
        )
        if idx is None:
            continue
        acc = sums[(idx, row.device_pk)]
        acc[0] += row.consumed_wh
        acc[1] += row.generated_wh
        acc[2] += row.covered_s
        acc[3] = min(acc[3], row.min_watts)
        acc[4] = max(acc[4], row.max_watts)
        acc[5] += row.sample_count
        acc[6] += min(row.consumed_wh, row.generated_wh)
    return dict(sums)


def stored_span_sums(
    engine,
    user_id: int,
    bounds: list[datetime],
    *,
    whole: tuple[datetime, datetime] | None = None,
    device_pks: list[int] | None = None,
):
    """``span_sums`` of ``device_pks`` (None: all) over the stored hours of ``whole`` (default:
    from the first bound to the last)."""
    start, end = whole or (bounds[0], bounds[-1])
    with session_scope(engine, read_only=True) as s:
        return reads.span_sums(
            s.connection(),
            user_id=user_id,
            device_pks=device_pks,
            bounds=bounds,
            full_start=start,
            full_end=end,
        )


@pytest.mark.parametrize(
    "bounds",
    [
        [T0 + timedelta(hours=h) for h in (0, 10, 20, HOURS)],
        [T0 + timedelta(hours=h) for h in range(HOURS + 1)],
        [T0 + timedelta(hours=3, minutes=30) + timedelta(hours=h) for h in range(30)],
        # More spans than SQLite sums one SELECT at a time: each hour finds its span in one.
        [T0 + timedelta(minutes=30 * k) for k in range(2 * HOURS + 1)],
    ],
    ids=["3 spans", "40 hourly spans", "29 spans between hours", "80 half-hour spans"],
)
def test_span_sums_are_the_stored_hours_summed_per_span_and_device(engine, stored, bounds):
    user_id, pks = stored
    # As the read layer asks: the whole hours within the spans.
    start, end = ceil_hour(bounds[0]), floor_hour(bounds[-1])
    expected = expected_sums(engine, user_id, bounds, start, end)

    everyone = stored_span_sums(engine, user_id, bounds, whole=(start, end))
    battery = stored_span_sums(engine, user_id, bounds, whole=(start, end), device_pks=[pks[1]])

    assert len(expected) > 2
    got = {(idx, pk): list(values) for idx, pk, *values in everyone}
    assert set(got) == set(expected)
    for key, values in expected.items():
        assert got[key] == pytest.approx(values, rel=1e-9, abs=1e-6), key
    assert {(idx, pk) for idx, pk, *_ in battery} == {k for k in expected if k[1] == pks[1]}
    assert any(values[1] > 0 and values[6] > 0 for key, values in got.items() if key[1] == pks[1])


def expected_nets(engine, user_id: int, start: datetime, end: datetime, meter_pk: int | None):
    """The household's net per clean stored hour (and the meter's flows), summed in Python."""
    with session_scope(engine, read_only=True) as s:
        dirty = {(d.device_pk, d.hour_start) for d in s.exec(select(DirtyHour)).all()}
        rows = s.exec(select(HourlyAggregate).where(HourlyAggregate.user_id == user_id)).all()
    nets: dict = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for row in rows:
        if not start <= row.hour_start < end or (row.device_pk, row.hour_start) in dirty:
            continue
        acc = nets[row.hour_start]
        if row.device_pk == meter_pk:
            acc[1] += row.consumed_wh
            acc[2] += row.generated_wh
            acc[3] += row.covered_s
        else:
            acc[0] += row.consumed_wh - row.generated_wh
    return dict(nets)


@pytest.mark.parametrize("metered", [False, True], ids=["no grid meter", "heater as grid meter"])
def test_household_nets_are_the_stored_hours_summed_per_hour_for_all_or_listed_devices(
    engine, stored, metered
):
    user_id, pks = stored
    meter_pks = [pks[0]] if metered else []
    counted = [pk for pk in pks if pk not in meter_pks]
    start, end = T0 + timedelta(hours=2), T0 + timedelta(hours=HOURS - 3)
    expected = expected_nets(engine, user_id, start, end, meter_pks[0] if metered else None)

    with session_scope(engine, read_only=True) as s:
        # All of the household's devices (on SQLite, summed from the index by hour), and the
        # same devices listed one by one (read along the primary key and summed here).
        found = [
            hourly_nets(
                s.connection(),
                user_id=user_id,
                counted_pks=counted_pks,
                meter_pks=meter_pks,
                full_start=start,
                full_end=end,
            )
            for counted_pks in (None, counted)
        ]

    assert len(expected) > 30
    for nets in found:
        got = {hour: list(values) for hour, *values in nets}
        assert set(got) == set(expected)
        for hour, values in expected.items():
            assert got[hour] == pytest.approx(values, rel=1e-12, abs=1e-9), hour
    assert any(values[0] < 0 for values in expected.values())
    assert any(values[3] > 0 for values in expected.values()) == metered


def test_span_sums_of_hours_without_readings_have_no_extremes_and_no_hours_no_rows(engine):
    """An hour held only by the reading before it (no reading of its own) has no minimum or
    maximum: its span's extremes are NaN, not 0. A range without stored hours has no rows."""
    with session_scope(engine) as s:
        user = make_user(s)
        fridge = make_device(s, user=user, device_id="fridge")
        add_readings(
            s,
            user=user,
            device=fridge,
            points=[
                (T0 + timedelta(hours=10, minutes=59), 1000.0),
                (T0 + timedelta(hours=12, minutes=30), 500.0),
                (T0 + timedelta(hours=12, minutes=40), 700.0),
            ],
        )
        user_id, pk = user.id, fridge.id
    rollup_dirty_hours(engine)
    bounds = [T0 + timedelta(hours=h) for h in (11, 12, 13)]

    found = stored_span_sums(engine, user_id, bounds)
    later = [T0 + timedelta(hours=20), T0 + timedelta(hours=21)]
    nothing = stored_span_sums(engine, user_id, later, device_pks=[pk])

    rows = {int(idx): values for idx, _, *values in found}
    consumed, generated, covered, min_w, max_w, samples, cancelled = rows[0]
    assert covered == pytest.approx(540.0)
    assert consumed == pytest.approx(1000.0 * 540 / 3600)
    assert samples == 0 and generated == 0 and cancelled == 0
    assert math.isnan(min_w) and math.isnan(max_w)
    assert (rows[1][3], rows[1][4], rows[1][5]) == (500.0, 700.0, 2)
    assert nothing.shape == (0, reads.SPAN_SUMS_WIDTH)


@pytest.mark.parametrize(
    "step", [timedelta(hours=1), timedelta(minutes=30), timedelta(minutes=50)], ids=str
)
def test_many_span_sums_are_read_in_chunks_of_bounded_size_with_the_same_figures(
    engine, stored, monkeypatch, step
):
    """A bound of 7 rows per array on two devices' 40 hours forces PostgreSQL's chunked read
    (a year of 500 devices by hour no longer fits in one array); the sums are the same."""
    user_id, pks = stored
    bounds = [T0 + step * k for k in range(int(HOURS * timedelta(hours=1) / step) + 1)]
    start, end = ceil_hour(bounds[0]), floor_hour(bounds[-1])
    expected = expected_sums(engine, user_id, bounds, start, end)
    monkeypatch.setattr(reads, "SPAN_SUMS_CHUNK_ROWS", 7)
    if engine.dialect.name == "postgresql":
        with session_scope(engine, read_only=True) as s:
            chunks = reads._span_chunks(
                s.connection(), user_id=user_id, device_pks=None, spans=len(bounds)
            )
        assert chunks >= len(bounds) * 2 // 7
    found = stored_span_sums(engine, user_id, bounds, whole=(start, end))
    got = {(int(idx), int(pk)): list(values) for idx, pk, *values in found}
    assert len(got) == len(found) and set(got) == set(expected)
    for key, values in expected.items():
        assert got[key] == pytest.approx(values, rel=1e-9, abs=1e-6), key

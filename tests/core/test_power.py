"""Raw readings read back in SQL (energy_core.power), checked against the step rule applied in
plain Python, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from energy_core.db import session_scope
from energy_core.energy import summarize_step
from energy_core.power import (
    Gap,
    bucket_width_s,
    holding,
    power_buckets,
    raw_power,
)
from energy_core.stats import load_household
from tests.factories import add_readings, make_device, make_user, users_each_with_a_device

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
GAP_S = 600


def held_spans(points, *, start, end, gap_s=GAP_S):  # noqa: ANN001, ANN201
    """(from, to, power) of each reading's hold inside [start, end): the rule, in plain Python."""
    spans = []
    for i, (ts, power) in enumerate(points):
        until = ts + timedelta(seconds=gap_s)
        if i + 1 < len(points):
            until = min(until, points[i + 1][0])
        lo, hi = max(ts, start), min(until, end)
        if hi > lo:
            spans.append((lo, hi, power))
    return spans


@pytest.fixture
def fridge(engine):  # noqa: ANN201
    """A device with irregular readings: cycles on and off, and a 40-minute silence."""
    rng = random.Random(7)
    points, ts = [], T0
    while ts < T0 + timedelta(hours=6):
        if T0 + timedelta(hours=3) <= ts < T0 + timedelta(hours=3, minutes=40):
            ts += timedelta(minutes=40)
            continue
        points.append((ts, rng.choice([0.9, 1.1, 95.0, 120.5, 88.0])))
        ts += timedelta(seconds=rng.randint(30, 420))
    with session_scope() as session:
        user = make_user(session)
        device = make_device(session, user=user, device_id="fridge", max_gap_s=GAP_S)
        add_readings(session, user=user, device=device, points=points)
        (ref,) = load_household(session, user_id=user.id).devices
    return user.id, ref, points


@pytest.mark.parametrize("window", [(0, 6), (1.25, 4.5), (2.9, 3.9), (-1, 7)])
def test_holding_matches_the_step_rule_over_any_window(fridge, window):
    user_id, device, points = fridge
    start, end = (T0 + timedelta(hours=h) for h in window)
    with session_scope(read_only=True) as session:
        held = holding(session, user_id=user_id, device=device, start=start, end=end, standby_w=5)

    spans = held_spans(points, start=start, end=end)
    covered = sum((hi - lo).total_seconds() for lo, hi, _ in spans)
    active = sum((hi - lo).total_seconds() for lo, hi, p in spans if abs(p) > 5)
    assert held.covered_s == pytest.approx(covered, abs=1e-6)
    assert held.covered_s == pytest.approx(
        summarize_step(points, start=start, end=end, max_gap_s=GAP_S).covered_s, abs=1e-6
    )
    assert held.active_s == pytest.approx(active, abs=1e-6)
    assert held.duty_cycle == pytest.approx(active / covered)
    # The gaps are exactly the rest of the window.
    assert sum(g.duration_s for g in held.gaps) == pytest.approx(
        held.duration_s - covered, abs=1e-6
    )
    for gap in held.gaps:
        assert start <= gap.start < gap.end <= end


def test_the_silence_is_one_gap_from_the_end_of_the_last_hold_to_the_next_reading(fridge):
    user_id, device, points = fridge
    start, end = T0 + timedelta(hours=2), T0 + timedelta(hours=5)
    with session_scope(read_only=True) as session:
        held = holding(session, user_id=user_id, device=device, start=start, end=end, standby_w=5)

    before = max(ts for ts, _ in points if ts < T0 + timedelta(hours=3, minutes=1))
    after = min(ts for ts, _ in points if ts > before)
    assert Gap(before + timedelta(seconds=GAP_S), after) in held.gaps


def test_a_window_without_readings_is_one_gap(fridge):
    user_id, device, _ = fridge
    start, end = T0 + timedelta(days=2), T0 + timedelta(days=2, hours=1)
    with session_scope(read_only=True) as session:
        held = holding(session, user_id=user_id, device=device, start=start, end=end, standby_w=5)

    assert held.gaps == [Gap(start, end)]
    assert held.covered_s == 0 and held.duty_cycle is None


def six_hours_raw(fridge, *, max_points: int):
    user_id, device, _ = fridge
    with session_scope(read_only=True) as session:
        return raw_power(
            session,
            user_id=user_id,
            device=device,
            start=T0,
            end=T0 + timedelta(hours=6),
            max_points=max_points,
        )


def test_raw_power_returns_the_readings_themselves_when_they_fit(fridge):
    _, _, points = fridge
    raw = six_hours_raw(fridge, max_points=len(points))
    assert not raw.downsampled
    assert raw.points == points


def test_raw_power_downsamples_to_the_budget_and_keeps_the_peaks(fridge):
    _, _, points = fridge
    raw = six_hours_raw(fridge, max_points=20)
    assert raw.downsampled
    assert 2 * len(raw.buckets) <= 20
    assert raw.readings == len(points)
    assert max(b.max_w for b in raw.buckets) == max(p for _, p in points)
    assert min(b.min_w for b in raw.buckets) == min(p for _, p in points)
    for bucket in raw.buckets:
        inside = [
            p
            for ts, p in points
            if bucket.start <= ts < bucket.start + timedelta(seconds=raw.bucket_s)
        ]
        assert (bucket.min_w, bucket.max_w, bucket.samples) == (
            min(inside),
            max(inside),
            len(inside),
        )
        assert bucket.mean_w == pytest.approx(sum(inside) / len(inside))


def test_power_buckets_are_per_device_and_scoped_to_the_user(engine):
    with session_scope() as session:
        alice, _ = users_each_with_a_device(
            session,
            device_id="plug",
            points=[
                [(T0 + timedelta(seconds=10 * i), w) for i in range(30)] for w in (100.0, 999.0)
            ],
        )
        refs = list(load_household(session, user_id=alice.id).devices)
        buckets = power_buckets(
            session,
            user_id=alice.id,
            devices=refs,
            start=T0,
            end=T0 + timedelta(minutes=5),
            bucket_s=60,
        )

    assert [(b.device_id, b.samples, b.max_w) for b in buckets] == [("plug", 6, 100.0)] * 5


def test_bucket_width_is_the_smallest_nice_one_that_fits():
    week = (T0, T0 + timedelta(days=7))
    assert bucket_width_s(*week, max_buckets=1000) == 900
    assert bucket_width_s(T0, T0 + timedelta(hours=1), max_buckets=1000) == 5
    assert bucket_width_s(T0, T0 + timedelta(days=400), max_buckets=100) % 86_400 == 0

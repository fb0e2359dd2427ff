"""The Live page's last hour (energy_core.stats.recent_power): a reading holds until the next
one or the device's max gap, whichever is first; a longer silence is a gap, not held power."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from energy_core.db import session_scope
from energy_core.stats import load_household, recent_power
from tests.factories import add_readings, make_device, make_user, users_each_with_a_device

T0 = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=30)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_reading_holds_for_at_most_the_max_gap_then_the_minutes_are_blank(engine):
    with session_scope() as session:
        user = make_user(session)
        kettle = make_device(session, user=user, device_id="kettle")
        add_readings(session, user=user, device=kettle, points=[(at(1), 2150.0), (at(18), 0.0)])
        household = load_household(session, user_id=user.id)
        (ref,) = household.devices
        buckets = recent_power(session, household, now=NOW, minutes=30)

    assert ref.max_gap_s == 600
    by_minute = {b.start: b for b in buckets}
    # Every minute of the window [now - 30 min, now) is there.
    assert sorted(by_minute) == [at(m) for m in range(30)]
    assert by_minute[at(0)].mean_w is None
    for m in range(1, 11):
        assert (by_minute[at(m)].mean_w, by_minute[at(m)].held_s) == (2150.0, 60.0)
    for m in range(11, 18):
        bucket = by_minute[at(m)]
        assert (bucket.mean_w, bucket.min_w, bucket.max_w, bucket.held_s) == (None, None, None, 0)
    assert (by_minute[at(18)].mean_w, by_minute[at(18)].samples) == (0.0, 1)
    assert by_minute[at(27)].mean_w == 0.0 and by_minute[at(28)].mean_w is None
    assert sum(b.samples for b in buckets) == 2


def test_a_device_reporting_within_its_max_gap_is_continuous_and_time_weighted(engine):
    points = [(at(-3), 50.0), (at(1.5), 300.0), (at(4), 100.0), (at(9), 200.0), (at(13), 100.0)]
    with session_scope() as session:
        user = make_user(session)
        fridge = make_device(session, user=user, device_id="fridge")
        idle = make_device(session, user=user, device_id="idle")
        add_readings(session, user=user, device=fridge, points=points)
        add_readings(session, user=user, device=idle, points=[(at(-30), 5.0)])
        household = load_household(session, user_id=user.id)
        buckets = recent_power(session, household, now=at(15), minutes=15)

    # A device whose readings hold nothing in the window is left out.
    assert {b.device_id for b in buckets} == {"fridge"}
    by_minute = {b.start: b for b in buckets}
    assert sorted(by_minute) == [at(m) for m in range(15)]
    assert all(b.mean_w is not None for b in buckets)
    # The reading before the window holds into it; half a minute of 50 W, half of 300 W.
    assert by_minute[at(0)].mean_w == 50.0 and by_minute[at(0)].samples == 0
    bucket = by_minute[at(1)]
    assert (bucket.mean_w, bucket.min_w, bucket.max_w, bucket.samples) == (
        pytest.approx(175.0),
        50.0,
        300.0,
        1,
    )
    assert by_minute[at(14)].mean_w == 100.0


def test_recent_power_is_scoped_to_the_household(engine):
    with session_scope() as session:
        alice, _ = users_each_with_a_device(
            session,
            device_id="plug",
            points=[[(at(m), w) for m in range(30)] for w in (100.0, 999.0)],
        )
        buckets = recent_power(
            session, load_household(session, user_id=alice.id), now=NOW, minutes=30
        )

    assert {b.max_w for b in buckets} == {100.0}

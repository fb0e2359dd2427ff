"""Runs and levels of power (energy_core.stats.runs): the stretches above or below a level from the
raw readings, on both backends, with figures worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from energy_core.db import session_scope
from energy_core.stats import load_household
from energy_core.stats.period import instant_period
from energy_core.stats.runs import runs_beyond
from tests.factories import add_readings, make_device, make_user

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday, GMT


def minutes(n: float) -> datetime:
    return START + timedelta(minutes=n)


@pytest.fixture
def household(engine):
    """A washer (two cycles with a short pause in the first), a heater, a solar inverter and, in
    another household, a heater that must never count."""
    washer_points = (
        [(minutes(m), 1.0) for m in range(0, 60, 5)]  # standby until 01:00
        + [(minutes(60 + m), 2000.0) for m in range(0, 20, 5)]  # heat 20 min
        + [(minutes(80), 1.0)]  # a 5 min pause
        + [(minutes(85 + m), 400.0) for m in range(0, 30, 5)]  # wash 30 min
        + [(minutes(115 + m), 1.0) for m in range(0, 120, 5)]  # standby 2 h
        + [(minutes(235 + m), 500.0) for m in range(0, 60, 5)]  # second cycle, 1 h
        + [(minutes(295 + m), 1.0) for m in range(0, 65, 5)]
    )
    heater_points = [(minutes(m), 3000.0 if 120 <= m < 180 else 0.0) for m in range(0, 360, 5)]
    solar_points = [(minutes(m), -1500.0 if 60 <= m < 90 else 0.0) for m in range(0, 360, 5)]
    with session_scope(engine) as session:
        user = make_user(session, email="runs@example.com", timezone="Europe/London")
        other = make_user(session, email="other@example.com", timezone="Europe/London")
        for device_id, points, extra in (
            ("washer", washer_points, {}),
            ("heater", heater_points, {}),
            ("solar", solar_points, {"bidirectional": True, "type": "solar"}),
        ):
            device = make_device(session, user=user, device_id=device_id, name=device_id, **extra)
            add_readings(session, user=user, device=device, points=points)
        theirs = make_device(session, user=other, device_id="heater", name="heater")
        add_readings(
            session,
            user=other,
            device=theirs,
            points=[(minutes(m), 9000.0) for m in range(0, 360, 5)],
        )
        return user.id


def runs_of(engine, user_id, devices, start=START, **kwargs):  # noqa: ANN001, ANN201
    with session_scope(engine, read_only=True) as session:
        home = load_household(session, user_id=user_id)
        span = instant_period(start, minutes(360), timezone="Europe/London")
        chosen = [home.require_device(d) for d in devices]
        return runs_beyond(session, home.select(span, devices=chosen), **kwargs)


def test_an_appliance_run_joins_a_short_pause_and_counts_its_energy(engine, household):
    found = runs_of(engine, household, ["washer"], threshold_w=5.0, join_s=900)

    first, second = found.runs
    assert (first.start, first.end) == (minutes(60), minutes(115))
    # 20 min at 2 kW, the 5 min pause at 1 W, 30 min at 400 W.
    assert first.energy_wh == pytest.approx(2000 / 3 + 1 / 12 + 200)
    assert first.peak_w == 2000.0
    assert (second.start, second.end) == (minutes(235), minutes(295))
    assert second.energy_wh == pytest.approx(500.0)
    assert found.above_s == pytest.approx((50 + 60) * 60)


def test_without_joining_a_pause_splits_the_run(engine, household):
    found = runs_of(engine, household, ["washer"], threshold_w=5.0)

    assert [(r.start, r.end) for r in found.runs] == [
        (minutes(60), minutes(80)),
        (minutes(85), minutes(115)),
        (minutes(235), minutes(295)),
    ]


def test_a_level_of_several_devices_is_their_power_together_without_generation(engine, household):
    # Washer and heater together above 2.5 kW: only while the heater runs (the washer's 2 kW
    # alone is under it); the solar inverter's generation is left out of consumption.
    found = runs_of(engine, household, ["washer", "heater", "solar"], threshold_w=2500.0)

    (run,) = found.runs
    assert (run.start, run.end) == (minutes(120), minutes(180))
    assert run.energy_wh == pytest.approx(3000.0 + 1.0)  # the heater's hour, the washer idling
    assert found.above_s == pytest.approx(3600.0)


def test_generators_alone_are_compared_by_what_they_generate(engine, household):
    found = runs_of(engine, household, ["solar"], threshold_w=1000.0)

    assert found.generation
    (run,) = found.runs
    assert (run.start, run.end, run.energy_wh) == (minutes(60), minutes(90), pytest.approx(750.0))


def test_time_below_a_level_and_the_cost_of_a_run(engine, household):
    below = runs_of(engine, household, ["heater"], threshold_w=100.0, below=True)
    above = runs_of(engine, household, ["heater"], threshold_w=100.0)

    assert below.above_s == pytest.approx(5 * 3600.0)
    assert below.covered_s == pytest.approx(6 * 3600.0)
    (run,) = above.runs
    with session_scope(engine, read_only=True) as session:
        price = load_household(session, user_id=household).tariff.import_price_per_kwh
    assert run.cost == pytest.approx(3.0 * price)


def test_only_a_run_that_rose_past_the_level_was_switched_on(engine, household):
    whole = runs_of(engine, household, ["heater"], threshold_w=100.0)
    # The range begins while the heater runs: that run was on already, not switched on then.
    cut = runs_of(engine, household, ["heater"], start=minutes(150), threshold_w=100.0)

    assert [r.rose for r in whole.runs] == [True]
    (run,) = cut.runs
    assert (run.start, run.rose) == (minutes(150), False)

"""The past stays put: registering a device (with readings from now on, or none at all),
deactivating or reactivating one, and the scheduler's rollup change no figure of a period that is
over, coverage and average power included; deleting a device takes exactly its part out
(docs/metrics.md, "Which devices count"). Hypothesis picks the steps; SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from energy_core.accounts import delete_device, update_device
from energy_core.db import session_scope
from energy_core.models import DeviceUpdate, User
from energy_core.rollup import rollup_dirty_hours
from energy_core.stats import days_period, instant_period, load_household, read_series
from tests.consistency.conftest import LONDON
from tests.factories import add_readings, make_device, make_user
from tests.oracle import Oracle
from webapp.reads import CELL_COLUMNS

# Readings from 28 March 22:00 UTC to 30 March 02:00 UTC, every ten minutes: the watched
# periods (the 23-hour local day of the clock change and two stretches in it) are over before
# any step happens; devices registered in a step send readings from 30 March 03:00 UTC on.
FIRST = datetime(2026, 3, 28, 22, tzinfo=UTC)
LAST = datetime(2026, 3, 30, 2, tzinfo=UTC)
LATER = datetime(2026, 3, 30, 3, tzinfo=UTC)
WATCHED = {
    "the day of the clock change": days_period(
        date(2026, 3, 29), date(2026, 3, 29), timezone=LONDON
    ),
    "a morning": instant_period(
        datetime(2026, 3, 29, 5, 20, tzinfo=UTC),
        datetime(2026, 3, 29, 11, 45, tzinfo=UTC),
        timezone=LONDON,
    ),
    "an evening": instant_period(
        datetime(2026, 3, 29, 17, tzinfo=UTC),
        datetime(2026, 3, 29, 21, tzinfo=UTC),
        timezone=LONDON,
    ),
}
# Every figure a page shows of a period (History's columns, its CSV's), and how many devices
# took part.
FIGURES = (*CELL_COLUMNS, "members")
_names = itertools.count(1)


def _points(power, start: datetime, end: datetime, step_s: int = 600) -> list:  # noqa: ANN001
    out, at, i = [], start, 0
    while at < end:
        out.append((at, power(at, i)))
        at += timedelta(seconds=step_s + (i * 37) % 90)
        i += 1
    return out


def _heater(at: datetime, i: int) -> float:
    return 800.0 + (i * 131) % 1500


def _solar(at: datetime, i: int) -> float:
    return -((i * 97) % 2500) if 7 <= at.hour < 17 else 14.0


def snapshot(user_id: int, *, device_ids: list[str] | None = None) -> dict:
    """Every watched figure: each period's total, its hours, and each device's total."""
    out: dict = {}
    with session_scope(read_only=True) as s:
        household = load_household(s, user_id=user_id)
        for name, period in WATCHED.items():
            selection = (
                household.select(period)
                if device_ids is None
                else household.select(period, device_ids=device_ids)
            )
            total = read_series(s, selection).total
            out[name] = {f: getattr(total, f) for f in FIGURES}
            hourly = read_series(s, selection.with_granularity("hour"))
            for figure in hourly.household:
                out[f"{name} {figure.start:%H:%M%z}"] = {f: getattr(figure, f) for f in FIGURES}
            for figure in hourly.device_totals():
                out[f"{name} {figure.device_id}"] = {
                    f: getattr(figure, f) for f in FIGURES if f != "members"
                }
    return out


def assert_same(before: dict, after: dict, what: str) -> None:
    assert after.keys() == before.keys(), f"{what}: the rows changed"
    for key, figures in before.items():
        for name, value in figures.items():
            moved = after[key][name]
            if value is None or moved is None:
                assert value is moved, f"{what}: {key} {name} {value!r} -> {moved!r}"
            else:
                assert moved == pytest.approx(value, rel=1e-9, abs=1e-9), (
                    f"{what}: {key} {name} {value!r} -> {moved!r}"
                )


def household_of(engine) -> tuple[int, list[str]]:  # noqa: ANN001 - an Engine
    """A heater (Kitchen), a solar inverter (Roof) and a fan with a gap (Kitchen)."""
    tag = next(_names)
    with session_scope(engine) as s:
        user = make_user(s, timezone=LONDON, price_per_kwh=0.3)
        specs = [
            ("heater", "Kitchen", False, _heater, FIRST),
            ("solar", "Roof", True, _solar, FIRST),
            ("fan", "Kitchen", False, lambda at, i: 40.0 + i % 7, FIRST + timedelta(hours=9)),
        ]
        for name, room, bidirectional, power, start in specs:
            device = make_device(
                s,
                user=user,
                device_id=f"{name}-{tag}",
                location=room,
                bidirectional=bidirectional,
                max_gap_s=900,
            )
            add_readings(s, user=user, device=device, points=_points(power, start, LAST))
        return user.id, [f"{name}-{tag}" for name, *_ in specs]


step = st.one_of(
    st.tuples(st.just("add"), st.floats(min_value=-2000, max_value=3000), st.booleans()),
    st.tuples(st.just("register"), st.none(), st.none()),
    st.tuples(st.just("deactivate"), st.integers(0, 2), st.none()),
    st.tuples(st.just("reactivate"), st.integers(0, 2), st.none()),
    st.tuples(st.just("rollup"), st.none(), st.none()),
)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=4), rolled=st.booleans(), doomed=st.integers(0, 2))
def test_no_past_figure_moves_and_a_deleted_device_stops_counting(
    module_engine, steps, rolled, doomed
):
    user_id, base = household_of(module_engine)
    if rolled:
        rollup_dirty_hours(module_engine)
    before = snapshot(user_id)
    for i, (action, value, flag) in enumerate(steps):
        with session_scope() as s:
            user = s.get(User, user_id)
            if action in ("add", "register"):
                device = make_device(
                    s,
                    user=user,
                    device_id=f"new-{user_id}-{i}",
                    location="Kitchen",
                    bidirectional=action == "add" and value < 0,
                )
                if action == "add":
                    points = [
                        (at, round(value, 2))
                        for at, _ in _points(_heater, LATER, LATER + timedelta(hours=2))
                    ]
                    add_readings(s, user=user, device=device, points=points)
            elif action in ("deactivate", "reactivate"):
                update_device(
                    s,
                    user_id=user_id,
                    device_id=base[value],
                    changes=DeviceUpdate(is_active=action == "reactivate"),
                )
        if action == "rollup" or (action == "add" and flag):
            rollup_dirty_hours(module_engine)
        assert_same(before, snapshot(user_id), f"after {action} (step {i + 1} of {steps})")

    # Deleting a device takes out exactly its part: the household is then what the other
    # devices were together before, and what the readings left say.
    others = [d for d in base if d != base[doomed]]
    kept = snapshot(user_id, device_ids=others)
    with session_scope() as s:
        delete_device(s, user_id=user_id, device_id=base[doomed])
    after = snapshot(user_id)
    with session_scope(read_only=True) as s:
        oracle = Oracle(s, user_id, default_gap_s=900)
    for name, period in WATCHED.items():
        assert_same({name: kept[name]}, {name: after[name]}, f"after deleting {base[doomed]}")
        sums = oracle.household(period.start, period.end)
        assert after[name]["consumption_wh"] == pytest.approx(sums.consumed, rel=1e-9)
        assert after[name]["coverage"] == pytest.approx(sums.coverage, rel=1e-9)

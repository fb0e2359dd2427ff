"""A device's last-seen time: on PostgreSQL writers move it only to a reading more than a minute
newer and the rollup sets it to the newest reading (on SQLite writers keep it exact); readers
that have the latest reading at hand show it exactly (docs/metrics.md, "Last seen")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from energy_core.accounts import update_device
from energy_core.db import session_scope
from energy_core.ingest import ReadingColumns, record_reading_columns
from energy_core.models import Device, DeviceUpdate
from energy_core.read_requests import Window
from energy_core.reads import device_stats
from energy_core.rollup import rollup_dirty_hours
from energy_core.sql.ingest import LAST_SEEN_STEP_S
from energy_core.stats import household_now, load_household
from energy_core.types import to_epoch_us, utcnow
from tests.factories import make_device, make_user

STEP = timedelta(seconds=LAST_SEEN_STEP_S)


@pytest.fixture
def home(engine):
    with session_scope(engine) as s:
        user = make_user(s)
        make_device(s, user=user, device_id="fridge")
        make_device(s, user=user, device_id="heater")
        return user.id


def write(engine, user_id: int, *readings) -> None:
    """One batch of (device, instant) readings, committed."""
    with session_scope(engine) as s:
        record_reading_columns(
            s,
            user_id=user_id,
            columns=ReadingColumns(
                [d for d, _ in readings],
                [to_epoch_us(t) for _, t in readings],
                [5.0] * len(readings),
            ),
        )


def stepped(engine, exact, behind):  # noqa: ANN001, ANN201
    """What the stored time is after a write: ``behind`` where writers move it in steps."""
    return behind if engine.dialect.name == "postgresql" else exact


def stored(engine) -> dict:
    with session_scope(engine, read_only=True) as s:
        return dict(s.exec(select(Device.device_id, Device.last_seen_at)).all())


def test_writers_move_the_last_seen_time_only_past_a_minute_and_the_rollup_sets_it(engine, home):
    t0 = utcnow().replace(microsecond=0) - timedelta(hours=2)
    write(engine, home, ("fridge", t0))
    assert stored(engine)["fridge"] == t0  # none before: any reading moves it
    write(engine, home, ("fridge", t0 + STEP), ("heater", t0))
    # A minute newer: not moved.
    assert stored(engine) == {"fridge": stepped(engine, t0 + STEP, t0), "heater": t0}
    write(engine, home, ("fridge", t0 + STEP + timedelta(seconds=1)))
    assert stored(engine)["fridge"] == t0 + STEP + timedelta(seconds=1)
    write(engine, home, ("fridge", t0 + 2 * STEP), ("fridge", t0 - timedelta(minutes=5)))
    assert stored(engine)["fridge"] == stepped(
        engine, t0 + 2 * STEP, t0 + STEP + timedelta(seconds=1)
    )
    rollup_dirty_hours(engine)
    assert stored(engine) == {"fridge": t0 + 2 * STEP, "heater": t0}
    write(engine, home, ("fridge", t0 - timedelta(minutes=30)))  # late: never moves it back
    rollup_dirty_hours(engine)
    assert stored(engine)["fridge"] == t0 + 2 * STEP


def test_readers_of_the_latest_reading_show_the_last_seen_time_exactly(engine, home):
    now = utcnow().replace(microsecond=0)
    newest = now - timedelta(seconds=20)
    write(engine, home, ("fridge", newest - timedelta(seconds=30)))
    write(engine, home, ("fridge", newest))
    assert stored(engine)["fridge"] == stepped(engine, newest, newest - timedelta(seconds=30))
    with session_scope(engine, read_only=True) as s:
        household = load_household(s, user_id=home)
        status = {d.device.device_id: d for d in household_now(s, household, now=now).devices}
        stats = device_stats(s, household, device_id="fridge", window=Window(), now=now)
    assert status["fridge"].last_seen_at == newest
    assert status["fridge"].online
    assert status["heater"].last_seen_at is None
    assert stats.last_seen_at == newest


def test_deactivating_a_device_sets_its_last_seen_time_to_its_newest_reading(engine, home):
    t0 = utcnow().replace(microsecond=0) - timedelta(hours=1)
    write(engine, home, ("fridge", t0))
    write(engine, home, ("fridge", t0 + timedelta(seconds=40)))
    assert stored(engine)["fridge"] == stepped(engine, t0 + timedelta(seconds=40), t0)
    with session_scope(engine) as s:
        update_device(s, user_id=home, device_id="fridge", changes=DeviceUpdate(is_active=False))
    assert stored(engine)["fridge"] == t0 + timedelta(seconds=40)
    with session_scope(engine, read_only=True) as s:
        fridge = next(d for d in load_household(s, user_id=home).devices if d.device_id == "fridge")
    # Its part in figures ends where its last reading stops holding, not 40 s earlier.
    assert fridge.until == t0 + timedelta(seconds=40 + fridge.max_gap_s)

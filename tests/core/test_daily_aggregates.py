"""Daily aggregates, on SQLite and PostgreSQL: a series read with them (whole local days from one
row per device and day) gives the figures the hourly read gives, for many selections: across a
clock change, a device that starts mid-day, a day with a dirty hour, and before and after the
household's timezone changes. The rows the rollup keeps equal rows built again from the hours."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlmodel import select

from energy_core.accounts.users import update_profile
from energy_core.daily import build_household_days, local_days
from energy_core.db import session_scope
from energy_core.models import DailyAggregate, DailyZone, DirtyHour, User
from energy_core.rollup import rebuild_aggregates, rollup_dirty_hours
from energy_core.stats import instant_period, load_household, read_series
from energy_core.types import to_epoch_us
from tests.factories import add_readings, make_device, make_user

ZONE = "Europe/London"
# Clocks go forward in London at 01:00 UTC on Sunday 29 March 2026: that local day is 23 hours.
FIRST_DAY = date(2026, 3, 26)
DAYS = 6
T0 = datetime(2026, 3, 26, tzinfo=ZoneInfo(ZONE)).astimezone(UTC)
END = T0 + timedelta(days=DAYS, hours=-1)
FLOATS = ("consumed_wh", "generated_wh", "counted_s", "imported_wh", "exported_wh", "cost_value")
SECONDS = ("grid_s", "covered_s", "span_s", "duration_s")
EXACT = ("device_id", "start", "end", "grid_metered", "members", "sample_count")
EXTREMES = ("min_w", "min_at", "max_w", "max_at")


def points(start: datetime, end: datetime, *, step_s: int, watts) -> list[tuple[datetime, float]]:
    """Readings every ``step_s`` seconds plus a jitter, the power a function of the index."""
    out, i = [], 0
    moment = start
    while moment < end:
        out.append((moment, float(watts(i))))
        i += 1
        moment = start + timedelta(seconds=i * step_s + (i * 37) % 41)
    return out


@pytest.fixture
def household(engine):
    """A London household over six days across the clock change: a heater from the start, a
    battery (charging and discharging), a freezer that starts at 13:20 on the second day, and a
    gap of four hours in the heater's readings; rolled up."""
    with session_scope(engine) as s:
        user = make_user(s, timezone=ZONE)
        heater = make_device(s, user=user, device_id="heater")
        battery = make_device(s, user=user, device_id="battery", bidirectional=True)
        freezer = make_device(s, user=user, device_id="freezer")
        heat = points(T0, END, step_s=293, watts=lambda i: 1500 + (i * 7919) % 1000 / 3)
        heat = [p for p in heat if not T0 + timedelta(hours=50) <= p[0] < T0 + timedelta(hours=54)]
        add_readings(s, user=user, device=heater, points=heat)
        add_readings(
            s,
            user=user,
            device=battery,
            points=points(
                T0, END, step_s=401, watts=lambda i: (900.5 if i % 17 < 9 else -1234.25) + i % 5
            ),
        )
        add_readings(
            s,
            user=user,
            device=freezer,
            points=points(
                T0 + timedelta(days=1, hours=13, minutes=20),
                END,
                step_s=347,
                watts=lambda i: 80 + (i * 31) % 13 * 0.1,
            ),
        )
        user_id = user.id
    rollup_dirty_hours(engine)
    return user_id


def read(engine, user_id: int, *, hourly: bool, **choice):
    """Every figure of a series (household and each device, per period and in total), read with
    the daily rows or, with ``hourly``, without them (the zone's row removed in a transaction
    that is rolled back)."""
    start, end = choice.pop("start"), choice.pop("end")
    timezone = choice.pop("timezone", None)
    with session_scope(engine, read_only=not hourly) as s:
        if hourly:
            s.execute(text("DELETE FROM daily_zones WHERE user_id = :u"), {"u": user_id})
        household = load_household(s, user_id=user_id)
        tz = timezone or household.timezone
        period = instant_period(start, end, timezone=tz)
        series = read_series(s, household.select(period, **choice))
        figures = [*series.household, series.total, *series.rows(), *series.device_totals()]
        if hourly:
            s.rollback()
    return figures


def assert_same_figures(daily, hourly) -> None:
    assert len(daily) == len(hourly)
    for a, b in zip(daily, hourly, strict=True):
        for name in EXACT + EXTREMES:
            assert getattr(a, name) == getattr(b, name), (name, a, b)
        # Sums of floats: the same stored numbers, added in an order that neither read fixes.
        for name in FLOATS + SECONDS:
            assert math.isclose(getattr(a, name), getattr(b, name), rel_tol=1e-12, abs_tol=1e-9), (
                name,
                a,
                b,
            )


def day(n: int, tz: str = ZONE) -> datetime:
    return datetime.combine(FIRST_DAY + timedelta(days=n), datetime.min.time(), ZoneInfo(tz))


SELECTIONS = {
    "every day by day": {"start": day(0), "end": day(DAYS), "granularity": "day"},
    "the clock change day alone": {"start": day(3), "end": day(4), "granularity": "total"},
    "the freezer's first days": {
        "start": day(1),
        "end": day(4),
        "granularity": "day",
        "device_ids": ["freezer"],
    },
    "the battery alone": {
        "start": day(0),
        "end": day(DAYS),
        "granularity": "day",
        "device_ids": ["battery"],
    },
    "from mid-day to mid-day": {
        "start": day(1) + timedelta(hours=9, minutes=30),
        "end": day(5) + timedelta(hours=15, minutes=10),
        "granularity": "day",
    },
    "by week": {"start": day(0), "end": day(DAYS), "granularity": "week"},
    "by hour": {"start": day(2), "end": day(4), "granularity": "hour"},
    "evenings by day": {
        "start": day(0),
        "end": day(DAYS),
        "granularity": "day",
        "hours": range(17, 22),
    },
    "by day in another timezone": {
        "start": day(1, "America/New_York"),
        "end": day(4, "America/New_York"),
        "granularity": "day",
        "timezone": "America/New_York",
    },
}


@pytest.mark.parametrize("name", SELECTIONS)
def test_the_daily_rows_give_the_figures_of_the_hours(engine, household, name):
    choice = SELECTIONS[name]
    daily = read(engine, household, hourly=False, **dict(choice))
    hourly = read(engine, household, hourly=True, **dict(choice))
    assert_same_figures(daily, hourly)


def test_a_read_of_whole_days_takes_the_daily_rows(engine, household):
    """Not equal by chance: a change to a daily row shows in the read of its day."""
    choice = SELECTIONS["every day by day"]
    before = read(engine, household, hourly=False, **dict(choice))
    with session_scope(engine) as s:
        s.execute(
            text("UPDATE daily_aggregates SET consumed_wh = consumed_wh + 1000 WHERE user_id = :u"),
            {"u": household},
        )
    after = read(engine, household, hourly=False, **dict(choice))
    hourly = read(engine, household, hourly=True, **dict(choice))
    days_with_rows = sum(1 for f in before[:DAYS] if f.consumed_wh > 0)
    assert after[0].consumed_wh == pytest.approx(before[0].consumed_wh + 2000)  # heater, battery
    assert sum(f.consumed_wh for f in after[:DAYS]) > sum(f.consumed_wh for f in hourly[:DAYS])
    assert days_with_rows == DAYS


def test_a_day_with_a_dirty_hour_is_read_from_its_hours(engine, household):
    with session_scope(engine) as s:
        user = s.get(User, household)
        heater = next(d for d in user_devices(s, household) if d.device_id == "heater")
        # A late reading in the gap of the third day: that hour is dirty, the day's row stale.
        add_readings(s, user=user, device=heater, points=[(T0 + timedelta(hours=51), 5000.0)])
        assert s.exec(select(DirtyHour)).all()
    for name in ("every day by day", "the clock change day alone", "from mid-day to mid-day"):
        choice = SELECTIONS[name]
        assert_same_figures(
            read(engine, household, hourly=False, **dict(choice)),
            read(engine, household, hourly=True, **dict(choice)),
        )
    choice = SELECTIONS["every day by day"]
    before = read(engine, household, hourly=False, **dict(choice))
    rollup_dirty_hours(engine)
    rolled = read(engine, household, hourly=False, **dict(choice))
    assert_same_figures(rolled, read(engine, household, hourly=True, **dict(choice)))
    # Its day's row now holds the late reading, as the raw reading did before.
    heater = [
        next(f for f in figures[-3:] if f.device_id == "heater") for figures in (before, rolled)
    ]
    assert heater[0].max_w == heater[1].max_w == 5000.0
    assert rolled[2].consumed_wh == pytest.approx(before[2].consumed_wh, rel=1e-12)


def user_devices(session, user_id):
    from energy_core.models import Device

    return session.exec(select(Device).where(Device.user_id == user_id)).all()


def stored_days(engine, user_id: int) -> dict:
    with session_scope(engine, read_only=True) as s:
        rows = s.exec(select(DailyAggregate).where(DailyAggregate.user_id == user_id)).all()
        return {
            (r.device_pk, r.day_start): (
                r.day_end,
                r.consumed_wh,
                r.generated_wh,
                r.covered_s,
                r.cancelled_wh,
                r.min_watts,
                r.max_watts,
                r.sample_count,
            )
            for r in rows
        }


def test_the_rows_the_rollup_keeps_equal_rows_built_from_the_hours(engine, household):
    with session_scope(engine) as s:
        user = s.get(User, household)
        battery = next(d for d in user_devices(s, household) if d.device_id == "battery")
        add_readings(
            s,
            user=user,
            device=battery,
            points=[(T0 + timedelta(hours=h, minutes=3), -2000.0) for h in (20, 75, 120)],
        )
    rollup_dirty_hours(engine)
    kept = stored_days(engine, household)
    with session_scope(engine, system=True) as s:
        build_household_days(s.connection(), user_id=household, timezone=ZONE)
    rebuilt = stored_days(engine, household)
    assert kept.keys() == rebuilt.keys()
    for key, row in kept.items():
        assert row[0] == rebuilt[key][0] and row[5:] == rebuilt[key][5:]
        assert row[1:5] == pytest.approx(rebuilt[key][1:5], rel=1e-12, abs=1e-9)
    # A local day each: 23 hours across the clock change, else 24.
    lengths = {(end - start) for (_, start), (end, *_) in kept.items()}
    assert lengths == {timedelta(hours=23), timedelta(hours=24)}


def test_a_rebuild_of_the_aggregates_keeps_the_daily_rows(engine, household):
    kept = stored_days(engine, household)
    rebuild_aggregates(engine)
    again = stored_days(engine, household)
    assert kept.keys() == again.keys()
    for key, row in kept.items():
        assert row[0] == again[key][0] and row[5:] == again[key][5:]
        assert row[1:5] == pytest.approx(again[key][1:5], rel=1e-12, abs=1e-9)


def test_a_timezone_change_never_gives_a_wrong_figure(engine, household):
    new_zone = "Asia/Kolkata"  # half an hour off UTC: its days cut hours in two
    with session_scope(engine) as s:
        user = s.get(User, household)
        update_profile(
            s,
            user_id=household,
            full_name=user.full_name,
            timezone=new_zone,
            price_per_kwh=user.price_per_kwh,
            currency=user.currency,
        )
    choice = {
        "start": day(1, new_zone),
        "end": day(5, new_zone),
        "granularity": "day",
    }
    # Before the rollup has built the days again: the read sums hours, and is right.
    with session_scope(engine, read_only=True) as s:
        assert s.get(DailyZone, household).timezone == ZONE
    assert_same_figures(
        read(engine, household, hourly=False, **dict(choice)),
        read(engine, household, hourly=True, **dict(choice)),
    )
    rollup_dirty_hours(engine)
    with session_scope(engine, read_only=True) as s:
        assert s.get(DailyZone, household).timezone == new_zone
    starts = {start for _, start in stored_days(engine, household)}
    expected = local_days(
        min(to_epoch_us(s) for s in starts), max(to_epoch_us(s) for s in starts), ZoneInfo(new_zone)
    )
    assert sorted(to_epoch_us(s) for s in starts) == [lo for lo, _ in expected]
    assert_same_figures(
        read(engine, household, hourly=False, **dict(choice)),
        read(engine, household, hourly=True, **dict(choice)),
    )
    # The old zone's days are read from hours now, and still right.
    old = dict(SELECTIONS["every day by day"], timezone=ZONE)
    assert_same_figures(
        read(engine, household, hourly=False, **dict(old)),
        read(engine, household, hourly=True, **dict(old)),
    )


def test_the_upgrade_builds_the_daily_rows_of_a_populated_database(engine, household):
    from alembic import command

    from energy_core.migrate import alembic_config

    with session_scope(engine) as s:
        other = make_user(s, timezone="America/New_York")
        lamp = make_device(s, user=other, device_id="lamp")
        add_readings(
            s,
            user=other,
            device=lamp,
            points=points(T0, T0 + timedelta(days=2), step_s=600, watts=lambda i: 40 + i % 3),
        )
        other_id = other.id
    rollup_dirty_hours(engine)
    kept = {u: stored_days(engine, u) for u in (household, other_id)}
    choice = SELECTIONS["every day by day"]
    figures = read(engine, household, hourly=False, **dict(choice))
    with engine.begin() as conn:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = conn
        command.downgrade(config, "0107_sqlite_hourly_flows_index")
        command.upgrade(config, "head")
    with session_scope(engine, read_only=True) as s:
        zones = {z.user_id: z.timezone for z in s.exec(select(DailyZone)).all()}
    assert zones[household] == ZONE and zones[other_id] == "America/New_York"
    for user_id, rows in kept.items():
        built = stored_days(engine, user_id)
        assert rows and built.keys() == rows.keys()
        for key, row in rows.items():
            assert row[0] == built[key][0] and row[5:] == built[key][5:]
            assert row[1:5] == pytest.approx(built[key][1:5], rel=1e-12, abs=1e-9)
    assert_same_figures(read(engine, household, hourly=False, **dict(choice)), figures)


def test_a_series_read_in_bounded_chunks_gives_the_same_figures(engine, household, monkeypatch):
    from energy_core.sql import reads

    choice = {"start": day(0), "end": day(DAYS), "granularity": "hour"}
    whole = read(engine, household, hourly=False, **dict(choice))
    monkeypatch.setattr(reads, "SPAN_SUMS_CHUNK_ROWS", 40)  # 143 hours x 3 devices: 11 reads
    assert_same_figures(read(engine, household, hourly=False, **dict(choice)), whole)

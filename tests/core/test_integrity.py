"""Readings, aggregates and dirty marks have no foreign key to their device: deleting a device or a
user deletes them in the library, and the integrity check finds any that a bypass left behind."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import MetaData, insert, inspect, text
from sqlmodel import func, select

from energy_cli.main import main
from energy_core.accounts import (
    LastAdminError,
    delete_device,
    delete_user,
    issue_api_key,
    verify_api_key,
)
from energy_core.db import session_scope
from energy_core.integrity import delete_orphans, find_orphans
from energy_core.migrate import alembic_config
from energy_core.models import (
    ApiKey,
    ChatMessage,
    DailyAggregate,
    Device,
    DirtyHour,
    HourlyAggregate,
    KeyScope,
    Reading,
    Role,
    User,
)
from energy_core.rollup import rollup_dirty_hours
from energy_core.types import to_epoch_us
from scheduler.main import integrity_job
from tests.factories import add_readings, make_device, make_user
from tests.scheduler.paused import paused_scheduler

T0 = datetime(2026, 3, 1, tzinfo=UTC)
POINTS = [(T0 + timedelta(minutes=m), 100.0 + m) for m in range(0, 150, 5)]
DEVICE_TABLES = (Reading, HourlyAggregate, DailyAggregate, DirtyHour)


def rows_of(session, user_id: int) -> dict[str, int]:
    return {
        table.__tablename__: session.exec(
            select(func.count()).select_from(table).where(table.user_id == user_id)
        ).one()
        for table in DEVICE_TABLES
    }


def household(session, *, role: Role = Role.member) -> User:
    """A user with two devices that have readings, aggregates (after a rollup) and fresh marks."""
    user = make_user(session, role=role)
    for name in ("fridge", "heater"):
        device = make_device(session, user=user, device_id=name)
        add_readings(session, user=user, device=device, points=POINTS)
    issue_api_key(session, user_id=user.id, scope=KeyScope.ingest)
    return user


def add_late_readings(session, user: User) -> None:
    """New readings after the rollup: every table then holds rows of every device."""
    for device in session.exec(select(Device).where(Device.user_id == user.id)).all():
        add_readings(session, user=user, device=device, points=[(T0 + timedelta(hours=5), 1.0)])


def two_households_with_rows_in_every_table(engine) -> tuple[User, User]:
    """Alice and Bob, each with two devices, rolled up, then Alice's late readings."""
    with session_scope(engine) as s:
        alice, bob = household(s), household(s)
    rollup_dirty_hours(engine)
    with session_scope(engine) as s:
        add_late_readings(s, alice)
    return alice, bob


def test_deleting_a_device_leaves_no_row_that_names_it(engine):
    alice, bob = two_households_with_rows_in_every_table(engine)
    with session_scope(engine) as s:
        before, bobs = rows_of(s, alice.id), rows_of(s, bob.id)
        deleted = delete_device(s, user_id=alice.id, device_id="fridge")
    with session_scope(engine, read_only=True) as s:
        after = rows_of(s, alice.id)
        report = find_orphans(s)
        assert rows_of(s, bob.id) == bobs
    assert all(before[t] > after[t] > 0 for t in before), (before, after)
    assert deleted.readings == len(POINTS) + 1
    assert report.ok, report.orphans


def test_deleting_a_user_deletes_everything_it_owns_and_nothing_else(engine):
    with session_scope(engine) as s:
        alice, bob = household(s), household(s)
        alice_key = issue_api_key(s, user_id=alice.id, scope=KeyScope.read).key
        s.add(ChatMessage(user_id=alice.id, conversation_id="c", role="user", content="hi"))
    rollup_dirty_hours(engine)
    with session_scope(engine) as s:
        add_late_readings(s, alice)
        bobs = rows_of(s, bob.id)
    with session_scope(engine) as s:
        deleted = delete_user(s, user_id=alice.id)
    with session_scope(engine, read_only=True) as s:
        assert rows_of(s, alice.id) == {t.__tablename__: 0 for t in DEVICE_TABLES}
        assert s.get(User, alice.id) is None
        for table in (Device, ApiKey, ChatMessage):
            left = s.exec(select(func.count()).select_from(table).where(table.user_id == alice.id))
            assert left.one() == 0, table.__tablename__
        assert verify_api_key(s, key=alice_key) is None
        assert find_orphans(s).ok
        assert rows_of(s, bob.id) == bobs
    assert (deleted.devices, deleted.readings) == (2, 2 * (len(POINTS) + 1))


def test_the_last_admin_and_oneself_cannot_be_deleted(engine):
    with session_scope(engine) as s:
        admin = make_user(s, role=Role.admin)
        member = make_user(s)
    with session_scope(engine) as s, pytest.raises(LastAdminError, match="only active admin"):
        delete_user(s, user_id=admin.id)
    with session_scope(engine) as s, pytest.raises(LastAdminError, match="your own account"):
        delete_user(s, user_id=member.id, acting_user_id=member.id)


def test_the_check_finds_rows_whose_device_was_deleted_behind_the_library(engine):
    alice, bob = two_households_with_rows_in_every_table(engine)
    with session_scope(engine) as s:
        fridge = s.exec(
            select(Device).where(Device.user_id == alice.id, Device.device_id == "fridge")
        ).one()
        expected = {
            t.__tablename__: s.exec(
                select(func.count()).select_from(t).where(t.device_pk == fridge.id)
            ).one()
            for t in DEVICE_TABLES
        }
        # A manual DELETE, as an operator might run it: nothing cascades to the readings.
        s.execute(text("DELETE FROM devices WHERE id = :pk"), {"pk": fridge.id})
    with session_scope(engine, read_only=True) as s:
        report = find_orphans(s)
    assert not report.ok
    assert {(o.table, o.user_id, o.device_pk) for o in report.orphans} == {
        (t, alice.id, fridge.id) for t in expected
    }
    assert {t: report.rows(t) for t in expected} == expected
    with session_scope(engine) as s:
        assert delete_orphans(s, report) == sum(expected.values())
    with session_scope(engine, read_only=True) as s:
        assert find_orphans(s).ok
        assert rows_of(s, bob.id)["readings"] == 2 * len(POINTS)


def test_db_check_reports_orphans_and_deletes_them_when_asked(engine, capsys):
    with session_scope(engine) as s:
        alice = household(s)
    assert main(["db", "check"]) == 0
    assert "belongs to an existing device" in capsys.readouterr().out
    with session_scope(engine) as s:
        s.execute(text("DELETE FROM devices WHERE user_id = :u"), {"u": alice.id})
    assert main(["db", "check"]) == 1
    out = capsys.readouterr().out
    assert f"readings: {len(POINTS):,} row(s) of device" in out and "--delete-orphans" in out
    assert main(["db", "check", "--delete-orphans"]) == 0
    # Two devices, each with its readings and the three hours they span marked dirty.
    assert f"Deleted {2 * (len(POINTS) + 3)} row(s)." in capsys.readouterr().out
    assert main(["db", "check"]) == 0


def test_the_daily_integrity_job_logs_what_it_finds(engine, caplog):
    with session_scope(engine) as s:
        alice = household(s)
    caplog.set_level(logging.INFO, logger="energy_core.integrity")
    integrity_job()
    assert "every reading, aggregate and dirty mark has its device" in caplog.text
    with session_scope(engine) as s:
        s.execute(text("DELETE FROM devices WHERE user_id = :u"), {"u": alice.id})
    caplog.clear()
    integrity_job()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 4  # readings and dirty marks of two devices
    assert all("which does not exist" in r.getMessage() for r in errors)
    with paused_scheduler() as job:
        assert job.get_job("integrity").trigger.interval == timedelta(days=1)


# --- the migration that dropped the foreign keys, on a populated database ------------------------

OLD_REVISION = "0004_app"


def _migrate(engine, revision: str, *, down: bool = False) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def _populate_old_schema(engine) -> None:
    """Two households written straight into the tables of the old schema: readings, stored hours
    and pending marks, as a database in use would hold them."""
    tables = MetaData()
    tables.reflect(
        engine, only=["users", "devices", "readings", "hourly_aggregates", "dirty_hours"]
    )
    sqlite = engine.dialect.name == "sqlite"

    def at(dt: datetime):  # noqa: ANN202
        return to_epoch_us(dt) if sqlite else dt

    user = {
        "full_name": "",
        "role": "member",
        "is_active": True,
        "timezone": "UTC",
        "price_per_kwh": 0.3,
        "currency": "EUR",
        "password_hash": "x",
        "auto_register_devices": False,
        "failed_logins": 0,
        "created_at": at(T0),
        "updated_at": at(T0),
    }
    device = {
        "type": "other",
        "location": "",
        "is_active": True,
        "bidirectional": False,
        "created_at": at(T0),
        "updated_at": at(T0),
    }
    with engine.begin() as conn:
        for u in (1, 2):
            conn.execute(insert(tables.tables["users"]), {**user, "id": u, "email": f"{u}@x.org"})
            for d in (1, 2, 3):
                pk = u * 10 + d
                conn.execute(
                    insert(tables.tables["devices"]),
                    {**device, "id": pk, "user_id": u, "device_id": f"d{d}", "name": f"D{d}"},
                )
                conn.execute(
                    insert(tables.tables["readings"]),
                    [
                        {
                            "user_id": u,
                            "device_pk": pk,
                            "ts": at(T0 + timedelta(seconds=37 * i)),
                            "power_w": 10.0 * d + i % 7,
                        }
                        for i in range(400)
                    ],
                )
                conn.execute(
                    insert(tables.tables["hourly_aggregates"]),
                    [
                        {
                            "user_id": u,
                            "device_pk": pk,
                            "hour_start": at(T0 + timedelta(hours=h)),
                            "energy_wh": 10.0 * d + h / 3,
                            "covered_s": 3600.0,
                            "avg_watts": 10.0 * d + h / 3,
                            "min_watts": 1.0,
                            "max_watts": 99.5,
                            "sample_count": 97,
                            "computed_at": at(T0 + timedelta(hours=5)),
                        }
                        for h in range(4)
                    ],
                )
                conn.execute(
                    insert(tables.tables["dirty_hours"]),
                    {"user_id": u, "device_pk": pk, "hour_start": at(T0), "version": 3},
                )


def _contents(engine) -> dict[str, list[tuple]]:
    """Every stored reading and hour, and the (device, hour) of every mark."""
    queries = {
        "readings": "SELECT user_id, device_pk, ts, power_w FROM readings",
        "hourly_aggregates": "SELECT user_id, device_pk, hour_start, energy_wh, covered_s, "
        "avg_watts, min_watts, max_watts, sample_count, computed_at FROM hourly_aggregates",
        "dirty_hours": "SELECT user_id, device_pk, hour_start FROM dirty_hours",
    }
    with engine.connect() as conn:
        return {t: sorted(tuple(r) for r in conn.execute(text(q))) for t, q in queries.items()}


def test_the_upgrade_keeps_every_row_of_a_populated_database_and_drops_the_foreign_keys(engine):
    _migrate(engine, OLD_REVISION, down=True)
    try:
        _populate_old_schema(engine)
        before = _contents(engine)
        assert {t: len(rows) for t, rows in before.items()} == {
            "readings": 2400,
            "hourly_aggregates": 24,
            "dirty_hours": 6,
        }
        assert all(inspect(engine).get_foreign_keys(t) for t in before)
        _migrate(engine, "head")
        assert _contents(engine) == before
        assert not any(inspect(engine).get_foreign_keys(t) for t in before)
        with session_scope(engine, read_only=True) as s:
            assert find_orphans(s).ok
        # The library works on the upgraded tables: the pending marks are computed and cleared.
        assert rollup_dirty_hours(engine).hours == 6
        with session_scope(engine) as s:
            assert delete_user(s, user_id=1).readings == 1200
            assert find_orphans(s).ok
    finally:
        _migrate(engine, "head")

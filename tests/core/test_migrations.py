"""Migrations that change stored figures: what an upgrade leaves behind, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import func, select

from energy_core.db import session_scope
from energy_core.migrate import alembic_config
from energy_core.models import Device, DirtyHour, HourlyAggregate, Reading
from energy_core.rollup import rollup_dirty_hours
from tests.factories import add_readings, make_device, make_user, seed_device

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _migrate(engine, revision: str, *, down: bool = False) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def test_upgrade_splits_stored_hours_by_sign_and_recomputes_those_that_may_mix(engine):
    with session_scope(engine) as s:
        user = make_user(s)
        fridge = make_device(s, user=user)
        battery = make_device(s, user=user, bidirectional=True)
        add_readings(
            s,
            user=user,
            device=fridge,
            points=[(T0 + timedelta(minutes=m), 120.0) for m in range(60)],
        )
        # Half an hour charging at 1 kW, half an hour discharging at 3 kW.
        add_readings(
            s,
            user=user,
            device=battery,
            points=[(T0 + timedelta(minutes=m), 1000.0 if m < 30 else -3000.0) for m in range(60)],
        )
    rollup_dirty_hours(engine)
    _migrate(engine, "0020_readings_without_fk", down=True)
    try:
        _migrate(engine, "head")
    finally:
        _migrate(engine, "head")
    with session_scope(engine, read_only=True) as s:
        rows = {
            r.device_pk: r
            for r in s.exec(select(HourlyAggregate).where(HourlyAggregate.hour_start == T0)).all()
        }
        dirty = {(d.device_pk, d.hour_start) for d in s.exec(select(DirtyHour)).all()}
    # An hour of one sign is exact as it is; the battery's hour is split by its net until the
    # scheduler recomputes it.
    assert (rows[fridge.id].consumed_wh, rows[fridge.id].generated_wh) == (
        pytest.approx(120.0),
        0,
    )
    assert rows[battery.id].consumed_wh == 0
    assert rows[battery.id].generated_wh == pytest.approx(1000.0)
    assert (battery.id, T0) in dirty and (fridge.id, T0) not in dirty
    with session_scope(engine, read_only=True) as s:
        assert s.get(Device, fridge.id).first_reading_at == T0

    rollup_dirty_hours(engine)
    with session_scope(engine, read_only=True) as s:
        row = s.get(HourlyAggregate, (user.id, battery.id, T0))
    assert row.consumed_wh == pytest.approx(500.0)
    assert row.generated_wh == pytest.approx(1500.0)


def test_a_database_at_head_is_recognised_without_alembic(engine):
    from alembic.script import ScriptDirectory

    from energy_core.migrate import MIGRATIONS_DIR, is_at_head, script_heads, upgrade_database

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert script_heads() == frozenset(ScriptDirectory.from_config(config).get_heads())
    assert is_at_head(engine)
    heads = sorted(script_heads())
    down = ScriptDirectory.from_config(config).get_revision(heads[0]).down_revision
    _migrate(engine, down, down=True)
    try:
        assert not is_at_head(engine)
        upgrade_database(engine)  # not at head: Alembic runs and brings it there
        assert is_at_head(engine)
    finally:
        _migrate(engine, "head")


def test_a_database_without_a_schema_is_not_at_head(tmp_path):
    from energy_core.db import make_engine
    from energy_core.migrate import is_at_head, upgrade_database

    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        assert not is_at_head(engine)
        upgrade_database(engine)
        assert is_at_head(engine)
    finally:
        engine.dispose()


def _fillfactor(engine) -> str | None:
    with engine.connect() as conn:
        options = conn.exec_driver_sql(
            "SELECT reloptions FROM pg_class WHERE relname = 'devices'"
        ).scalar()
    return next((o.split("=")[1] for o in options or [] if o.startswith("fillfactor=")), None)


def test_devices_fillfactor_upgrade_keeps_every_row_and_figure(engine):
    user, fridge = seed_device(engine, [(T0 + timedelta(minutes=m), 90.0) for m in range(90)])
    rollup_dirty_hours(engine)

    def snapshot() -> tuple:
        with session_scope(engine, read_only=True) as s:
            hours = sorted(
                (a.hour_start, a.energy_wh, a.covered_s, a.sample_count)
                for a in s.exec(select(HourlyAggregate)).all()
            )
            devices = sorted(
                (d.id, d.device_id, d.last_seen_at, d.first_reading_at)
                for d in s.exec(select(Device)).all()
            )
            readings = s.exec(select(func.count()).select_from(Reading)).one()
        return hours, devices, readings

    before = snapshot()
    _migrate(engine, "0050_tariffs", down=True)
    postgres = engine.dialect.name == "postgresql"
    if postgres:
        assert _fillfactor(engine) is None
    _migrate(engine, "head")
    assert snapshot() == before
    assert before[2] == 90 and len(before[0]) == 2
    if postgres:
        assert _fillfactor(engine) == "50"


def _hourly_indexes(engine) -> set[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
        else:
            sql = "SELECT indexname FROM pg_indexes WHERE tablename = :t"
        return {name for (name,) in conn.execute(text(sql), {"t": "hourly_aggregates"})}


def test_hourly_flows_index_upgrade_keeps_the_household_nets_per_hour(engine):
    from energy_core.sql.nets import hourly_nets

    user, fridge = seed_device(engine, [(T0 + timedelta(minutes=m), 90.0) for m in range(150)])
    with session_scope(engine) as s:
        panel = make_device(s, user=s.get(type(user), user.id), bidirectional=True)
        add_readings(
            s,
            user=s.get(type(user), user.id),
            device=panel,
            points=[(T0 + timedelta(minutes=m), -400.0) for m in range(0, 150, 3)],
        )
    rollup_dirty_hours(engine)

    def nets() -> list:
        with session_scope(engine, read_only=True) as s:
            return hourly_nets(
                s.connection(),
                user_id=user.id,
                counted_pks=None,
                meter_pks=[],
                full_start=T0,
                full_end=T0 + timedelta(hours=3),
            )

    before = nets()
    _migrate(engine, "0105_alert_delivery_error", down=True)
    sqlite = engine.dialect.name == "sqlite"
    assert "ix_hourly_aggregates_user_hour" in _hourly_indexes(engine)
    assert nets() == before
    _migrate(engine, "head")
    assert nets() == before
    assert len(before) == 3 and all(net < 0 for _, net, *_ in before)
    indexes = _hourly_indexes(engine)
    assert ("ix_hourly_aggregates_user_hour_flows" in indexes) == sqlite
    assert ("ix_hourly_aggregates_user_hour" in indexes) != sqlite

"""The household a read loads holds each device as the ORM's own columns give it, on SQLite and
PostgreSQL: names, types, rooms, booleans as bool, the effective max gap, and the first and last
instants aware in UTC (None where unknown), for active, deactivated and never-read devices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from energy_core.db import session_scope
from energy_core.models import Device
from energy_core.rollup import rollup_dirty_hours
from energy_core.settings import get_settings
from energy_core.stats import load_household
from tests.factories import add_readings, make_device, make_user

T0 = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


def test_the_devices_loaded_are_the_orm_rows(engine):
    with session_scope(engine) as s:
        user = make_user(s)
        heater = make_device(s, user=user, device_id="heater", location="Hall", max_gap_s=120)
        solar = make_device(
            s, user=user, device_id="solar", bidirectional=True, type="solar", location="Roof"
        )
        fresh = make_device(s, user=user, device_id="fresh", name="A fresh one")
        make_device(s, user=user, device_id="never", name="Zz never read")
        old = make_device(s, user=user, device_id="old", name="Old meter", type="grid_meter")
        for device in (heater, solar, old):
            add_readings(
                s,
                user=user,
                device=device,
                points=[(T0 + timedelta(minutes=m), 100.0) for m in range(90)],
            )
    rollup_dirty_hours(engine)
    with session_scope(engine) as s:
        add_readings(
            s, user=user, device=s.get(Device, fresh.id), points=[(T0 + timedelta(hours=5), 5.0)]
        )
        row = s.get(Device, old.id)
        row.is_active = False
        s.add(row)
    settings = get_settings()
    with session_scope(engine, read_only=True) as s:
        household = load_household(s, user_id=user.id)
        rows = s.exec(
            select(Device)
            .where(Device.user_id == user.id)
            .order_by(col(Device.name), col(Device.device_id))
        ).all()
        expected = [
            (
                r.id,
                r.device_id,
                r.name,
                r.type,
                r.location,
                r.bidirectional,
                settings.effective_max_gap_s(r.max_gap_s),
                r.is_active,
                r.first_reading_at,
                r.last_seen_at,
            )
            for r in rows
        ]
    loaded = [
        (
            d.pk,
            d.device_id,
            d.name,
            d.type,
            d.location,
            d.bidirectional,
            d.max_gap_s,
            d.is_active,
            d.first_at,
            d.last_at,
        )
        for d in household.devices
    ]
    by_id = {d.device_id: d for d in household.devices}
    # A device not rolled up yet takes its first reading from the readings themselves.
    assert by_id["fresh"].first_at == T0 + timedelta(hours=5)
    expected = [e if e[1] != "fresh" else (*e[:8], T0 + timedelta(hours=5), e[9]) for e in expected]
    assert loaded == expected
    for device in household.devices:
        assert type(device.bidirectional) is bool and type(device.is_active) is bool
        for at in (device.first_at, device.last_at):
            assert at is None or at.utcoffset() == timedelta(0)
    assert by_id["never"].first_at is None and by_id["never"].last_at is None
    assert by_id["old"].is_active is False and by_id["old"].until is not None
    assert by_id["solar"].bidirectional is True and by_id["heater"].max_gap_s == 120

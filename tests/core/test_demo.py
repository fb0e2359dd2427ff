"""The demo household: its load shapes and its seed."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, func, select

import energy_core
from energy_core.accounts import authenticate_user, list_devices, verify_api_key
from energy_core.db import session_scope
from energy_core.demo import (
    DEMO_DEVICE_IDS,
    DEMO_DEVICES,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DemoDevice,
    count_demo_readings,
    device_power_w,
    household_power_w,
    issue_demo_simulator_key,
    iter_demo_readings,
    seed_demo_household,
)
from energy_core.models import Device, DirtyHour, KeyScope, Reading, Role, User

LONDON = ZoneInfo("Europe/London")
# Midsummer evening: the day before holds a full night and a full sunny-season day.
SUMMER_NOW = datetime(2025, 6, 21, 18, 0, tzinfo=UTC)


def _seed_one_day(engine, *, now: datetime = SUMMER_NOW, progress=None):
    with session_scope(engine) as session:
        return seed_demo_household(session, now=now, days=1, step_s=300, progress=progress)


def _series(session: Session, *, device_id: str) -> list[tuple[datetime, float]]:
    rows = session.exec(
        select(Reading.ts, Reading.power_w)
        .join(Device, Device.id == Reading.device_pk)
        .where(Device.device_id == device_id)
        .order_by(Reading.ts)
    )
    return list(rows)


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


def _days(first: date, n: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(n)]


def _minutes(start: datetime, *, days: int) -> list[datetime]:
    return [start + timedelta(minutes=m) for m in range(days * 1440)]


def _runs(values: list[bool]) -> list[tuple[bool, int]]:
    """Lengths of the runs of equal values, without the cut-off first and last run."""
    runs: list[tuple[bool, int]] = []
    for value in values:
        if runs and runs[-1][0] == value:
            runs[-1] = (value, runs[-1][1] + 1)
        else:
            runs.append((value, 1))
    return runs[1:-1]


# --- seeding -----------------------------------------------------------------------------------


def test_seed_creates_the_demo_user_devices_key_and_history(engine):
    calls: list[tuple[int, int]] = []
    result = _seed_one_day(engine, progress=lambda done, total: calls.append((done, total)))

    expected = len(DEMO_DEVICES) * 288  # one day at one reading per 5 minutes
    assert result.created
    assert result.readings == expected == count_demo_readings(days=1, step_s=300)
    assert result.device_ids == DEMO_DEVICE_IDS
    assert result.start_at >= SUMMER_NOW - timedelta(days=1, seconds=1)
    assert result.end_at <= SUMMER_NOW
    assert result.api_key and result.api_key not in repr(result)
    assert calls[0] == (0, expected) and calls[-1] == (expected, expected)

    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.email == DEMO_EMAIL)).one()
        assert (user.role, user.timezone, user.currency) == (Role.admin, "Europe/London", "GBP")
        assert user.price_per_kwh == pytest.approx(0.28)
        assert user.full_name
        assert authenticate_user(session, email=DEMO_EMAIL, password=DEMO_PASSWORD) is not None

        devices = {d.device_id: d for d in list_devices(session, user_id=user.id)}
        assert set(devices) == set(DEMO_DEVICE_IDS) and len(devices) >= 6
        assert {d for d, dev in devices.items() if dev.bidirectional} == {"solar-roof"}
        assert all(dev.name and dev.type and dev.location for dev in devices.values())
        # Each device's newest reading is the last step, give or take its timestamp jitter.
        assert all(
            timedelta(0) <= result.end_at - dev.last_seen_at < timedelta(seconds=3)
            for dev in devices.values()
        )

        principal = verify_api_key(session, key=result.api_key)
        assert principal is not None
        assert (principal.user_id, principal.scope, principal.device_pk) == (
            user.id,
            KeyScope.ingest,
            None,
        )

        stored = session.exec(select(func.count()).select_from(Reading)).one()
        assert stored == expected
        # The seed goes through the ingest path, so the scheduler has every hour to aggregate.
        assert session.exec(select(func.count()).select_from(DirtyHour)).one() >= 7 * 24


def test_seed_a_second_time_changes_nothing(engine):
    first = _seed_one_day(engine)
    second = _seed_one_day(engine, now=SUMMER_NOW + timedelta(days=2))

    assert not second.created
    assert second.user_id == first.user_id
    assert second.readings == 0 and second.api_key is None
    assert "already exists" in second.message
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(Reading)).one() == first.readings
        assert session.exec(select(func.count()).select_from(User)).one() == 1


def test_seeded_solar_generates_by_day_and_is_zero_at_night(engine):
    _seed_one_day(engine)
    with session_scope(engine) as session:
        solar = _series(session, device_id="solar-roof")

    night = [p for ts, p in solar if 0 <= ts.astimezone(LONDON).hour < 3]
    midday = [p for ts, p in solar if 11 <= ts.astimezone(LONDON).hour < 15]
    assert night and all(p == 0.0 for p in night)
    assert midday and all(p < -100.0 for p in midday)
    assert min(midday) > -3700.0
    assert all(p <= 0.0 for _, p in solar)


def test_seeded_fridge_cycles_on_and_off(engine):
    _seed_one_day(engine)
    with session_scope(engine) as session:
        fridge = _series(session, device_id="fridge-kitchen")

    running = [p > 50.0 for _, p in fridge]
    switches = sum(a != b for a, b in zip(running, running[1:], strict=False))
    # ~29 compressor cycles a day; sampling every 5 minutes still sees almost every one.
    assert switches >= 30
    assert any(80.0 <= p <= 125.0 for _, p in fridge)
    assert any(p < 3.0 for _, p in fridge)


def test_seeded_history_is_the_load_shape_model(engine):
    _seed_one_day(engine)
    with session_scope(engine) as session:
        for device_id in ("heat-pump", "solar-roof", "washer-utility"):
            for ts, power_w in _series(session, device_id=device_id)[::17]:
                assert power_w == device_power_w(device_id, at=ts)


def test_issue_demo_simulator_key_replaces_the_previous_one(engine):
    seeded = _seed_one_day(engine)
    with session_scope(engine) as session:
        issued = issue_demo_simulator_key(session)
    with session_scope(engine) as session:
        assert issued is not None
        assert verify_api_key(session, key=issued.key) is not None
        assert verify_api_key(session, key=seeded.api_key) is None


def test_issue_demo_simulator_key_without_a_demo_is_none(engine):
    with session_scope(engine) as session:
        assert issue_demo_simulator_key(session) is None


def test_seed_refuses_a_naive_now(engine):
    with session_scope(engine) as session, pytest.raises(ValueError, match="naive"):
        seed_demo_household(session, now=datetime(2025, 6, 21, 12), days=1)


# --- the load-shape model ----------------------------------------------------------------------


def test_history_is_deterministic_and_one_reading_per_device_per_step():
    args = {"end_at": SUMMER_NOW, "days": 0.5, "step_s": 60}
    first = list(iter_demo_readings(**args))
    assert first == list(iter_demo_readings(**args))
    assert len(first) == count_demo_readings(days=0.5, step_s=60) == 7 * 720
    assert len({(r.device_id, r.ts) for r in first}) == len(first)
    assert all(SUMMER_NOW - timedelta(days=0.5, seconds=2) <= r.ts <= SUMMER_NOW for r in first)
    assert all(r.power_w == device_power_w(r.device_id, at=r.ts) for r in first[::11])


def test_load_shapes_are_the_same_in_another_process():
    # The simulator and the seed may run in different processes: string hashing must not leak in.
    instants = [SUMMER_NOW + timedelta(minutes=37 * i) for i in range(40)]
    here = [list(household_power_w(at=at).values()) for at in instants]
    code = (
        "import json, sys\n"
        "from datetime import datetime\n"
        "from energy_core.demo import household_power_w\n"
        "ats = [datetime.fromisoformat(a) for a in json.loads(sys.argv[1])]\n"
        "print(json.dumps([list(household_power_w(at=at).values()) for at in ats]))\n"
    )
    root = str(Path(energy_core.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONHASHSEED": "4242", "PYTHONPATH": root}
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps([at.isoformat() for at in instants])],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout) == here


def test_only_the_solar_inverter_goes_negative():
    for at in _minutes(datetime(2025, 6, 1, tzinfo=UTC), days=3)[::7]:
        for device_id, power_w in household_power_w(at=at).items():
            assert (power_w < 0) <= (device_id == "solar-roof"), (device_id, at, power_w)


def test_fridge_compressor_runs_15_to_20_minutes_every_50_or_so():
    minutes = _minutes(datetime(2025, 3, 1, tzinfo=UTC), days=7)
    power = [device_power_w("fridge-kitchen", at=at) for at in minutes]
    runs = _runs([p > 50.0 for p in power])
    on = [n for running, n in runs if running]
    off = [n for running, n in runs if not running]
    assert 15 <= statistics.median(on) <= 20
    assert 28 <= statistics.median(off) <= 38
    assert 25 * 7 <= len(on) <= 32 * 7
    assert all(80.0 <= p <= 125.0 for p in power if 50.0 < p < 200.0)
    assert any(p > 250.0 for p in power), "no defrost in a week"
    assert all(p < 2.0 for p in power if p <= 50.0)


def test_router_is_always_on_between_8_and_12_watts():
    power = [device_power_w("router-hall", at=at) for at in _minutes(SUMMER_NOW, days=2)]
    assert all(8.0 <= p <= 12.0 for p in power)
    assert len(set(power)) > 20  # noisy, not a constant


def test_washing_machine_runs_a_few_times_a_week_with_heat_wash_and_spin():
    minutes = _minutes(datetime(2025, 10, 1, tzinfo=UTC), days=28)
    power = [device_power_w("washer-utility", at=at) for at in minutes]
    heating_days = {
        at.astimezone(LONDON).date() for at, p in zip(minutes, power, strict=True) if p > 1900
    }
    assert 4 <= len(heating_days) <= 5 * 4
    runs = _runs([p > 5.0 for p in power])
    assert all(60 <= n <= 100 for running, n in runs if running)
    assert any(2000 <= p <= 2300 for p in power)
    assert any(200 <= p <= 400 for p in power)
    assert any(480 <= p <= 560 for p in power)
    assert all(0.5 <= p <= 1.5 for p in power if p <= 5.0)


def test_living_room_lights_are_off_by_day_on_in_the_evening_with_a_winter_morning_bump():
    for day in _days(date(2025, 6, 1), 14) + _days(date(2026, 1, 5), 14):
        assert device_power_w("lights-living", at=_local(day, 13)) == 0.0
        assert 58.0 <= device_power_w("lights-living", at=_local(day, 22)) <= 182.5
        assert device_power_w("lights-living", at=_local(day, 2)) == 0.0
    winter_weekdays = [d for d in _days(date(2026, 1, 5), 14) if d.weekday() < 5]
    assert all(device_power_w("lights-living", at=_local(d, 7, 15)) > 0 for d in winter_weekdays)


def test_ev_charger_charges_at_7_2_kw_on_several_evenings():
    minutes = _minutes(datetime(2025, 9, 1, tzinfo=UTC), days=28)
    power = [device_power_w("ev-charger", at=at) for at in minutes]
    charging = [p > 0 for p in power]
    sessions = [n for running, n in _runs(charging) if running]
    assert 2 * 4 <= len(sessions) <= 6 * 4
    assert all(120 <= n <= 241 for n in sessions)
    starts = [minutes[i] for i in range(1, len(minutes)) if charging[i] and not charging[i - 1]]
    assert all(18 <= at.astimezone(LONDON).hour < 22 for at in starts)
    assert statistics.median(p for p in power if p > 0) == pytest.approx(7200, abs=40)
    assert all(p == 0.0 for p in power if p <= 0)


def test_heat_pump_follows_the_weather_between_300_and_2500_watts():
    winter = [
        device_power_w("heat-pump", at=at)
        for at in _minutes(datetime(2026, 1, 5, tzinfo=UTC), days=7)
    ]
    summer = [
        device_power_w("heat-pump", at=at)
        for at in _minutes(datetime(2025, 7, 5, tzinfo=UTC), days=7)
    ]
    assert all(300.0 <= p <= 2500.0 for p in winter + summer)
    assert statistics.mean(winter) > 2 * statistics.mean(summer)
    # Hot water is reheated at 05:00 local time, whatever the UTC offset.
    for day in (date(2026, 1, 7), date(2025, 7, 7)):
        assert device_power_w("heat-pump", at=_local(day, 5, 20)) > 1800.0


def test_solar_follows_the_sun_of_london():
    for day in _days(date(2025, 6, 1), 14) + _days(date(2025, 12, 10), 14):
        assert device_power_w("solar-roof", at=_local(day, 1)) == 0.0
        assert device_power_w("solar-roof", at=_local(day, 23)) == 0.0
        assert device_power_w("solar-roof", at=_local(day, 12, 30)) < -100.0
    minutes = _minutes(datetime(2025, 6, 1, tzinfo=UTC), days=14)
    june = [device_power_w("solar-roof", at=at) for at in minutes]
    assert -3600.0 <= min(june) <= -3000.0
    peak_at = minutes[june.index(min(june))]
    assert 11 <= peak_at.astimezone(LONDON).hour <= 15


def test_unknown_devices_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="fridge-kitchen"):
        device_power_w("toaster", at=SUMMER_NOW)
    with pytest.raises(ValueError, match="no load shape"):
        device_power_w(DemoDevice("t", "Toaster", "toaster", "Kitchen"), at=SUMMER_NOW)
    # Another device of a known type gets its own, different, trace of the same shape.
    other = DemoDevice("fridge-garage", "Garage fridge", "fridge", "Garage")
    minutes = _minutes(SUMMER_NOW, days=1)
    assert [device_power_w(other, at=at) for at in minutes] != [
        device_power_w("fridge-kitchen", at=at) for at in minutes
    ]

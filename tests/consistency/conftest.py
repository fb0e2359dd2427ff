"""The consistency suite's household: seeded once per module and backend, read by every test of
the module (the tests only read; the property test makes households of its own).

A London household, "now" pinned at Thursday 2 April 2026 09:40 BST, eight days of irregular
readings (about every 15 minutes, with jitter) from Wednesday 25 March: a fridge with a three-hour
outage, a kettle on the default max gap, a heat pump, a solar inverter (standby at night,
generating by day), a freezer registered on 31 March, an old heater deactivated on 29 March, a
grid meter from 1 April 06:00 UTC, and a plug that never sent a reading. The clocks go forward on
29 March. Everything is rolled up, then a few late readings leave hours dirty, as in life.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from energy_core.accounts import require_device, update_device
from energy_core.db import session_scope
from energy_core.models import DeviceUpdate, KeyScope, User
from energy_core.rollup import rollup_dirty_hours
from ingest_api.app import create_app
from tests.databases import empty_postgres_database, sqlite_copy
from tests.factories import add_readings, make_device, make_key, make_user
from tests.oracle import Oracle

LONDON = "Europe/London"
TZ = ZoneInfo(LONDON)
SEED_START = datetime(2026, 3, 25, tzinfo=UTC)
# On the minute: the pages round their clock down to the minute.
NOW = datetime(2026, 4, 2, 9, 40, tzinfo=TZ)
PRICE = 0.28
STEP_S = 15 * 60


class SeedDevice(NamedTuple):
    """A device as registered (``make_device``'s fields) and the span of its seeded readings
    (none for a device that never sent one)."""

    name: str
    type: str
    location: str
    bidirectional: bool
    max_gap_s: int | None
    first: datetime | None
    last: datetime | None

    def registration(self) -> dict:
        return {k: v for k, v in self._asdict().items() if k not in ("first", "last")}


DEVICES: dict[str, SeedDevice] = {
    "fridge": SeedDevice("Fridge", "fridge", "Kitchen", False, 1200, SEED_START, NOW),
    "kettle": SeedDevice("Kettle", "kettle", "Kitchen", False, None, SEED_START, NOW),
    "heat-pump": SeedDevice("Heat pump", "heat_pump", "Utility", False, 1200, SEED_START, NOW),
    "solar": SeedDevice("Solar inverter", "solar", "Roof", True, 1200, SEED_START, NOW),
    "freezer": SeedDevice(
        "Garage freezer",
        "freezer",
        "Garage",
        False,
        1200,
        datetime(2026, 3, 31, 12, 7, tzinfo=UTC),
        NOW,
    ),
    "old-heater": SeedDevice(
        "Old heater",
        "heater",
        "Utility",
        False,
        1200,
        SEED_START,
        datetime(2026, 3, 29, 12, 0, tzinfo=UTC),
    ),
    "grid": SeedDevice(
        "Grid meter",
        "grid_meter",
        "",
        True,
        1200,
        datetime(2026, 4, 1, 6, 0, tzinfo=UTC),
        NOW,
    ),
    "spare-plug": SeedDevice("Spare plug", "plug", "Kitchen", False, None, None, None),
}
FRIDGE_OUTAGE = (datetime(2026, 3, 30, 10, tzinfo=UTC), datetime(2026, 3, 30, 13, tzinfo=UTC))


def power_of(device_id: str, at: datetime, rng: random.Random) -> float:
    hour = at.astimezone(UTC).hour + at.minute / 60
    if device_id == "fridge":
        return round(rng.choice([0.0, 1.5, 85.0, 120.0]) + rng.random(), 2)
    if device_id == "kettle":
        return 2950.0 if rng.random() < 0.05 else round(rng.random() * 2, 2)
    if device_id in ("heat-pump", "old-heater"):
        return round(rng.uniform(300, 2500), 1)
    if device_id == "solar":
        if 6 <= hour < 18:
            return -round(3000 * (1 - abs(hour - 12) / 6) * rng.uniform(0.5, 1.0), 1)
        return round(rng.uniform(12, 18), 1)
    if device_id == "freezer":
        return round(rng.uniform(40, 110), 1)
    if device_id == "grid":
        return round(rng.uniform(-1500, 4000), 1)
    raise AssertionError(device_id)


def readings_of(device_id: str, rng: random.Random) -> list[tuple[datetime, float]]:
    first, last = DEVICES[device_id].first, DEVICES[device_id].last
    points = []
    at = first
    while at < last:
        if not (device_id == "fridge" and FRIDGE_OUTAGE[0] <= at < FRIDGE_OUTAGE[1]):
            points.append((at, power_of(device_id, at, rng)))
        at += timedelta(seconds=STEP_S + rng.randint(-240, 240), microseconds=rng.randint(0, 999))
    return points


@dataclass(frozen=True)
class Seeded:
    """The seeded household: who it is (its password is the factories' PASSWORD), its read key,
    and the pinned now."""

    user_id: int
    email: str
    read_key: str
    now: datetime


def seed_household(engine) -> Seeded:  # noqa: ANN001 - an Engine
    rng = random.Random(14)
    with session_scope(engine) as s:
        user = make_user(s, timezone=LONDON, price_per_kwh=PRICE)
        devices = {}
        for device_id, spec in DEVICES.items():
            devices[device_id] = make_device(
                s, user=user, device_id=device_id, **spec.registration()
            )
        for device_id, device in devices.items():
            if DEVICES[device_id].first is not None:
                add_readings(s, user=user, device=device, points=readings_of(device_id, rng))
        key = make_key(s, user=user, scope=KeyScope.read).key
        user_id, email = user.id, user.email
    rollup_dirty_hours(engine)
    with session_scope(engine) as s:
        user = s.get(User, user_id)
        update_device(
            s, user_id=user_id, device_id="old-heater", changes=DeviceUpdate(is_active=False)
        )
        # Late readings after the rollup: their hours wait, dirty, for the next run.
        late = [
            ("heat-pump", datetime(2026, 4, 1, 10, 7, 31, tzinfo=UTC), 4100.0),
            ("solar", datetime(2026, 4, 1, 12, 3, 2, tzinfo=UTC), -3300.0),
            ("fridge", datetime(2026, 3, 28, 23, 58, tzinfo=UTC), 150.0),
        ]
        for device_id, at, power_w in late:
            device = require_device(s, user_id=user_id, device_id=device_id)
            add_readings(s, user=user, device=device, points=[(at, power_w)])
    return Seeded(user_id=user_id, email=email, read_key=key, now=NOW)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(request, tmp_path_factory) -> str:
    """An empty, migrated database for one module's tests, once per backend."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        return sqlite_copy(template, tmp_path_factory.mktemp("consistency"))
    return empty_postgres_database(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="module")
def seeded(module_engine) -> Seeded:
    return seed_household(module_engine)


@pytest.fixture(scope="module")
def client(module_engine) -> Iterator[TestClient]:
    """The read API on the module's database."""
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture(scope="module")
def oracle(seeded: Seeded) -> Oracle:
    """The figures of the seeded household's raw readings, worked out apart from the product."""
    with session_scope(read_only=True) as s:
        return Oracle(s, seeded.user_id)

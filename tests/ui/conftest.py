"""Fixtures of the page tests: two households on one database, the app's clock pinned.

The admin is the demo household (seven devices, 15 days of five-minute readings, rolled up); the
member, Mia, has two devices of her own, one with the same device id as one of the admin's and
one with a two-hour hole in its readings. Readings end two hours before the pinned "now", so
every figure is fixed while a test runs. The pinned "now" is the latest 12:05 UTC, so "today" holds
ten hours of readings in both households' timezones whatever the hour the suite runs at. They are
seeded once per run and backend, whatever the number of workers; each test gets a copy of that
database to change as it likes.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import delete
from streamlit.testing.v1 import AppTest

from energy_core import db as db_module
from energy_core.app_settings import AppSetting
from energy_core.db import session_scope
from energy_core.demo import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DemoDevice,
    iter_demo_readings,
    seed_demo_household,
)
from energy_core.ingest import record_readings
from energy_core.rollup import rollup_dirty_hours
from tests.apptest import open_app, sign_in
from tests.databases import (
    PostgresCopies,
    code_under_test_on,
    postgres_database_of_the_run,
    sqlite_copy,
)
from tests.factories import PASSWORD, make_device, make_user
from tests.parallel import once_per_run
from webapp import loaders

SEED_DAYS = 15
MEMBER_EMAIL = "mia@example.com"
MEMBER_DEVICES = (
    # Same device id as the admin's fridge: ids are unique per household, not globally.
    DemoDevice("fridge-kitchen", "Mia cellar fridge", "fridge", "Cellar"),
    DemoDevice("mia-heatpump", "Mia heat pump", "heat_pump", "Garage"),
)
# Mia's heat pump sends nothing for two hours, five days before the end of the seed.
HOLE_HOURS = (5 * 24 + 2, 5 * 24)


def pinned_now(real_now: datetime) -> datetime:
    """The latest 12:05 UTC at or before `real_now`: mid-day in London and Berlin alike."""
    noon = real_now.replace(hour=12, minute=5, second=0, microsecond=0)
    return noon if noon <= real_now else noon - timedelta(days=1)


@dataclass(frozen=True)
class Households:
    admin_id: int
    member_id: int
    seed_end: datetime
    now: datetime
    hole: tuple[datetime, datetime]
    # How each signs in: fixed by the seed, the same in every copy.
    admin_email: str = DEMO_EMAIL
    admin_password: str = DEMO_PASSWORD
    member_email: str = MEMBER_EMAIL
    member_password: str = PASSWORD


@pytest.fixture
def app_env(app_env, engine):
    """As the shared fixture, and without admin settings left from another test (the PostgreSQL
    test database is reused between tests)."""
    with session_scope() as session:
        session.exec(delete(AppSetting))
    return app_env


def seed_households(engine) -> Households:
    now = pinned_now(datetime.now(UTC))
    seed_end = now - timedelta(hours=2)
    hole = (seed_end - timedelta(hours=HOLE_HOURS[0]), seed_end - timedelta(hours=HOLE_HOURS[1]))
    with session_scope(engine) as session:
        demo = seed_demo_household(session, now=seed_end, days=SEED_DAYS, step_s=300)
        mia = make_user(
            session,
            email=MEMBER_EMAIL,
            full_name="Mia Member",
            timezone="Europe/Berlin",
            price_per_kwh=0.40,
            currency="EUR",
        )
        for spec in MEMBER_DEVICES:
            make_device(
                session,
                user=mia,
                device_id=spec.device_id,
                name=spec.name,
                type=spec.type,
                location=spec.location,
            )
        readings = [
            r
            for r in iter_demo_readings(
                end_at=seed_end, days=SEED_DAYS, step_s=300, devices=MEMBER_DEVICES
            )
            if not (r.device_id == "mia-heatpump" and hole[0] <= r.ts < hole[1])
        ]
        record_readings(
            session, user_id=mia.id, readings=readings, now=seed_end, enforce_window=False
        )
        member_id = mia.id
    rollup_dirty_hours(engine)
    return Households(
        admin_id=demo.user_id, member_id=member_id, seed_end=seed_end, now=now, hole=hole
    )


# Seeding and rolling up 15 days of two households takes far longer than copying a database, so
# they are seeded once per run and backend (by the first worker that needs them), and each test
# gets a copy of its own to change.


def _as_json(h: Households) -> dict:
    return {
        "admin_id": h.admin_id,
        "member_id": h.member_id,
        "seed_end": h.seed_end.isoformat(),
        "now": h.now.isoformat(),
        "hole": [at.isoformat() for at in h.hole],
    }


def _from_json(made: dict) -> Households:
    return Households(
        admin_id=made["admin_id"],
        member_id=made["member_id"],
        seed_end=datetime.fromisoformat(made["seed_end"]),
        now=datetime.fromisoformat(made["now"]),
        hole=tuple(datetime.fromisoformat(at) for at in made["hole"]),
    )


def _seeded_on(url: str) -> dict:
    with code_under_test_on(url):
        return {"url": url, "households": _as_json(seed_households(db_module.get_engine()))}


@pytest.fixture(scope="session")
def seeded_sqlite(sqlite_template, request) -> tuple[str, Households]:
    made = once_per_run(
        request.config,
        "ui-households-sqlite",
        lambda folder: _seeded_on(sqlite_copy(sqlite_template, folder, "households.db")),
    )
    return made["url"], _from_json(made["households"])


@pytest.fixture(scope="session")
def seeded_postgresql(request) -> tuple[str, Households]:
    made = once_per_run(
        request.config,
        "ui-households-postgresql",
        lambda _: _seeded_on(postgres_database_of_the_run(request.config, "energy_ui_seeded")),
    )
    return made["url"], _from_json(made["households"])


@pytest.fixture(scope="session")
def seeded_postgresql_copies(seeded_postgresql) -> Iterator[PostgresCopies]:
    """Copies of the seeded PostgreSQL database, one per test, made ahead of the test."""
    copies = PostgresCopies(seeded_postgresql[0], "energy_ui")
    yield copies
    copies.close()


@pytest.fixture
def database_url(database_url, request) -> Iterator[str]:
    """As the shared fixture; for a test of the seeded households, a copy of the seeded database."""
    if "households" not in request.fixturenames:
        yield database_url
    elif database_url.startswith("sqlite"):
        seeded_url, _ = request.getfixturevalue("seeded_sqlite")
        shutil.copy(make_url(seeded_url).database, make_url(database_url).database)
        yield database_url
    else:
        with request.getfixturevalue("seeded_postgresql_copies").copy() as url:
            yield url


@pytest.fixture
def households(app_env, engine, monkeypatch, request) -> Households:
    _, seeded = request.getfixturevalue(f"seeded_{engine.dialect.name}")
    monkeypatch.setattr(loaders, "now_utc", lambda: seeded.now)
    return seeded


# --- driving the pages -------------------------------------------------------------------------


def as_admin(h: Households) -> AppTest:
    return sign_in(open_app(), h.admin_email, h.admin_password)


def as_member(h: Households) -> AppTest:
    return sign_in(open_app(), h.member_email, h.member_password)


def show(at: AppTest, path: str, **query: str) -> AppTest:
    """Open ``path`` with ``query`` in the page address."""
    for name, value in query.items():
        at.query_params[name] = value
    return at.switch_page(path).run()


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}

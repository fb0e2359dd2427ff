"""Fixtures of the chat tests: the demo household seeded once per backend for the whole run.

The ``engine`` fixture of tests/conftest.py gives every test a fresh, empty database; the golden
set only reads, so it shares one seeded database per backend instead (built the same way: a
migrated SQLite file, and a scratch database of our own on the test PostgreSQL server).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine, make_url

from energy_core.accounts import get_user_by_email
from energy_core.db import make_engine, session_scope
from energy_core.demo import DEMO_EMAIL, seed_demo_household
from energy_core.migrate import upgrade_database
from energy_core.rollup import rollup_dirty_hours
from energy_core.settings import Settings
from tests.databases import postgres_copy, postgres_database_of_the_run, sqlite_copy
from tests.factories import add_readings, make_device, make_user
from tests.parallel import once_per_run

# Wednesday 2 December 2026, 10:15 in London (GMT): the seeded history spans the DST change of
# 25 October, a whole previous month (November) and a partly covered one (October).
NOW = datetime(2026, 12, 2, 10, 15, tzinfo=UTC)
SEED_DAYS = 40
SEED_STEP_S = 300


def chat_settings(**overrides) -> Settings:
    """Settings of the code under test, independent of the developer's environment and .env."""
    values = {"database_url": "sqlite://", "openai_api_key": None, "redis_url": None}
    values.update(overrides)
    return Settings(_env_file=None, **values)


def _seed(engine: Engine) -> int:
    upgrade_database(engine)
    with session_scope(engine) as session:
        result = seed_demo_household(session, now=NOW, days=SEED_DAYS, step_s=SEED_STEP_S)
    rollup_dirty_hours(engine, settings=chat_settings())
    return result.user_id


def _seeded_on(url: str) -> dict:
    engine = make_engine(url)
    try:
        return {"url": url, "user_id": _seed(engine)}
    finally:
        engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def seeded(request, tmp_path_factory):
    """(engine, demo user id) of a database holding the seeded demo household, per backend. The
    household is seeded once per run (by the first worker that needs it); each worker reads a copy
    of its own, which ``neighbour`` adds to."""
    config = request.config
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        made = once_per_run(
            config,
            "chat-seeded-sqlite",
            lambda folder: _seeded_on(sqlite_copy(template, folder, "seeded.db")),
        )
        url = sqlite_copy(
            Path(make_url(made["url"]).database), tmp_path_factory.mktemp("chat"), "seeded.db"
        )
        engine = make_engine(url)
        yield engine, made["user_id"]
        engine.dispose()
        return
    made = once_per_run(
        config,
        "chat-seeded-postgresql",
        lambda _: _seeded_on(postgres_database_of_the_run(config, "energy_chat_seeded")),
    )
    with postgres_copy(made["url"], "energy_chat") as url:
        engine = make_engine(url)
        try:
            yield engine, made["user_id"]
        finally:
            engine.dispose()


NEIGHBOUR_EMAIL = "neighbour@example.com"
# A second household in the same database: two fridges (so "the fridge" is ambiguous there), and
# devices the demo household does not have. Steady power, so its figures are easy to check.
NEIGHBOUR_DEVICES = (
    ("nb-fridge-kitchen", "Kitchen fridge", "fridge", "Kitchen", 90.0),
    ("nb-fridge-garage", "Garage fridge", "fridge", "Garage", 60.0),
    ("nb-pool-pump", "Pool pump", "pump", "Garden", 750.0),
    ("nb-hot-tub", "Hot tub", "hot_tub", "Garden", 1500.0),
)


@pytest.fixture(scope="session")
def neighbour(seeded) -> int:
    """The id of a second household's user in the seeded database, with 3 days of readings."""
    engine, _ = seeded
    start = NOW - timedelta(days=3)
    with session_scope(engine) as session:
        existing = get_user_by_email(session, email=NEIGHBOUR_EMAIL)
        if existing is not None:
            return existing.id
        user = make_user(session, email=NEIGHBOUR_EMAIL, timezone="Europe/London")
        for device_id, name, kind, room, power_w in NEIGHBOUR_DEVICES:
            device = make_device(
                session, user=user, device_id=device_id, name=name, type=kind, location=room
            )
            points = [(start + timedelta(minutes=5 * i), power_w) for i in range(3 * 24 * 12)]
            add_readings(session, user=user, device=device, points=points, now=NOW)
        user_id = user.id
    rollup_dirty_hours(engine, settings=chat_settings())
    return user_id


@pytest.fixture(scope="session")
def demo_email() -> str:
    return DEMO_EMAIL

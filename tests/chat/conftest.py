"""Fixtures of the chat tests: the demo household seeded once per backend for the whole session.

The ``engine`` fixture of tests/conftest.py gives every test a fresh, empty database; the golden
set only reads, so it shares one seeded database per backend instead (built the same way: a
migrated SQLite file, and a scratch database of our own on the test PostgreSQL server).
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from energy_core.db import make_engine, session_scope
from energy_core.demo import DEMO_EMAIL, seed_demo_household
from energy_core.migrate import upgrade_database
from energy_core.rollup import rollup_dirty_hours
from energy_core.settings import Settings
from tests.databases import scratch_postgres_database

# Wednesday 8 April 2026, 11:15 in London (BST): the seeded history spans the DST change of
# 29 March, a whole previous month (March) and a partly covered one (February).
NOW = datetime(2026, 4, 8, 10, 15, tzinfo=UTC)
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


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def seeded(request, tmp_path_factory):
    """(engine, demo user id) of a database holding the seeded demo household, per backend."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("chat") / "seeded.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        user_id = _seed(engine)
        yield engine, user_id
        engine.dispose()
        return
    with scratch_postgres_database("energy_chat") as url:
        engine = make_engine(url)
        try:
            yield engine, _seed(engine)
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def demo_email() -> str:
    return DEMO_EMAIL

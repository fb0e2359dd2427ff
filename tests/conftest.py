"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``ENERGY_TEST_DATABASE_URL`` (default: the local server's ``test``
database); the suite creates a database of its own next to it and drops it at the end. Redis comes
from ``ENERGY_TEST_REDIS_URL``. Outside CI a server that does not answer skips its half with the
reason; with ``CI=true`` that is a failure.
"""

# ruff: noqa: E402 - the bytecode setting below comes before the imports it speeds up.

from __future__ import annotations

import os
import sys

# The compiled code of the project and of the tests (which pytest rewrites for its asserts) is
# kept in __pycache__ (ignored by git and the image) even where PYTHONDONTWRITEBYTECODE is set:
# without it every process of a run compiled all of it again, about 9 s of CPU per process (the
# suite was collected in 10 s of CPU instead of 19 s), and plain pytest starts three workers.
# The processes the tests start (servers, the CLI) keep theirs too.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from energy_core import db as db_module
from energy_core.db import make_engine
from energy_core.household_scope import system_engine
from energy_core.migrate import upgrade_database
from energy_core.settings import get_settings
from tests.databases import (
    as_app_role,
    code_under_test_on,
    drop_the_runs_postgres_databases,
    empty_postgres_database,
    scratch_postgres_database,
    sqlite_copy,
    unavailable,
)
from tests.parallel import (  # noqa: F401 - hooks that run the suite on several processes
    on_a_worker,
    one_worker_at_a_time,
    pytest_cmdline_main,
    pytest_collection_modifyitems,
    pytest_runtest_protocol,
    pytest_xdist_make_scheduler,
)

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"

# bcrypt's lowest cost: still real bcrypt, so sign-ins behave as in production, but a user costs
# milliseconds instead of a few tenths of a second. The servers the suite starts inherit it.
# tests/core/test_passwords.py checks the cost setting itself.
os.environ.setdefault("ENERGY_BCRYPT_ROUNDS", "4")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The databases the workers shared go once every worker has finished."""
    if not on_a_worker(session.config):
        drop_the_runs_postgres_databases(session.config)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A freshly migrated database of this test session on the test PostgreSQL server."""
    with scratch_postgres_database("energy_test") as url:
        yield url


@pytest.fixture(scope="session")
def postgres_app_url(postgres_url) -> str:
    """``postgres_url`` for the role the application connects as in production: row-level
    security holds it (the suite's superuser passes through every policy)."""
    return as_app_role(postgres_url)


# Tests under these paths run their PostgreSQL half as the application's role, so that the real
# code paths of ingest, reads, chat, export and backup are checked under row-level security. (The
# scheduler keeps the monthly partitions of readings, which only the tables' owner may do: it
# connects as the owner; tests/core/test_row_level_security.py runs its rollup as the app role.)
APP_ROLE_PATHS = (
    "tests/api/",
    "tests/chat/",
    "tests/consistency/",
    "tests/scheduler/test_backups.py",
    "tests/cli/test_export.py",
    "tests/ui/",
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """The URL of an empty, migrated database; the same test runs once per backend."""
    if request.param == "sqlite":
        return sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path)
    empty_postgres_database(request.getfixturevalue("postgres_url"))
    where = Path(request.node.path).relative_to(Path(__file__).parent.parent).as_posix()
    if where.startswith(APP_ROLE_PATHS):
        return request.getfixturevalue("postgres_app_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def configured(database_url) -> Iterator[str]:
    """Point ``get_settings()`` / ``get_engine()`` of the code under test at the test database."""
    with code_under_test_on(database_url):
        yield database_url


@pytest.fixture
def engine(configured):
    """The engine the code under test uses, on a fresh database (SQLite and PostgreSQL). Its
    sessions without a household see every household's rows, as the test's own checks must;
    the code under test opens its own (``get_engine()``), under row-level security."""
    return system_engine(db_module.get_engine())


@pytest.fixture(scope="module")
def module_engine(module_database_url) -> Iterator:
    """The engine the code under test uses, on the database that a module's tests share (the
    module defines ``module_database_url``: building one costs more than checking a body)."""
    with code_under_test_on(module_database_url):
        yield db_module.get_engine()


# Apps of the ingest API this process built, by the settings their routes were built from
# (``ingest_api.app.shape``), free for the next test that asks for one (``make_app``).
_FREE_APPS: dict[tuple, list[Any]] = {}


@pytest.fixture
def make_app() -> Iterator[Callable[..., Any]]:
    """``create_app(settings)`` for this test (default: the test's settings), reusing an app
    with the same routes that an earlier test of this process has finished with: building the
    routes costs about 0.1 s of CPU, and a few hundred tests ask for an app. What the requests
    share (engine, key cache, rate limiters, settings) is built anew for each test
    (``IngestApp.serve_with``), so that a test sees only its own; an app with metrics on is
    built anew, as its counters are the app's own."""
    from ingest_api.app import create_app, shape

    taken = []

    def make(settings=None):  # noqa: ANN001, ANN202 - Settings, IngestApp
        settings = settings or get_settings()
        free = _FREE_APPS.setdefault(shape(settings), [])
        if free and not settings.metrics:
            app = free.pop()
            app.serve_with(settings)
        else:
            app = create_app(settings)
        taken.append(app)
        return app

    yield make
    for app in taken:
        if not app.state.api.settings.metrics:
            _FREE_APPS[app.shape].append(app)


@pytest.fixture
def redis_url(request) -> Iterator[str]:
    """The Redis test database, empty; no test of another worker uses it meanwhile."""
    import redis

    url = os.environ.get("ENERGY_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {url} does not answer: {exc}")
    with one_worker_at_a_time(request.config, "redis"):
        client.flushdb()
        yield url
        client.flushdb()
    client.close()


# --- the Streamlit app -------------------------------------------------------------------------


@pytest.fixture
def server_mode(monkeypatch) -> None:
    """Run AppTest like a running server (see ``tests.apptest.serve_like_a_server``)."""
    from tests.apptest import serve_like_a_server

    serve_like_a_server(monkeypatch)


@pytest.fixture
def app_settings(engine, monkeypatch):
    """A fresh database, a cookie key, the repository as working directory, and empty data caches:
    ``st.cache_data`` is process-wide, so one test's figures must not serve the next."""
    import streamlit as st

    from tests.apptest import COOKIE_KEY, REPO

    monkeypatch.setenv("ENERGY_COOKIE_KEY", COOKIE_KEY)
    monkeypatch.chdir(REPO)
    get_settings.cache_clear()
    st.cache_data.clear()
    yield
    st.cache_data.clear()
    get_settings.cache_clear()


@pytest.fixture
def app_env(app_settings, server_mode) -> None:
    """The app as a running server serves it, on a fresh database."""


# Speed figures a test measures on the way (``record_property(name, seconds)`` with a name listed
# here): printed at the end of the run, with or without -s and from every worker, and kept in the
# JUnit report's properties. They are figures to read, not checks.
MEASURED = {
    "live_first_chart_s": "Live page's first chart after pressing Sign in in a fresh tab "
    "(goal: within 2 s)",
}


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001 - pytest's TerminalReporter
    lines = [
        f"{report.nodeid}: {MEASURED[name]}: {value}"
        for kind in ("passed", "failed")
        for report in terminalreporter.getreports(kind)
        if report.when == "call"
        for name, value in report.user_properties
        if name in MEASURED
    ]
    if lines:
        terminalreporter.write_sep("=", "measured on the way")
        for line in lines:
            terminalreporter.write_line(line)

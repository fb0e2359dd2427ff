"""Test databases and services: scratch PostgreSQL databases, and what to do when a server is
missing (skip with the reason; fail under ``CI=true``)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from energy_core import cache as cache_module
from energy_core import db as db_module
from energy_core.db import make_engine
from energy_core.migrate import upgrade_database
from energy_core.settings import get_settings, normalize_database_url
from tests.parallel import run_folder

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
# Settings of the test run that the code under test keeps (see ``code_under_test_on``).
SUITE_SETTINGS = frozenset({"ENERGY_DATABASE_URL", "ENERGY_BCRYPT_ROUNDS"})
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing service is a failure)", pytrace=False)
    pytest.skip(reason)


def sqlite_copy(template: Path, directory: Path, name: str = "energy.db") -> str:
    """The URL of a copy of the migrated SQLite database ``template``, as ``name`` in
    ``directory``: copying it is far quicker than migrating a new one."""
    path = directory / name
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@contextmanager
def scratch_postgres_database(prefix: str) -> Iterator[str]:
    """A new, migrated database on the test PostgreSQL server, dropped afterwards: its URL.

    Fails (in CI) or skips (elsewhere) when the server does not answer.
    """
    url = new_postgres_database(prefix)
    try:
        yield url
    finally:
        drop_postgres_database(url)


def new_postgres_database(prefix: str) -> str:
    """The URL of a new, migrated database on the test PostgreSQL server, named ``prefix`` and a
    random suffix; whoever makes it drops it (``drop_postgres_database``).

    Fails (in CI) or skips (elsewhere) when the server does not answer.
    """
    admin = _admin_engine()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            create_test_database(conn, name)
    finally:
        admin.dispose()
    url = make_url(_admin_url()).set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        upgrade_database(engine)
        engine.dispose()
    except BaseException:
        drop_postgres_database(url)
        raise
    return url


def create_test_database(conn: Connection, name: str, *, template: str | None = None) -> None:
    """Create the database ``name`` (a copy of ``template`` if given) on the test server, whose
    commits do not wait for the WAL to reach the disk.

    A commit waited 4.5-7 ms for that flush on the development machine, and the PostgreSQL half of
    the suite commits thousands of times. What a test sees of a commit is the same (visibility,
    locks, isolation, what a killed connection keeps); only a crash of the server itself could
    lose the last commits, and no test crashes it (the restart test stops it cleanly, which writes
    the WAL first). The setting belongs to the database, so a copy made from it is set again."""
    like = f' TEMPLATE "{template}"' if template else ""
    conn.execute(text(f'CREATE DATABASE "{name}"{like}'))
    conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))


def drop_postgres_database(url: str) -> None:
    """Drop the database at ``url`` of the test PostgreSQL server, ending its connections."""
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _admin_engine() -> Engine:
    """An engine on the test server's own database, for creating and dropping others. Fails (in
    CI) or skips (elsewhere) when the server does not answer."""
    admin_url = _admin_url()
    try:
        admin = create_engine(
            admin_url,
            isolation_level="AUTOCOMMIT",
            pool_pre_ping=True,  # survives a server restart during the session (fault tests)
            connect_args={"connect_timeout": 5},
        )
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "not available"
        unavailable(
            f"PostgreSQL at {make_url(admin_url).render_as_string()} does not answer: {exc}"
        )
    return admin


def postgres_database_of_the_run(config: pytest.Config, prefix: str) -> str:
    """``new_postgres_database(prefix)``, dropped when the whole run ends (by the process that
    started the workers, after they have all finished): for a database that workers share."""
    url = new_postgres_database(prefix)
    with (run_folder(config) / DROP_AT_THE_END).open("a") as listing:
        listing.write(url + "\n")
    return url


def drop_the_runs_postgres_databases(config: pytest.Config) -> None:
    """Drop the databases ``postgres_database_of_the_run`` made during this run."""
    listing = run_folder(config) / DROP_AT_THE_END
    if listing.exists():
        for url in listing.read_text().split():
            drop_postgres_database(url)
        listing.unlink()


DROP_AT_THE_END = "postgres-databases-to-drop.txt"


@contextmanager
def postgres_copy(template_url: str, prefix: str) -> Iterator[str]:
    """A new database made from the database at ``template_url`` (``CREATE DATABASE ... TEMPLATE``,
    so nothing may be connected to it), dropped afterwards: its URL."""
    template = make_url(template_url)
    admin = create_engine(
        template.set(database=make_url(_admin_url()).database), isolation_level="AUTOCOMMIT"
    )
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            create_test_database(conn, name, template=template.database)
        yield template.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class PostgresCopies:
    """Copies of one PostgreSQL database that does not change (``CREATE DATABASE ... TEMPLATE``),
    for tests that each change a copy of their own: the next copy is made, and the last one
    dropped, on a thread of their own while a test runs.

    Making a copy writes the whole database to the WAL, and dropping one makes the server take a
    checkpoint (PostgreSQL 15): about 0.5 s each per test on the loaded 2-core machine, which the
    test no longer waits for. Nothing may connect to the template while copies are made."""

    def __init__(self, template_url: str, prefix: str) -> None:
        self._template = make_url(template_url)
        self._prefix = prefix
        self._admin = create_engine(
            self._template.set(database=make_url(_admin_url()).database),
            isolation_level="AUTOCOMMIT",
            pool_size=1,
            pool_pre_ping=True,  # fault tests end connections to the server
        )
        # One thread, so copies are made and dropped in the order asked, one at a time.
        self._work = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{prefix}-copies")
        self._drops: list[Future] = []
        self._next = self._work.submit(self._create)

    @contextmanager
    def copy(self) -> Iterator[str]:
        """The URL of a copy of the template, dropped after use."""
        name = self._next.result()
        self._next = self._work.submit(self._create)
        try:
            yield self._template.set(database=name).render_as_string(hide_password=False)
        finally:
            self._drops.append(self._work.submit(self._drop, name))

    def close(self) -> None:
        """Drop every copy, the one made in advance too, and say if a drop failed."""
        try:
            self._drops.append(self._work.submit(self._drop, self._next.result()))
        finally:
            self._work.shutdown(wait=True)
            self._admin.dispose()
        for dropped in self._drops:
            dropped.result()

    def _create(self) -> str:
        name = f"{self._prefix}_{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as conn:
            create_test_database(conn, name, template=self._template.database)
        return name

    def _drop(self, name: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# The role the application connects as in production (README, "Row-level security"): no superuser,
# no BYPASSRLS, owner of nothing. Roles belong to the whole server, so every run shares this one;
# its grants belong to each scratch database and go with it.
APP_ROLE = "energy_app_test"


def as_app_role(url: str) -> str:
    """The URL of the PostgreSQL database at ``url`` (made by the suite's superuser) for
    ``APP_ROLE``, granted what ``energy-monitor db grant-app-role`` grants. Row-level security
    holds that role, where the superuser passes through it."""
    from energy_core.household_scope import grant_app_role

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE}
            ).first()
            if exists is None:
                try:
                    conn.exec_driver_sql(
                        f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB"
                    )
                except Exception as exc:  # noqa: BLE001 - another run created it meanwhile
                    if "already exists" not in str(exc):
                        raise
            grant_app_role(conn, APP_ROLE)
    finally:
        admin.dispose()
    return make_url(url).set(username=APP_ROLE, password=None).render_as_string(hide_password=False)


def superuser_url(database: str) -> str:
    """The suite's superuser on ``database`` of the test server: for what the application's role
    may not do (refuse connections, end other roles' sessions)."""
    return make_url(_admin_url()).set(database=database).render_as_string(hide_password=False)


def _admin_url() -> str:
    return normalize_database_url(os.environ.get("ENERGY_TEST_DATABASE_URL", DEFAULT_PG_URL))


# Every table the migrations made (whatever later migrations add) emptied and every sequence
# restarted, in one round trip. ``DELETE`` empties tables of a few rows several times faster than
# ``TRUNCATE``, which makes new files for every table and index. The foreign keys are not checked
# meanwhile (a superuser's ``session_replication_role``), since every table is emptied.
_EMPTY_EVERY_TABLE = """
DO $$
DECLARE
    name text;
BEGIN
    SET LOCAL session_replication_role = replica;
    FOR name IN
        SELECT relname FROM pg_class
        WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p')
          AND NOT relispartition AND relname <> 'alembic_version'
    LOOP
        EXECUTE 'DELETE FROM ' || quote_ident(name);
    END LOOP;
    FOR name IN SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() LOOP
        EXECUTE 'ALTER SEQUENCE ' || quote_ident(name) || ' RESTART';
    END LOOP;
END
$$
"""
_emptying_engines: dict[str, Engine] = {}


def empty_postgres_database(url: str) -> str:
    """Empty every table the migrations made in ``url`` and restart its sequences; the schema
    version stays. Returns ``url``.

    Every PostgreSQL test starts with this: its connection stays open between tests (checked
    before use, since fault tests kill every connection to the database), as a new one per test
    cost a server process and as much time as the emptying itself."""
    engine = _emptying_engines.get(url)
    if engine is None:
        engine = _emptying_engines[url] = make_engine(url, pool_size=1)
    with engine.begin() as conn:
        conn.exec_driver_sql(_EMPTY_EVERY_TABLE)
    return url


@contextmanager
def code_under_test_on(url: str) -> Iterator[None]:
    """Point ``get_settings()`` / ``get_engine()`` of the code under test at ``url``, with every
    other ``ENERGY_`` setting at its default (``ENERGY_TEST_*`` and the suite's bcrypt cost stay),
    and fresh caches."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENERGY_DATABASE_URL", url)
        for name in list(os.environ):
            if name.startswith("ENERGY_") and name not in SUITE_SETTINGS:
                if not name.startswith("ENERGY_TEST_"):
                    patch.delenv(name)
        _clear_caches()
        try:
            yield
        finally:
            db_module.get_engine().dispose()
            _clear_caches()


def _clear_caches() -> None:
    get_settings.cache_clear()
    db_module.get_engine.cache_clear()
    cache_module.get_cache.cache_clear()

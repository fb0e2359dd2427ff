"""The engine and transactions. Importing this module connects nowhere; ``get_engine()`` does."""

from __future__ import annotations

import logging
import select
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session

from energy_core.errors import CoreError, ErrorKind
from energy_core.household_scope import (
    act_for_household,
    act_for_system,
    works_across_households_by_default,
)
from energy_core.settings import get_settings, normalize_database_url

log = logging.getLogger(__name__)
T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _prepare_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001 - DBAPI types
        # Let SQLAlchemy own transactions (BEGIN IMMEDIATE below) instead of pysqlite's own.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        # Take the write lock up front: with several processes writing, a deferred transaction that
        # upgrades to a writer fails with SQLITE_BUSY instead of waiting for the busy timeout.
        if conn.get_execution_options().get("energy_read_only"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def _replace_connections_closed_while_idle(engine: Engine) -> None:
    """Hand out no pooled connection that the server closed while it sat idle (a failover, a
    restart, ``pg_terminate_backend``): the request that took it would fail.

    ``pool_pre_ping`` finds those with a round trip at every checkout, which is a large share of
    a small request. A server that ends a connection says so first (a FATAL message, then the
    end of the stream), so an idle connection with input waiting is the only suspect: only that
    one is pinged, and one whose ping fails is replaced before anyone uses it. An idle healthy
    connection has nothing to read, so this costs one ``select`` call per checkout."""

    @event.listens_for(engine, "connect")
    def _on_connect(_dbapi_conn, record):  # noqa: ANN001 - DBAPI types
        record.info["energy_fresh"] = True

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, record, _proxy):  # noqa: ANN001 - DBAPI types
        # A connection made for this checkout (the replacement included) is used as it is: the
        # pool gives up with an error that is no outage if a replacement is refused as well.
        if record.info.pop("energy_fresh", False):
            return
        if not dbapi_conn.closed:
            try:
                waiting, _, _ = select.select([dbapi_conn.fileno()], [], [], 0)
            except (OSError, ValueError):  # the socket is gone already
                waiting = [True]
            if not waiting:
                return
            try:
                engine.dialect.do_ping(dbapi_conn)
                return
            except Exception as exc:  # whatever it was, the connection is unusable
                reason = str(exc).strip().splitlines()[:1]
        else:
            reason = ["closed"]
        log.info(
            "replaced a pooled database connection that died while idle (%s)",
            reason[0] if reason else "no reason given",
        )
        raise DisconnectionError("the pooled connection died while idle")


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url`` with the settings every process of the monitor needs."""
    url = normalize_database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        _prepare_sqlite(engine)
        return engine
    from energy_core.sql.arrays import register_array_dumpers

    register_array_dumpers()
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, connect_args={"connect_timeout": 5}, **kwargs)
    _replace_connections_closed_while_idle(engine)
    return engine


def absolute_database_url(database_url: str, *, base: Path | None = None) -> str:
    """``database_url`` with a relative SQLite file made absolute against ``base`` (default: the
    working directory), so that processes started from elsewhere open the same file. Other URLs,
    and in-memory SQLite, come back as they are."""
    url = make_url(normalize_database_url(database_url))
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return database_url
    path = Path(url.database).expanduser()
    if path.is_absolute():
        return url.set(database=str(path)).render_as_string(hide_password=False)
    absolute = ((base or Path.cwd()) / path).resolve()
    return url.set(database=str(absolute)).render_as_string(hide_password=False)


def libpq_url(database_url: str) -> str:
    """The PostgreSQL URL ``database_url`` as libpq (``psycopg.connect``) takes it."""
    url = make_url(normalize_database_url(database_url)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@contextmanager
def session_scope(
    engine: Engine | None = None,
    *,
    read_only: bool = False,
    household: int | None = None,
    system: bool = False,
) -> Iterator[Session]:
    """One transaction: commits when the block ends, rolls back if it raises.

    ``read_only`` lets SQLite readers run beside a writer instead of queueing for the write lock.
    On PostgreSQL, row-level security shows the session only the rows of ``household`` (pinned:
    a library call for another household raises), or every household's with ``system``
    (``household_scope``); with neither, none until a library function says which household it
    works for.
    """
    bind = engine or get_engine()
    if read_only:
        bind = bind.execution_options(energy_read_only=True)
    with Session(bind, expire_on_commit=False) as session:
        if household is not None:
            act_for_household(session, household, pin=True)
        if system or (household is None and works_across_households_by_default(bind)):
            act_for_system(session)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# PostgreSQL's "deadlock detected" and "could not serialize": the server rolled the whole
# transaction back, so running it again from the start is safe and usually succeeds.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
TRANSACTION_ATTEMPTS = 3


def is_retryable(exc: BaseException) -> bool:
    """Whether ``exc`` is a transaction the server rolled back only to break a deadlock or a
    serialization conflict (nothing of it was written)."""
    cause = getattr(exc, "orig", exc)
    return getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES


def run_transaction(work: Callable[[], T], *, attempts: int = TRANSACTION_ATTEMPTS) -> T:
    """``work()`` (which opens and commits its own transaction), run again from the start when
    the server rolled it back to break a deadlock; any other error, or the last attempt's, is
    raised."""
    for attempt in range(1, attempts):
        try:
            return work()
        except Exception as exc:
            if not is_retryable(exc):
                raise
            log.info("transaction rolled back by the server (%s); attempt %d", exc, attempt + 1)
    return work()


class DatabaseUnavailable(CoreError, RuntimeError):
    """The database could not be reached or dropped the connection; nothing is known written."""

    kind = ErrorKind.unavailable
    code = "database_unavailable"


def is_sqlite(session_or_engine) -> bool:  # noqa: ANN001 - Session or Engine
    bind = (
        session_or_engine.get_bind()
        if isinstance(session_or_engine, Session)
        else session_or_engine
    )
    return bind.dialect.name == "sqlite"

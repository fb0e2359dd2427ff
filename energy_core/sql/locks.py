"""One worker at a time: the scheduler jobs' locks (a PostgreSQL advisory lock, a file lock
beside a SQLite database)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

# PostgreSQL advisory lock keys, one per scheduler job.
JOB_LOCK_KEYS = {"rollup": 7424001, "retention": 7424002}


@contextmanager
def job_lock(engine: Engine, job: str) -> Iterator[bool]:
    """Hold the lock of ``job`` for a whole run; yields False when another process holds it.

    PostgreSQL: a transaction-level advisory lock taken in a transaction of its own that stays
    open (idle, holding no snapshot) while the run commits its batches on other connections; if
    the process dies, its connection closes and the lock goes with it. SQLite: an exclusive
    ``flock`` on a file beside the database, released by the kernel the same way.
    """
    if engine.dialect.name == "sqlite":
        with scheduler_file_lock(str(engine.url), job=job) as got:
            yield got
        return
    with engine.connect() as holder:
        holder.begin()
        got = bool(
            holder.exec_driver_sql(
                f"SELECT pg_try_advisory_xact_lock({JOB_LOCK_KEYS[job]})"
            ).scalar()
        )
        try:
            yield got
        finally:
            holder.rollback()


@contextmanager
def scheduler_file_lock(database_url: str, *, job: str = "rollup") -> Iterator[bool]:
    """SQLite: an exclusive ``flock`` beside the database file; yields False when another has it."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        yield True
        return
    path = Path(url.database).expanduser().with_suffix(f".{job}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)

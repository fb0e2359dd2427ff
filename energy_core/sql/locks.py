"""One worker at a time: the scheduler jobs' locks (a PostgreSQL advisory lock, a file lock
beside a SQLite database); and the advisory locks writers of readings share."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

# PostgreSQL advisory lock keys, one per scheduler job.
JOB_LOCK_KEYS = {
    "rollup": 7424001,
    "retention": 7424002,
    "alerts": 7424003,
    "partitions": 7424004,
}


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


# Writers of readings and what they must not race with, on PostgreSQL (SQLite has one writer at a
# time). Two-key advisory locks: (class, object).
#   (WRITERS_OF_USER, user_id)  every transaction that writes a user's readings holds it shared
#       from before it looks up the devices it writes; deleting a device or a user takes it
#       exclusively, so it waits for the writers in flight and deletes what they wrote, and a
#       writer that comes after finds no device. (Readings have no foreign key, see migration
#       0020; one lock per transaction instead of a lock on every device row it writes for.)
#   (DIRTY_MARKS, 0)  the same writers hold it shared while they mark hours dirty with
#       ``ON CONFLICT DO NOTHING`` (no lock on a mark that is already there, so that writers of
#       the same devices never wait for each other); the rollup takes it exclusively, only while
#       it claims the marks it will recompute, so that every writer that found one of them
#       already there has committed before the rollup reads the readings.
WRITERS_OF_USER = 7424100
DIRTY_MARKS = 7424101


def lock_for_writing(conn: Connection, *, user_id: int) -> None:
    """Take the locks a writer of ``user_id``'s readings holds to the end of its transaction.
    Must come before the transaction looks up the devices it writes for (PostgreSQL; no-op on
    SQLite)."""
    if conn.dialect.name == "sqlite":
        return
    conn.exec_driver_sql(
        f"SELECT pg_advisory_xact_lock_shared({WRITERS_OF_USER}, %(user_id)s), "
        f"pg_advisory_xact_lock_shared({DIRTY_MARKS}, 0)",
        {"user_id": int(user_id)},
    )


def lock_out_writers(conn: Connection, *, user_id: int) -> None:
    """Wait for the transactions writing ``user_id``'s readings, and keep new ones out until the
    end of this transaction (deleting devices or the user)."""
    if conn.dialect.name == "sqlite":
        return
    conn.exec_driver_sql(
        f"SELECT pg_advisory_xact_lock({WRITERS_OF_USER}, %(user_id)s)", {"user_id": int(user_id)}
    )


# The longest the rollup waits for the writers in flight. New writers queue behind the waiting
# rollup meanwhile, so this bounds how long ingest can stall: a batch lasts a fraction of a
# second, but a long import holds its lock for as long as it runs, and then the rollup gives up
# until its next run instead.
HOLD_BACK_WAIT = "2s"


class WritersBusy(Exception):
    """The writers in flight did not finish within ``HOLD_BACK_WAIT``; the transaction is aborted
    and nothing was claimed."""


@contextmanager
def writers_held_back(
    conn: Connection, *, settings: dict[str, str] | None = None
) -> Iterator[None]:
    """PostgreSQL: wait for the writers that hold the dirty marks' lock shared, and hold new ones
    back for the duration of the block only, on a session lock (a transaction lock would hold
    them back until the end of the transaction). Raises WritersBusy after ``HOLD_BACK_WAIT``.
    ``settings`` are set for the rest of the transaction in the same round trip.

    Three round trips in all (the rollup runs every minute, and each one costs a busy machine
    milliseconds): the settings with the current lock timeout, the lock with the timeout put
    back, and the unlock."""
    pairs = [("lock_timeout", HOLD_BACK_WAIT), *(settings or {}).items()]
    setting = ", ".join(f"set_config('{name}', '{value}', true)" for name, value in pairs)
    previous = conn.exec_driver_sql(f"SELECT current_setting('lock_timeout'), {setting}").scalar()
    try:
        # Evaluated in order: the lock waits under the short timeout, then the timeout is restored.
        conn.exec_driver_sql(
            f"SELECT pg_advisory_lock({DIRTY_MARKS}, 0), set_config('lock_timeout', %(t)s, true)",
            {"t": previous},
        )
    except OperationalError as exc:
        # Imported here: on PostgreSQL the driver has loaded it already, and every process that
        # never reaches this (SQLite, `energy-monitor ask`) is spared its import.
        import psycopg

        if isinstance(exc.orig, psycopg.errors.LockNotAvailable):
            raise WritersBusy(str(exc.orig)) from exc
        raise
    try:
        yield
    except BaseException:
        # The transaction failed and cannot run the unlock; a session lock outlives a rollback,
        # so the connection is closed instead: that releases it.
        conn.invalidate()
        raise
    conn.exec_driver_sql(f"SELECT pg_advisory_unlock({DIRTY_MARKS}, 0)")

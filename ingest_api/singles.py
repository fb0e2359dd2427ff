"""Single readings posted at the same moment share one transaction (PostgreSQL only).

Thousands of devices that each post one reading per request would otherwise cost the database a
transaction, a commit and a round trip apiece, and the API a worker thread apiece. Here a request
hands its reading to the process's writer and awaits the outcome; the writer stores every reading
that is waiting in one statement on its own connection, and then answers each request. Under light
load a group is one reading and costs one round trip; under heavy load groups grow by themselves,
since readings gather while the previous group is being written. A request hears back only after
the commit, so a 2xx still means stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg

from energy_core.db import DatabaseUnavailable, libpq_url
from energy_core.household_scope import SYSTEM_SCOPE_OPTION
from energy_core.sql.ingest import (
    NOT_STORED,
    SingleOutcome,
    SingleReading,
    store_single_readings,
)

log = logging.getLogger(__name__)

# Readings written in one statement at most; the rest wait for the next one.
MAX_GROUP = 1_000
# Readings waiting beyond this many groups are refused with 503 at once (the device retries)
# rather than queued without bound behind a database that has slowed down.
MAX_WAITING_GROUPS = 20
CONNECT_TIMEOUT_S = 5
# A group takes milliseconds. One stuck behind a lock, or on a connection whose peer vanished
# without a word, must end in a 503 that devices retry, not hold every request of the process.
# The connection is this writer's alone and one statement stores the readings of several
# households (each reading under its key's household, checked in the statement): it works in
# system scope for row-level security (energy_core/household_scope.py) for its whole life.
CONNECTION_OPTIONS = {
    "options": f"-c statement_timeout=15000 -c lock_timeout=10000 {SYSTEM_SCOPE_OPTION}",
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


class SingleReadingWriter:
    """Stores single readings in groups on one connection of its own; see the module docstring.

    ``write`` answers a reading's outcome: stored (new or a duplicate), or NOT_STORED when its
    device is unknown or a rule about the device forbids it, which the caller explains through
    the usual path. It raises DatabaseUnavailable when the database cannot be reached or the
    connection broke (nothing is known written: the device retries, a duplicate is harmless).
    A group the database refuses for any other reason is not retried here: each of its readings
    is answered NOT_STORED, so that each takes the usual path on its own.
    """

    def __init__(self, database_url: str, *, default_gap_s: int, max_group: int = MAX_GROUP):
        self.conninfo = libpq_url(database_url)
        self.default_gap_s = default_gap_s
        self.max_group = max_group
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: list[tuple[SingleReading, asyncio.Future]] = []
        self._conn: psycopg.AsyncConnection | None = None
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self.readings = 0
        self.reconnects = 0

    async def write(self, reading: SingleReading) -> SingleOutcome:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._move_to(loop)
        if len(self._waiting) >= MAX_WAITING_GROUPS * self.max_group:
            raise DatabaseUnavailable("too many readings are waiting for the database")
        outcome = loop.create_future()
        self._waiting.append((reading, outcome))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="single-reading writer")
        self._wake.set()
        return await outcome

    def _move_to(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve from ``loop``: a server has one event loop for its life, but an app driven by a
        test client may see several in turn, and asyncio objects belong to the loop they ran on."""
        if self._conn is not None:
            self._conn.pgconn.finish()  # its loop is gone: close the socket without it
        self._loop, self._conn, self._task = loop, None, None
        self._waiting = []
        self._wake = asyncio.Event()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for _, outcome in self._waiting:
            if not outcome.done():
                outcome.set_exception(DatabaseUnavailable("the API is shutting down"))
        self._waiting.clear()
        await self._disconnect()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting:
                group = self._waiting[: self.max_group]
                del self._waiting[: self.max_group]
                await self._write_group(group)

    async def _write_group(self, group: list[tuple[SingleReading, asyncio.Future]]) -> None:
        try:
            answers = await self._store([reading for reading, _ in group])
        except asyncio.CancelledError:  # the API stopping mid-write: nobody hears "stored"
            self._answer(group, DatabaseUnavailable("the API stopped while writing"))
            raise
        self._answer(group, answers)

    async def _store(self, readings: list[SingleReading]) -> list[SingleOutcome] | Exception:
        """Each reading's outcome, or the error every one of them is answered with."""
        retried = False
        while True:
            reused = self._conn is not None
            try:
                conn = await self._connection()
                outcomes = await store_single_readings(
                    conn, readings, default_gap_s=self.default_gap_s
                )
            except (psycopg.errors.QueryCanceled, psycopg.errors.LockNotAvailable) as exc:
                log.warning("single-reading writer: the database is too slow: %s", exc)
                return DatabaseUnavailable(str(exc))
            except psycopg.Error as exc:
                if self._conn is not None and not (self._conn.broken or self._conn.closed):
                    # The connection is fine but the statement failed (a device deleted while
                    # its reading was on its way, a deadlock): each reading takes the usual path.
                    log.info("single-reading writer: group of %d refused (%s)", len(readings), exc)
                    return [NOT_STORED] * len(readings)
                await self._disconnect()
                if reused and not retried:
                    # A connection that died while idle (server restart, idle timeout): once more
                    # on a new one. Safe: a reading the first try did store counts as a duplicate.
                    self.reconnects += 1
                    retried = True
                    continue
                log.warning("single-reading writer: database unavailable: %s", exc)
                return DatabaseUnavailable(str(exc))
            except Exception as exc:  # a defect: the requests answer 500 instead of waiting forever
                log.exception("single-reading writer failed")
                return exc
            self.readings += len(readings)
            return outcomes

    @staticmethod
    def _answer(
        group: list[tuple[SingleReading, asyncio.Future]],
        answers: list[SingleOutcome] | BaseException,
    ) -> None:
        for i, (_, future) in enumerate(group):
            if future.done():  # the client went away; its reading may still have been stored
                continue
            if isinstance(answers, BaseException):
                future.set_exception(answers)
            else:
                future.set_result(answers[i])

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self.conninfo,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_S,
                **CONNECTION_OPTIONS,
            )
        return self._conn

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                await conn.close()

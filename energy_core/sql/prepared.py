"""A statement prepared once per connection and then run through libpq itself, for the busiest
statement of the API (a group of single readings, ``sql.ingest.store_single_readings``).

Through psycopg's cursor, each run of that statement cost about 300 µs more CPU than this
(adapting the parameters, the cursor's prepared-statement bookkeeping, loading the rows): more
than parsing, authorising and answering the several requests a group holds. The statement's
parameters are already in PostgreSQL's binary format (``sql.arrays``) and its few result columns
are read as they come, so the connection's ``pgconn`` (psycopg's documented way down to libpq)
runs it directly: send the parameters, wait for the socket on the event loop, read the result.
The connection must be psycopg's asyncio connection (libpq in non-blocking mode), in autocommit,
and used by one task at a time.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence

import psycopg
from psycopg import pq

# The connections each statement was prepared on (a new connection prepares it again).
_PREPARED: dict[str, weakref.WeakSet] = {}


async def run_prepared(
    conn: psycopg.AsyncConnection,
    name: str,
    prepare: str,
    params: Sequence[bytes | None],
) -> pq.PGresult:
    """The rows of the statement ``name`` (prepared by ``prepare``, SQL's ``PREPARE name (...)
    AS ...``, the first time this connection runs it) for ``params`` in binary, in binary.

    Raises the psycopg error PostgreSQL answered (the connection stays usable), or
    psycopg.OperationalError when the connection broke (``conn.broken``)."""
    prepared_on = _PREPARED.setdefault(name, weakref.WeakSet())
    if conn not in prepared_on:
        await conn.execute(prepare)  # through psycopg: the statement is seen as any other
        prepared_on.add(conn)
    pgconn = conn.pgconn
    pgconn.send_query_prepared(
        name.encode(),
        params,
        param_formats=[pq.Format.BINARY] * len(params),
        result_format=pq.Format.BINARY,
    )
    results = await _results(pgconn)
    if not results:
        raise psycopg.OperationalError("the server answered nothing")
    for result in results:
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise _error(result)
    return results[0]


async def _results(pgconn: pq.PGconn) -> list[pq.PGresult]:
    """Flush what was sent, then read every result until libpq has none left, waiting for the
    socket on the event loop as libpq asks (see libpq's "Asynchronous Command Processing")."""
    loop = asyncio.get_running_loop()
    while pgconn.flush():  # the socket took part of the message: send the rest when writable
        await _ready(loop, pgconn.socket, write=True)
        pgconn.consume_input()  # the server may answer (an error) before it has read it all
    results = []
    while True:
        while pgconn.is_busy():
            await _ready(loop, pgconn.socket, write=False)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:
            return results
        results.append(result)


async def _ready(loop: asyncio.AbstractEventLoop, fd: int, *, write: bool) -> None:
    """Until ``fd`` can be read (or written, with ``write``; then also when it can be read)."""
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    if write:
        loop.add_writer(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)
        if write:
            loop.remove_writer(fd)


def _error(result: pq.PGresult) -> psycopg.Error:
    """The psycopg error of a failed result, of the class psycopg would raise for it."""
    state = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
    try:
        kind = psycopg.errors.lookup(state)
    except KeyError:
        kind = psycopg.DatabaseError
    return kind(result.get_error_message(), info=result)

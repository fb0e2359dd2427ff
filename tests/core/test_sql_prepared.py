"""A statement run through libpq directly (``sql.prepared``) answers what psycopg's cursor would:
its rows, psycopg's error for a statement that fails (the connection still usable), and
OperationalError on a connection that broke. PostgreSQL only: libpq is PostgreSQL's."""

from __future__ import annotations

import asyncio
import socket

import psycopg
import pytest

from energy_core.db import libpq_url
from energy_core.sql import prepared
from energy_core.sql.arrays import Int4Array, binary_array, text_array
from energy_core.sql.prepared import run_prepared

NAME = "energy_test_statement"
PREPARE = (
    f"PREPARE {NAME} (int4[], text[]) AS "
    "SELECT 100 / x, length(name) FROM unnest($1::int4[], $2::text[]) AS u(x, name)"
)


def run(postgres_url: str, test) -> object:  # noqa: ANN001 - an async function of a connection
    async def main() -> object:
        async with await psycopg.AsyncConnection.connect(
            libpq_url(postgres_url), autocommit=True
        ) as conn:
            return await test(conn)

    return asyncio.run(main())


def rows(result) -> list[tuple[int, int]]:  # noqa: ANN001
    return [
        tuple(int.from_bytes(result.get_value(r, c), "big", signed=True) for c in range(2))
        for r in range(result.ntuples)
    ]


def params(numbers: list[int], names: list[str]) -> list[bytes]:
    return [binary_array(Int4Array, numbers), text_array(names)]


def test_the_statement_is_prepared_once_and_answers_in_binary(postgres_url):
    async def test(conn: psycopg.AsyncConnection) -> tuple:
        first = rows(await run_prepared(conn, NAME, PREPARE, params([1, -4], ["a", "Küche"])))
        second = rows(await run_prepared(conn, NAME, PREPARE, params([50], ["xyz"])))
        prepared = await (
            await conn.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE name = %s", [NAME]
            )
        ).fetchone()
        return first, second, prepared[0]

    assert run(postgres_url, test) == ([(100, 1), (-25, 5)], [(2, 3)], 1)


def test_a_failed_statement_raises_psycopgs_error_and_leaves_the_connection_usable(postgres_url):
    async def test(conn: psycopg.AsyncConnection) -> list:
        with pytest.raises(psycopg.errors.DivisionByZero) as raised:
            await run_prepared(conn, NAME, PREPARE, params([0], ["a"]))
        assert raised.value.sqlstate == "22012" and "division by zero" in str(raised.value)
        return rows(await run_prepared(conn, NAME, PREPARE, params([10], ["ab"])))

    assert run(postgres_url, test) == [(10, 2)]


def test_parameters_larger_than_the_socket_takes_at_once_are_sent_whole(postgres_url, monkeypatch):
    names = [f"{k:06d}" + "x" * 250 for k in range(4_000)]  # about a megabyte
    waits_to_send = []
    ready = prepared._ready

    async def counted(loop, fd: int, *, write: bool) -> None:  # noqa: ANN001
        waits_to_send.append(write)
        await ready(loop, fd, write=write)

    monkeypatch.setattr(prepared, "_ready", counted)

    async def test(conn: psycopg.AsyncConnection) -> list:
        # A small send buffer: libpq sends the parameters in pieces, as the socket drains.
        with socket.fromfd(conn.pgconn.socket, socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        return rows(await run_prepared(conn, NAME, PREPARE, params([1] * len(names), names)))

    assert run(postgres_url, test) == [(100, 256)] * len(names)
    assert any(waits_to_send)


def test_a_connection_that_broke_raises_operational_error(postgres_url):
    async def test(conn: psycopg.AsyncConnection) -> bool:
        await run_prepared(conn, NAME, PREPARE, params([1], ["a"]))
        with psycopg.connect(libpq_url(postgres_url), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", [conn.info.backend_pid])
        with pytest.raises(psycopg.OperationalError):
            await run_prepared(conn, NAME, PREPARE, params([1], ["a"]))
        return conn.broken

    assert run(postgres_url, test)

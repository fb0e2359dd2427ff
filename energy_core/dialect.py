"""Everything that differs between PostgreSQL and SQLite: bulk insert, upserts, time arithmetic in
SQL, and the scheduler lock. Queries elsewhere stay dialect-free by calling these."""

from __future__ import annotations

import fcntl
import logging
import os
import struct
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, repeat
from pathlib import Path

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format
from sqlalchemy import ARRAY, Connection, DateTime, Engine, Integer, bindparam, text
from sqlalchemy.engine import make_url
from sqlalchemy.sql.elements import TextClause

from energy_core.types import UTCDateTime, to_epoch_us

log = logging.getLogger(__name__)

HOUR_US = 3_600_000_000


def _is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


# --- bulk arrays for PostgreSQL ---------------------------------------------------------------
#
# psycopg encodes a list element by element in Python (about 1 ms per 1,000 numbers, a third of
# the API's CPU per batch); these build PostgreSQL's binary array format with one struct call.


class _BinaryArray(bytes):
    """A one-dimensional PostgreSQL array already in binary wire format."""


class Int4Array(_BinaryArray):
    pass


class Int8Array(_BinaryArray):
    pass


class Float8Array(_BinaryArray):
    pass


_ARRAY_HEADER = struct.Struct(">iiIii")  # ndim, flags (no nulls), element oid, length, lower bound
# (array type, element oid, struct code, element size) for each kind of array.
_ARRAY_KINDS = {
    Int4Array: (1007, 23, "i", 4),
    Int8Array: (1016, 20, "q", 8),
    Float8Array: (1022, 701, "d", 8),
}


def _binary_array(kind: type[_BinaryArray], values: Sequence) -> _BinaryArray:
    _, element_oid, code, size = _ARRAY_KINDS[kind]
    n = len(values)
    if not n:
        return kind(struct.pack(">iiI", 0, 0, element_oid))
    items = struct.pack(
        f">{('i' + code) * n}", *chain.from_iterable(zip(repeat(size, n), values, strict=True))
    )
    return kind(_ARRAY_HEADER.pack(1, 0, element_oid, n, 1) + items)


def _register_array_dumpers() -> None:
    for kind, (array_oid, _, _, _) in _ARRAY_KINDS.items():
        dumper = type(
            f"{kind.__name__}Dumper",
            (Dumper,),
            {"format": Format.BINARY, "oid": array_oid, "dump": lambda self, obj: bytes(obj)},
        )
        psycopg.adapters.register_dumper(kind, dumper)


_register_array_dumpers()


def reading_ts_us_sql(conn: Connection) -> str:
    """SQL for a reading's ``ts`` as integer microseconds since the epoch: SQLite stores it that
    way; on PostgreSQL float8 ``date_part`` is cheaper than numeric ``extract``."""
    return "ts" if _is_sqlite(conn) else "CAST(date_part('epoch', ts) * 1000000 AS int8)"


def find_devices(conn: Connection, *, user_id: int, device_ids: Sequence[str]) -> list[tuple]:
    """``(id, device_id, is_active, bidirectional, max_gap_s)`` of the user's devices among
    ``device_ids``; one statement whatever their number (an expanding IN of hundreds of
    parameters is re-parsed by the driver on every call)."""
    if not device_ids:
        return []
    columns = "id, device_id, is_active, bidirectional, max_gap_s"
    if _is_sqlite(conn):
        rows = []
        cur = conn.connection.driver_connection.cursor()
        for i in range(0, len(device_ids), 500):  # SQLite's bound on variables per statement
            chunk = list(device_ids[i : i + 500])
            cur.execute(
                f"SELECT {columns} FROM devices WHERE user_id = ? "
                f"AND device_id IN ({', '.join('?' * len(chunk))})",
                [user_id, *chunk],
            )
            rows += [(r[0], r[1], bool(r[2]), bool(r[3]), r[4]) for r in cur.fetchall()]
        return rows
    cur = conn.connection.driver_connection.cursor()
    cur.execute(
        f"SELECT {columns} FROM devices WHERE user_id = %s AND device_id = ANY(%s::text[])",
        (user_id, list(device_ids)),
    )
    return cur.fetchall()


# An instant in epoch microseconds as PostgreSQL timestamptz, exactly (no float seconds).
_PG_INSTANT = "(to_timestamp({0} / 1000000) + ({0} %% 1000000) * interval '1 microsecond')"

_PG_STORE_READINGS = f"""
WITH new AS (
    INSERT INTO readings (user_id, device_pk, ts, power_w)
    SELECT %(user_id)b, d, {_PG_INSTANT.format("t")}, p
    FROM unnest(%(devices)b::int4[], %(stamps)b::int8[], %(powers)b::float8[]) AS x(d, t, p)
    ORDER BY d, t
    ON CONFLICT DO NOTHING
    RETURNING 1
),
marked AS (
    INSERT INTO dirty_hours (user_id, device_pk, hour_start, version)
    SELECT %(user_id)b, d, to_timestamp(h / 1000000), 1
    FROM unnest(%(dirty_devices)b::int4[], %(dirty_hours)b::int8[]) AS y(d, h)
    WHERE EXISTS (SELECT 1 FROM new)
    ORDER BY d, h
    ON CONFLICT (user_id, device_pk, hour_start) DO UPDATE SET version = dirty_hours.version + 1
),
seen AS (
    UPDATE devices AS dev SET last_seen_at = z.at
    FROM (
        SELECT d, {_PG_INSTANT.format("t")} AS at
        FROM unnest(%(seen_devices)b::int4[], %(seen_at)b::int8[]) AS z(d, t)
    ) AS z
    WHERE dev.id = z.d AND dev.user_id = %(user_id)b
      AND (dev.last_seen_at IS NULL OR dev.last_seen_at < z.at)
      AND EXISTS (SELECT 1 FROM new)
)
SELECT count(*) FROM new
"""


# Single readings that concurrent requests posted, stored in one statement: each reading's device
# is looked up among its own user's devices (by device_id, or by a device key's primary key, 0 for
# none); a reading whose device is missing, deactivated, or not bidirectional for negative watts is
# left out and reported, so the caller can explain it the usual way. The first of the same (device,
# instant) in the group is inserted; the hours [t, t + max_gap] meets of every new reading are
# marked dirty, as ``_dirty_hours`` in ingest.py does for a batch, and last-seen times move forward.
_PG_STORE_SINGLES = f"""
WITH input AS (
    SELECT * FROM unnest(
        %(items)b::int4[], %(users)b::int4[], %(names)s::text[],
        %(keyed)b::int4[], %(stamps)b::int8[], %(powers)b::float8[]
    ) AS x(i, u, name, pk, t, p)
),
dev AS (
    SELECT input.*, d.id, d.device_id, d.is_active, d.bidirectional,
           coalesce(d.max_gap_s, %(default_gap_s)s::int4)::int8 AS gap_s
    FROM input
    CROSS JOIN LATERAL (
        SELECT id, device_id, is_active, bidirectional, max_gap_s FROM devices
        WHERE input.pk = 0 AND user_id = input.u AND device_id = input.name
        UNION ALL
        SELECT id, device_id, is_active, bidirectional, max_gap_s FROM devices
        WHERE input.pk <> 0 AND id = input.pk AND user_id = input.u
          AND (input.name IS NULL OR device_id = input.name)
    ) AS d
),
ok AS (
    SELECT dev.*, {_PG_INSTANT.format("t")} AS at, min(i) OVER (PARTITION BY id, t) AS first_i
    FROM dev
    WHERE is_active AND (p >= 0 OR bidirectional)
),
new AS (
    INSERT INTO readings (user_id, device_pk, ts, power_w)
    SELECT u, id, at, p FROM ok WHERE i = first_i
    ORDER BY id, t
    ON CONFLICT DO NOTHING
    RETURNING device_pk, ts
),
fresh AS (
    SELECT ok.* FROM ok JOIN new ON new.device_pk = ok.id AND new.ts = ok.at
    WHERE ok.i = ok.first_i
),
marked AS (
    INSERT INTO dirty_hours (user_id, device_pk, hour_start, version)
    SELECT DISTINCT u, id, to_timestamp(h * 3600), 1
    FROM fresh, generate_series(t / {HOUR_US}, (t + gap_s * 1000000) / {HOUR_US}) AS h
    ORDER BY 2, 3
    ON CONFLICT (user_id, device_pk, hour_start) DO UPDATE SET version = dirty_hours.version + 1
),
seen AS (
    UPDATE devices AS d SET last_seen_at = s.at
    FROM (SELECT id, max(at) AS at FROM fresh GROUP BY id ORDER BY id) AS s
    WHERE d.id = s.id AND (d.last_seen_at IS NULL OR d.last_seen_at < s.at)
)
SELECT i, device_id, i IN (SELECT i FROM ok) AS allowed, i IN (SELECT i FROM fresh) AS inserted
FROM dev
"""


@dataclass(frozen=True)
class SingleReading:
    """One reading of a single-reading request: its user, the device string it named (None: the
    key's device), the device key's device (None for a household key), instant and watts."""

    user_id: int
    device_id: str | None
    device_pk: int | None
    ts_us: int
    power_w: float


@dataclass(frozen=True)
class SingleOutcome:
    """What happened to a ``SingleReading``: stored (new, or a duplicate), or not written at all
    because its device is unknown or a rule about the device forbids it (``stored`` False)."""

    stored: bool
    inserted: bool = False
    device_id: str | None = None


NOT_STORED = SingleOutcome(stored=False)


async def store_single_readings(
    conn: psycopg.AsyncConnection, readings: Sequence[SingleReading], *, default_gap_s: int
) -> list[SingleOutcome]:
    """Store ``readings`` on PostgreSQL in one statement (one transaction, one round trip in
    autocommit), reporting each one's outcome in order. The caller has checked every rule that
    needs no device; those that need the device are checked here."""
    params = {
        "items": _binary_array(Int4Array, range(len(readings))),
        "users": _binary_array(Int4Array, [r.user_id for r in readings]),
        "names": [r.device_id for r in readings],
        "keyed": _binary_array(Int4Array, [r.device_pk or 0 for r in readings]),
        "stamps": _binary_array(Int8Array, [r.ts_us for r in readings]),
        "powers": _binary_array(Float8Array, [r.power_w for r in readings]),
        "default_gap_s": default_gap_s,
    }
    outcomes = [NOT_STORED] * len(readings)
    async with conn.cursor() as cur:
        await cur.execute(_PG_STORE_SINGLES, params)
        for i, device_id, allowed, inserted in await cur.fetchall():
            if allowed:
                outcomes[i] = SingleOutcome(stored=True, inserted=inserted, device_id=device_id)
    return outcomes


def insert_readings(
    conn: Connection,
    *,
    user_id: int,
    device_pks: Sequence[int],
    ts_us: Sequence[int],
    power_w: Sequence[float],
    dirty_hours: Sequence[tuple[int, int]] = (),
    last_seen: Mapping[int, int] | None = None,
) -> int:
    """Insert readings of one user given as columns (instants in epoch microseconds, UTC),
    skipping (device, instant) pairs already stored; the pairs must be distinct within the call.
    Returns how many rows were new. The first stored value of a (device, instant) wins.

    If any row was new, also marks ``dirty_hours`` ((device_pk, hour start µs), see
    ``mark_hours_dirty``) for recomputation and moves each device of ``last_seen``
    ({device_pk: µs}) forward to that instant, never back.
    """
    if not ts_us:
        return 0
    hours = sorted(set(dirty_hours))
    seen = sorted((last_seen or {}).items())
    cur = conn.connection.driver_connection.cursor()
    if _is_sqlite(conn):
        cur.executemany(
            "INSERT OR IGNORE INTO readings (user_id, device_pk, ts, power_w) VALUES (?, ?, ?, ?)",
            [(user_id, d, t, p) for d, t, p in zip(device_pks, ts_us, power_w, strict=True)],
        )
        inserted = cur.rowcount
        if inserted:
            cur.executemany(
                "INSERT INTO dirty_hours (user_id, device_pk, hour_start, version) "
                "VALUES (?, ?, ?, 1) ON CONFLICT (user_id, device_pk, hour_start) "
                "DO UPDATE SET version = dirty_hours.version + 1",
                [(user_id, d, h) for d, h in hours],
            )
            cur.executemany(
                "UPDATE devices SET last_seen_at = ? WHERE id = ? AND user_id = ? "
                "AND (last_seen_at IS NULL OR last_seen_at < ?)",
                [(t, d, user_id, t) for d, t in seen],
            )
        return inserted
    # One statement, one round trip, whatever the batch size: binary arrays unnested into the
    # insert (measured against COPY into a staging table and a merge, see bench/ingest.py), the
    # dirty marks and the last-seen times, the last two only if a row was new. Everything is
    # written in (device, instant) order so that two batches that overlap wait for each other
    # instead of deadlocking.
    cur.execute(
        _PG_STORE_READINGS,
        {
            "user_id": user_id,
            "devices": _binary_array(Int4Array, device_pks),
            "stamps": _binary_array(Int8Array, ts_us),
            "powers": _binary_array(Float8Array, power_w),
            "dirty_devices": _binary_array(Int4Array, [d for d, _ in hours]),
            "dirty_hours": _binary_array(Int8Array, [h for _, h in hours]),
            "seen_devices": _binary_array(Int4Array, [d for d, _ in seen]),
            "seen_at": _binary_array(Int8Array, [t for _, t in seen]),
        },
    )
    return cur.fetchone()[0]


def mark_hours_dirty(conn: Connection, rows: Sequence[tuple[int, int, datetime]]) -> None:
    """Mark ``(user_id, device_pk, hour_start)`` for recomputation; an existing mark gets a new
    version so that a job run that read the old one will not clear it."""
    if not rows:
        return
    # Fixed order: writers that mark the same hours wait for each other instead of deadlocking.
    rows = sorted(set(rows), key=lambda r: (r[0], r[1], r[2]))
    cur = conn.connection.driver_connection.cursor()
    if _is_sqlite(conn):
        cur.executemany(
            "INSERT INTO dirty_hours (user_id, device_pk, hour_start, version) VALUES (?, ?, ?, 1) "
            "ON CONFLICT (user_id, device_pk, hour_start) "
            "DO UPDATE SET version = dirty_hours.version + 1",
            [(u, d, to_epoch_us(h)) for u, d, h in rows],
        )
        return
    users, devices, hours = zip(*rows, strict=True)
    cur.execute(
        "INSERT INTO dirty_hours (user_id, device_pk, hour_start, version) "
        "SELECT u, d, h, 1 FROM unnest(%b::int4[], %b::int4[], %b::timestamptz[]) AS x(u, d, h) "
        "ON CONFLICT (user_id, device_pk, hour_start) "
        "DO UPDATE SET version = dirty_hours.version + 1",
        (list(users), list(devices), list(hours)),
    )


# --- the rollup ---------------------------------------------------------------------------------
#
# Both dialects compute the same thing in the same shape (DESIGN.md section 3):
#   batch   the dirty marks up to the cutoff hour, read once so the marks cleared are exactly
#           the marks computed;
#   runs    consecutive dirty hours of a device, each read with one index range scan over
#           [first hour - max_gap, last hour + 1 h): readings before the run can carry into it;
#   held    each reading with the instant its power stops counting: the next reading, t + max_gap
#           or the end of the run, whichever is first (a next reading beyond the run would be
#           clipped at its end anyway, so looking only inside the run is exact);
#   own     per hour, the part of each hold inside the reading's own hour, and the one reading
#           whose hold runs past the end of the hour (only the last one of the hour can);
#   carry   that overhang spread over the following hours, which may have no readings at all.
# All time arithmetic is in integer microseconds, so holds and coverage are exact. Energy is a
# float sum of power x microseconds; the pieces of one hour are always added in time order (the
# order of the index scan) plus at most one carried-in piece, so an incremental run and a full
# rebuild add the same numbers in the same order and store bit-identical rows.

# The last line of both rollup statements: a recomputed hour replaces what was stored.
_UPSERT_AGGREGATE = """ON CONFLICT (user_id, device_pk, hour_start) DO UPDATE SET
    energy_wh = excluded.energy_wh, covered_s = excluded.covered_s,
    avg_watts = excluded.avg_watts, min_watts = excluded.min_watts,
    max_watts = excluded.max_watts, sample_count = excluded.sample_count,
    computed_at = excluded.computed_at"""

_PG_ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"

# PostgreSQL: each instant is turned into integer microseconds once (date_part is a float8
# function; extract() would be numeric and several times slower), then the arithmetic is the
# same as on SQLite.
_PG_ROLLUP = f"""
WITH batch AS MATERIALIZED (
    SELECT user_id, device_pk, hour_start, version FROM dirty_hours
    WHERE hour_start <= :cutoff AND device_pk % :shards = :shard
),
runs AS MATERIALIZED (
    SELECT user_id, device_pk, lo - make_interval(secs => gap_us / 1000000) AS scan_from, hi,
           gap_us, CAST(date_part('epoch', lo) AS int8) * 1000000 AS lo_us,
           CAST(date_part('epoch', hi) AS int8) * 1000000 AS hi_us
    FROM (
        SELECT i.user_id, i.device_pk, min(i.hour_start) AS lo,
               max(i.hour_start) + interval '1 hour' AS hi,
               CAST(coalesce(min(dev.max_gap_s), :default_gap_s) AS int8) * 1000000 AS gap_us
        FROM (
            SELECT user_id, device_pk, hour_start,
                   hour_start - row_number() OVER (PARTITION BY user_id, device_pk
                                                   ORDER BY hour_start) * interval '1 hour'
                   AS island
            FROM batch
        ) i
        JOIN devices dev ON dev.id = i.device_pk
        GROUP BY i.user_id, i.device_pk, i.island
    ) g
),
held AS (
    SELECT ru.user_id, ru.device_pk, ru.lo_us, s.power_w, s.t_us,
           s.t_us - s.t_us % 3600000000 AS h0,
           least(s.next_us, s.t_us + ru.gap_us, ru.hi_us) AS until
    FROM runs ru
    CROSS JOIN LATERAL (
        -- Inside the lateral the index scan is already in ts order: the window needs no sort.
        SELECT q.power_w, q.t_us, lead(q.t_us) OVER (ORDER BY q.ts) AS next_us
        FROM (
            SELECT r.ts, r.power_w, CAST(date_part('epoch', r.ts) * 1000000 AS int8) AS t_us
            FROM readings r
            WHERE r.user_id = ru.user_id AND r.device_pk = ru.device_pk
              AND r.ts >= ru.scan_from AND r.ts < ru.hi
            OFFSET 0
        ) q
    ) s
),
own AS (
    SELECT user_id, device_pk, lo_us, h0,
           sum(power_w * (least(until, h0 + 3600000000) - t_us)) AS energy,
           sum(least(until, h0 + 3600000000) - t_us) AS covered,
           min(power_w) AS min_w, max(power_w) AS max_w, count(*) AS samples,
           max(until) AS carry_until,
           max(CASE WHEN until > h0 + 3600000000 THEN power_w END) AS carry_w
    FROM held
    GROUP BY user_id, device_pk, lo_us, h0
),
pieces AS (
    SELECT user_id, device_pk, lo_us, h0 AS h, energy, covered, min_w, max_w, samples
    FROM own
    UNION ALL
    SELECT user_id, device_pk, lo_us, h,
           carry_w * (least(carry_until, h + 3600000000) - h),
           least(carry_until, h + 3600000000) - h, NULL, NULL, 0
    FROM (
        SELECT o.user_id, o.device_pk, o.lo_us, o.carry_until, o.carry_w,
               o.h0 + k * 3600000000 AS h
        FROM own o
        CROSS JOIN LATERAL generate_series(1, (o.carry_until - 1 - o.h0) / 3600000000) AS k
        WHERE o.carry_until > o.h0 + 3600000000
    ) c
),
hours AS (
    SELECT user_id, device_pk, h, sum(energy) AS energy_uws,
           CAST(sum(covered) AS float8) AS covered_us,
           min(min_w) AS min_w, max(max_w) AS max_w, sum(samples) AS samples
    FROM pieces
    WHERE h >= lo_us
    GROUP BY user_id, device_pk, h
),
upserted AS (
    INSERT INTO hourly_aggregates (user_id, device_pk, hour_start, energy_wh, covered_s,
                                   avg_watts, min_watts, max_watts, sample_count, computed_at)
    SELECT user_id, device_pk, to_timestamp(h / 1000000), energy_uws / 3600000000.0,
           covered_us / 1000000.0,
           CASE WHEN covered_us > 0 THEN energy_uws / covered_us END, min_w, max_w, samples,
           :computed_at
    FROM hours
    WHERE covered_us > 0 OR samples > 0
    {_UPSERT_AGGREGATE}
    RETURNING 1
),
cleared AS (
    -- Same snapshot as the readings above; a mark re-versioned since then stays for the next run.
    DELETE FROM dirty_hours d
    USING batch b
    WHERE d.user_id = b.user_id AND d.device_pk = b.device_pk AND d.hour_start = b.hour_start
      AND d.version = b.version
    RETURNING 1
)
SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM upserted), (SELECT count(*) FROM cleared)
"""

# SQLite: instants are integer microseconds, so hours are plain integer arithmetic.
_SQLITE_ROLLUP = f"""
WITH RECURSIVE batch AS (
    SELECT user_id, device_pk, hour_start FROM dirty_hours WHERE hour_start <= :cutoff
),
runs AS (
    SELECT i.user_id, i.device_pk, min(i.hour_start) AS lo, max(i.hour_start) + 3600000000 AS hi,
           CAST(coalesce(min(dev.max_gap_s), :default_gap_s) AS INTEGER) * 1000000 AS gap
    FROM (
        SELECT user_id, device_pk, hour_start,
               hour_start - row_number() OVER (PARTITION BY user_id, device_pk
                                               ORDER BY hour_start) * 3600000000 AS island
        FROM batch
    ) i
    JOIN devices dev ON dev.id = i.device_pk
    GROUP BY i.user_id, i.device_pk, i.island
),
held AS (
    SELECT user_id, device_pk, lo, ts, power_w, ts - ts % 3600000000 AS h0,
           min(coalesce(next_ts, ts + gap), ts + gap, hi) AS until
    FROM (
        SELECT ru.user_id, ru.device_pk, ru.lo, ru.hi, ru.gap, r.ts, r.power_w,
               lead(r.ts) OVER (PARTITION BY ru.user_id, ru.device_pk, ru.lo
                                ORDER BY r.ts) AS next_ts
        FROM runs ru
        JOIN readings r
          ON r.user_id = ru.user_id AND r.device_pk = ru.device_pk
         AND r.ts >= ru.lo - ru.gap AND r.ts < ru.hi
    )
),
own AS (
    SELECT user_id, device_pk, lo, h0,
           sum(power_w * (min(until, h0 + 3600000000) - ts)) AS energy,
           sum(min(until, h0 + 3600000000) - ts) AS covered,
           min(power_w) AS min_w, max(power_w) AS max_w, count(*) AS samples,
           max(until) AS carry_until,
           max(CASE WHEN until > h0 + 3600000000 THEN power_w END) AS carry_w
    FROM held
    GROUP BY user_id, device_pk, lo, h0
),
carry (user_id, device_pk, lo, h, carry_until, carry_w) AS (
    SELECT user_id, device_pk, lo, h0 + 3600000000, carry_until, carry_w
    FROM own WHERE carry_until > h0 + 3600000000
    UNION ALL
    SELECT user_id, device_pk, lo, h + 3600000000, carry_until, carry_w
    FROM carry WHERE carry_until > h + 3600000000
),
pieces AS (
    SELECT user_id, device_pk, lo, h0 AS hour_start, energy, covered, min_w, max_w, samples
    FROM own
    UNION ALL
    SELECT user_id, device_pk, lo, h,
           carry_w * (min(carry_until, h + 3600000000) - h),
           min(carry_until, h + 3600000000) - h, NULL, NULL, 0
    FROM carry
),
hours AS (
    SELECT user_id, device_pk, hour_start, sum(energy) AS energy_uws, sum(covered) AS covered_us,
           min(min_w) AS min_w, max(max_w) AS max_w, sum(samples) AS samples
    FROM pieces
    WHERE hour_start >= lo
    GROUP BY user_id, device_pk, hour_start
)
INSERT INTO hourly_aggregates (user_id, device_pk, hour_start, energy_wh, covered_s, avg_watts,
                               min_watts, max_watts, sample_count, computed_at)
SELECT user_id, device_pk, hour_start, energy_uws / 3600000000.0, covered_us / 1000000.0,
       CASE WHEN covered_us > 0 THEN CAST(energy_uws AS REAL) / covered_us END,
       min_w, max_w, samples, :computed_at
FROM hours
WHERE covered_us > 0 OR samples > 0
{_UPSERT_AGGREGATE}
"""


@dataclass
class BatchResult:
    hours: int
    rows_written: int


def recompute_dirty_hours(
    conn: Connection,
    *,
    cutoff: datetime,
    default_gap_s: int,
    computed_at: datetime,
    shard: tuple[int, int] = (0, 1),
) -> BatchResult:
    """Recompute every dirty hour up to ``cutoff`` and clear exactly the marks read, in the
    caller's transaction. The caller holds the rollup lock. ``shard=(k, n)`` takes only the
    devices with ``device_pk % n == k`` (PostgreSQL), so that n connections can share a backlog
    without touching the same rows."""
    params = {
        "cutoff": cutoff,
        "default_gap_s": default_gap_s,
        "computed_at": computed_at,
        "shard": shard[0],
        "shards": shard[1],
    }
    binds = (
        bindparam("cutoff", type_=UTCDateTime()),
        bindparam("computed_at", type_=UTCDateTime()),
    )
    if _is_sqlite(conn):
        # BEGIN IMMEDIATE holds the write lock: nothing can mark an hour between these statements.
        conn.execute(text(_SQLITE_ROLLUP).bindparams(*binds), params)
        # pysqlite reports no rowcount for a statement that starts with WITH.
        written = conn.exec_driver_sql("SELECT changes()").scalar()
        cleared = conn.execute(
            text("DELETE FROM dirty_hours WHERE hour_start <= :cutoff").bindparams(binds[0]),
            {"cutoff": cutoff},
        ).rowcount
        return BatchResult(hours=cleared, rows_written=written)
    # JIT compilation costs more than it saves on a statement that runs every minute.
    conn.exec_driver_sql("SET LOCAL jit = off")
    batch, written, _cleared = conn.execute(text(_PG_ROLLUP).bindparams(*binds), params).one()
    return BatchResult(hours=batch, rows_written=written)


# --- reading the aggregates ------------------------------------------------------------------


def period_sums(
    conn: Connection,
    *,
    user_id: int,
    device_pks: Sequence[int] | None,
    bounds: Sequence[datetime],
    full_start: datetime,
    full_end: datetime,
) -> tuple[TextClause, dict]:
    """The statement summing the clean stored hours in ``[full_start, full_end)`` per period and
    device: rows (period index, device_pk, energy_wh, covered_s, min_w, max_w, samples). Periods
    are the consecutive ``bounds`` (n + 1 instants for n periods); ``device_pks`` None means all
    of the user's devices. Dirty hours are left out: they are integrated from raw readings."""
    params: dict = {"user_id": user_id, "full_start": full_start, "full_end": full_end}
    binds = [
        bindparam("full_start", type_=UTCDateTime()),
        bindparam("full_end", type_=UTCDateTime()),
    ]
    devices = ""
    if device_pks is not None:
        devices = "AND a.device_pk IN ({})".format(", ".join(str(int(pk)) for pk in device_pks))
    # The dirty hours of the range are few (the current hour): one hashed list, not a probe per row.
    clean = """
  AND a.hour_start >= :full_start AND a.hour_start < :full_end
  AND (a.device_pk, a.hour_start) NOT IN (
      SELECT d.device_pk, d.hour_start FROM dirty_hours d
      WHERE d.user_id = :user_id AND d.hour_start >= :full_start AND d.hour_start < :full_end
  )"""
    sums = (
        "SUM(a.energy_wh), SUM(a.covered_s), MIN(a.min_watts), MAX(a.max_watts), "
        "SUM(a.sample_count)"
    )
    if _is_sqlite(conn):
        values = []
        for i, (lo, hi) in enumerate(zip(bounds, bounds[1:], strict=False)):
            values.append(f"({i}, :lo{i}, :hi{i})")
            params[f"lo{i}"], params[f"hi{i}"] = lo, hi
            binds += [
                bindparam(f"lo{i}", type_=UTCDateTime()),
                bindparam(f"hi{i}", type_=UTCDateTime()),
            ]
        sql = f"""
WITH buckets (idx, lo, hi) AS (VALUES {", ".join(values)})
SELECT b.idx, a.device_pk, {sums}
FROM hourly_aggregates a
JOIN buckets b ON a.hour_start >= b.lo AND a.hour_start < b.hi
WHERE a.user_id = :user_id {devices} {clean}
GROUP BY b.idx, a.device_pk
"""
    else:
        # width_bucket is a binary search over the sorted period bounds: no join at all.
        params["bounds"] = list(bounds)
        binds.append(bindparam("bounds", type_=ARRAY(DateTime(timezone=True))))
        sql = f"""
SELECT width_bucket(a.hour_start, CAST(:bounds AS timestamptz[])) - 1 AS idx, a.device_pk, {sums}
FROM hourly_aggregates a
WHERE a.user_id = :user_id {devices} {clean}
GROUP BY 1, a.device_pk
"""
    return text(sql).bindparams(*binds), params


# --- rebuild and retention -----------------------------------------------------------------------


def mark_range_dirty(
    conn: Connection,
    *,
    since: datetime | None,
    until: datetime | None,
    device_pks: Sequence[int] | None,
    default_gap_s: int,
) -> int:
    """Mark for recomputation every hour that readings in ``[since, until)`` of the given devices
    (all when None) can reach: from the hour of the first such reading to the hour its last one
    carries into. Found with two index probes per device; no reading is loaded. Returns the
    number of marks made or renewed."""
    params: dict = {"since": since, "until": until, "default_gap_s": default_gap_s}
    device_filter = ""
    if device_pks is not None:
        if not device_pks:
            return 0
        device_filter = "AND dev.id IN ({})".format(", ".join(str(int(pk)) for pk in device_pks))
    since_cond = "AND r.ts >= :since" if since is not None else ""
    until_cond = "AND r.ts < :until" if until is not None else ""
    binds = [bindparam(n, type_=UTCDateTime()) for n in ("since", "until") if params[n]]
    params = {k: v for k, v in params.items() if v is not None}
    if _is_sqlite(conn):
        sql = f"""
WITH RECURSIVE ends AS (
    SELECT dev.user_id, dev.id AS device_pk,
           (SELECT min(r.ts) FROM readings r WHERE r.user_id = dev.user_id
               AND r.device_pk = dev.id {since_cond} {until_cond}) AS first_ts,
           (SELECT max(r.ts) FROM readings r WHERE r.user_id = dev.user_id
               AND r.device_pk = dev.id {since_cond} {until_cond})
           + CAST(coalesce(dev.max_gap_s, :default_gap_s) AS INTEGER) * 1000000 AS last_ts
    FROM devices dev WHERE 1 = 1 {device_filter}
),
hrs (user_id, device_pk, h, last_h) AS (
    SELECT user_id, device_pk, first_ts - first_ts % 3600000000, last_ts - last_ts % 3600000000
    FROM ends WHERE first_ts IS NOT NULL
    UNION ALL
    SELECT user_id, device_pk, h + 3600000000, last_h FROM hrs WHERE h < last_h
)
INSERT INTO dirty_hours (user_id, device_pk, hour_start, version)
SELECT user_id, device_pk, h, 1 FROM hrs WHERE true
ON CONFLICT (user_id, device_pk, hour_start) DO UPDATE SET version = dirty_hours.version + 1
"""
    else:
        sql = f"""
INSERT INTO dirty_hours (user_id, device_pk, hour_start, version)
SELECT e.user_id, e.device_pk, h, 1
FROM (
    SELECT dev.user_id, dev.id AS device_pk,
           (SELECT min(r.ts) FROM readings r WHERE r.user_id = dev.user_id
               AND r.device_pk = dev.id {since_cond} {until_cond}) AS first_ts,
           (SELECT max(r.ts) FROM readings r WHERE r.user_id = dev.user_id
               AND r.device_pk = dev.id {since_cond} {until_cond})
           + make_interval(secs => coalesce(dev.max_gap_s, :default_gap_s)) AS last_ts
    FROM devices dev WHERE true {device_filter}
) e
CROSS JOIN LATERAL generate_series(date_bin('1 hour', e.first_ts, {_PG_ORIGIN}),
                                   e.last_ts, interval '1 hour') AS h
WHERE e.first_ts IS NOT NULL
ON CONFLICT (user_id, device_pk, hour_start) DO UPDATE SET version = dirty_hours.version + 1
"""
    result = conn.execute(text(sql).bindparams(*binds), params)
    if _is_sqlite(conn):
        return conn.exec_driver_sql("SELECT changes()").scalar()
    return result.rowcount


def prunable_hours(
    conn: Connection, *, horizon: datetime, default_gap_s: int, limit: int
) -> list[tuple[int, int, datetime]]:
    """Up to ``limit`` (user_id, device_pk, hour_start), oldest first, whose raw readings may go:
    the hour ends by ``horizon``, still has readings, has a stored aggregate, and neither it nor
    any hour its readings can carry into (up to max_gap after its end) is dirty: recomputing
    such an hour needs them. Each device is searched
    from its oldest remaining reading, so pruned history is never scanned again."""
    if _is_sqlite(conn):
        hour_of_oldest = "h.oldest - h.oldest % 3600000000"
        reach = (
            "a.hour_start + 3600000000"
            " + CAST(coalesce(h.max_gap_s, :default_gap_s) AS INTEGER) * 1000000"
        )
        hour_end = "a.hour_start + 3600000000"
    else:
        hour_of_oldest = f"date_bin('1 hour', h.oldest, {_PG_ORIGIN})"
        reach = (
            "a.hour_start + interval '1 hour'"
            " + make_interval(secs => coalesce(h.max_gap_s, :default_gap_s))"
        )
        hour_end = "a.hour_start + interval '1 hour'"
    sql = f"""
WITH heads AS (
    SELECT dev.user_id, dev.id AS device_pk, dev.max_gap_s,
           (SELECT min(r.ts) FROM readings r
            WHERE r.user_id = dev.user_id AND r.device_pk = dev.id) AS oldest
    FROM devices dev
)
SELECT a.user_id, a.device_pk, a.hour_start
FROM heads h
JOIN hourly_aggregates a
  ON a.user_id = h.user_id AND a.device_pk = h.device_pk
 AND a.hour_start >= {hour_of_oldest} AND a.hour_start < :horizon
WHERE h.oldest IS NOT NULL AND h.oldest < :horizon
  AND NOT EXISTS (
      SELECT 1 FROM dirty_hours d
      WHERE d.user_id = a.user_id AND d.device_pk = a.device_pk
        AND d.hour_start >= a.hour_start AND d.hour_start < {reach}
  )
  AND EXISTS (
      SELECT 1 FROM readings r
      WHERE r.user_id = a.user_id AND r.device_pk = a.device_pk
        AND r.ts >= a.hour_start AND r.ts < {hour_end}
  )
ORDER BY a.hour_start, a.device_pk
LIMIT :limit
"""
    statement = text(sql).bindparams(bindparam("horizon", type_=UTCDateTime()))
    statement = statement.columns(user_id=Integer(), device_pk=Integer(), hour_start=UTCDateTime())
    rows = conn.execute(
        statement, {"horizon": horizon, "default_gap_s": default_gap_s, "limit": limit}
    )
    return [(u, d, h) for u, d, h in rows]


def delete_readings_of_hours(conn: Connection, hours: Sequence[tuple[int, int, datetime]]) -> int:
    """Delete the raw readings of whole hours ``(user_id, device_pk, hour_start)``."""
    if not hours:
        return 0
    cur = conn.connection.driver_connection.cursor()
    if _is_sqlite(conn):
        deleted = 0
        for u, d, h in hours:
            start = to_epoch_us(h)
            cur.execute(
                "DELETE FROM readings WHERE user_id = ? AND device_pk = ? AND ts >= ? AND ts < ?",
                (u, d, start, start + HOUR_US),
            )
            deleted += cur.rowcount
        return deleted
    users, devices, starts = zip(*hours, strict=True)
    cur.execute(
        "DELETE FROM readings r USING unnest(%s::int4[], %s::int4[], %s::timestamptz[]) "
        "AS x(u, d, h) WHERE r.user_id = x.u AND r.device_pk = x.d "
        "AND r.ts >= x.h AND r.ts < x.h + interval '1 hour'",
        (list(users), list(devices), list(starts)),
    )
    return cur.rowcount


# --- one worker at a time -------------------------------------------------------------------------

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

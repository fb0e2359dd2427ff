"""The ingest path's SQL: device lookup, bulk insert of readings, the single-readings statement
and dirty-hour marks, for SQLite and PostgreSQL."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat

import numpy as np
import psycopg
from sqlalchemy import Connection

from energy_core.sql import HOUR_US, PG_INSTANT, is_sqlite
from energy_core.sql.arrays import (
    Float8Array,
    Int4Array,
    Int8Array,
    binary_array,
    register_array_dumpers,
    text_array,
)
from energy_core.sql.prepared import run_prepared
from energy_core.types import to_epoch_us

# The single-reading writer opens its own psycopg connections: they need the arrays too.
register_array_dumpers()

# Readings have no foreign key to their device (migration 0020). A batch's writer holds the
# advisory locks of ``sql.locks.lock_for_writing`` (one per transaction, shared with the other
# writers) from before it looks its devices up; deleting a device or a user takes the user's lock
# exclusively, so it waits for the writers in flight and then deletes what they wrote, and a
# writer that comes after finds no device. The single-reading statement below, which cannot take
# a lock before its own snapshot, locks the device rows it writes for instead (FOR KEY SHARE:
# deletion waits for it too). SQLite needs none of this: one transaction writes at a time.
DEVICE_ROW_LOCK = "FOR KEY SHARE"

# A writer moves a device's last-seen time only to a reading more than this much newer than the
# time stored (the rollup then sets it to the newest reading of every device it recomputes, once
# a minute): every batch moving the last-seen time of each of its devices was the most of what
# writers of the same devices contended for, a row lock, a new row version and two WAL records
# per device and batch (docs/scale.md, "Ingest on PostgreSQL").
LAST_SEEN_STEP_S = 60


def last_seen_step_us(conn: Connection) -> int:
    """How much newer than the stored last-seen time a reading must be for a writer to move it:
    ``LAST_SEEN_STEP_S`` on PostgreSQL; none on SQLite, where one transaction writes at a time
    (no writer waits for another's device rows) and the rollup leaves last-seen times alone."""
    return 0 if is_sqlite(conn) else LAST_SEEN_STEP_S * 1_000_000


def find_devices(conn: Connection, *, user_id: int, device_ids: Sequence[str]) -> list[tuple]:
    """``(id, device_id, is_active, bidirectional, max_gap_s, last_seen_us)`` of the user's
    devices among ``device_ids`` (``last_seen_us``: the stored last-seen time in epoch µs, or
    None), in one statement whatever their number (an expanding IN of hundreds of parameters is
    re-parsed by the driver on every call). The caller holds ``sql.locks.lock_for_writing``."""
    if not device_ids:
        return []
    columns = "id, device_id, is_active, bidirectional, max_gap_s, last_seen_at"
    if is_sqlite(conn):
        rows = []
        cur = conn.connection.driver_connection.cursor()
        for i in range(0, len(device_ids), 500):  # SQLite's bound on variables per statement
            chunk = list(device_ids[i : i + 500])
            cur.execute(
                f"SELECT {columns} FROM devices WHERE user_id = ? "
                f"AND device_id IN ({', '.join('?' * len(chunk))})",
                [user_id, *chunk],
            )
            rows += [(r[0], r[1], bool(r[2]), bool(r[3]), r[4], r[5]) for r in cur.fetchall()]
        return rows
    cur = conn.connection.driver_connection.cursor()
    # The names as one text split by the server where no name holds a line break (device ids
    # are printable), else as an array: building the array is a Python step per name, a third
    # of this call's CPU for a batch of 1,000 devices.
    joined = "\n".join(device_ids)
    if joined.count("\n") == len(device_ids) - 1:
        names, param = "unnest(string_to_array(%b::text, E'\\n'))", joined
    else:
        names, param = "unnest(%b::text[])", text_array(device_ids)
    # A join, not ``device_id = ANY(...)``: under a prepared statement's generic plan the latter
    # may filter the user's devices against the whole array, a thousand by a thousand.
    cur.execute(
        "SELECT d.id, d.device_id, d.is_active, d.bidirectional, d.max_gap_s, "
        "(extract(epoch FROM d.last_seen_at) * 1000000)::int8 "
        f"FROM {names} AS n(name) "
        "JOIN devices AS d ON d.user_id = %b AND d.device_id = n.name",
        (param, user_id),
    )
    return cur.fetchall()


# The device rows whose last-seen time a writer moves: those among ``devices`` that no other
# transaction holds (SKIP LOCKED), locked only once the writer's marks are in (the subquery reads
# them, so PostgreSQL inserts them first; unread, the data-modifying parts of a statement run last
# to first, the devices' update before the marks). The rollup holds the marks it claimed while it
# moves the same devices' rows: a writer that held a device row while it waited for a claimed mark
# deadlocked with it, once a minute under a fleet of 2,000 devices posting every 10 s. A time
# skipped here is the rollup's to set: the reading's hour is marked dirty.
_FREE_DEVICES_AFTER_MARKS = """
          SELECT free.id FROM devices AS free
          WHERE free.id IN ({devices}) AND (SELECT count(*) FROM marked) >= 0
          ORDER BY free.id
          FOR NO KEY UPDATE OF free SKIP LOCKED"""


# The marks are inserted without a lock on a mark already there (DO NOTHING; see
# ``sql.locks.DIRTY_MARKS`` for why that is safe against the rollup), and last-seen times are
# moved on the device rows no other writer is moving at the same moment (SKIP LOCKED): writers of
# the same devices never wait for each other. A time skipped that way is the other writer's to
# set, or, if that one's is older, the rollup's, which moves each device it recomputes to its
# newest reading (``sql.rollup``): every new reading has a dirty hour.
#
# The statement comes in two forms that differ only in how the readings go in: a plain INSERT
# that fails on the first (device, instant) already stored (``_PG_STORE_NEW_READINGS``), and one
# that skips those with ON CONFLICT DO NOTHING (``_PG_STORE_NEW_OR_STORED_READINGS``). The plain
# INSERT from the arrays stores rows about as fast as binary COPY (bench/ingest.py prints both);
# ON CONFLICT makes PostgreSQL look each row up in the primary key first and insert it as a
# speculative tuple, confirmed afterwards, which costs about a quarter of the statement.
_STORE_READINGS = f"""
WITH new AS (
    INSERT INTO readings (user_id, device_pk, ts, power_w)
    SELECT %(user_id)b, d, {PG_INSTANT.format("t")}, p
    FROM unnest(%(devices)b::int4[], %(stamps)b::int8[], %(powers)b::float8[]) AS x(d, t, p)
    ORDER BY d, t
    {{readings_conflict}}RETURNING 1
),
marked AS (
    INSERT INTO dirty_hours (user_id, device_pk, hour_start, version)
    SELECT %(user_id)b, d, to_timestamp(h / 1000000), 1
    FROM unnest(%(dirty_devices)b::int4[], %(dirty_hours)b::int8[]) AS y(d, h)
    WHERE EXISTS (SELECT 1 FROM new)
    ORDER BY d, h
    ON CONFLICT DO NOTHING
    RETURNING 1
),
moves AS (
    SELECT d, {PG_INSTANT.format("t")} AS at
    FROM unnest(%(seen_devices)b::int4[], %(seen_at)b::int8[]) AS z(d, t)
),
seen AS (
    UPDATE devices AS dev SET last_seen_at = moves.at
    FROM moves
    WHERE dev.id = moves.d AND (dev.last_seen_at IS NULL OR dev.last_seen_at < moves.at)
      AND dev.id IN (
          SELECT free.id FROM devices AS free JOIN moves ON free.id = moves.d
          WHERE free.user_id = %(user_id)b AND EXISTS (SELECT 1 FROM new)
            AND (free.last_seen_at IS NULL OR free.last_seen_at < moves.at)
            AND (SELECT count(*) FROM marked) >= 0
          ORDER BY free.id
          FOR NO KEY UPDATE OF free SKIP LOCKED
      )
)
SELECT count(*) FROM new
"""
_PG_STORE_NEW_READINGS = _STORE_READINGS.replace("{readings_conflict}", "")
_PG_STORE_NEW_OR_STORED_READINGS = _STORE_READINGS.replace(
    "{readings_conflict}", "ON CONFLICT DO NOTHING\n    "
)
# The savepoint of the first form, so that a batch that fails in it goes on with the second.
_NEW_READINGS_SAVEPOINT = "new_readings"
# Where a connection notes the transaction that tried the first form already (a weak reference).
_TRIED_NEW_READINGS = "energy_tried_new_readings"


# Single readings that concurrent requests posted, stored in one statement: each reading's device
# is looked up among its own user's devices (by device_id, or by a device key's primary key, 0 for
# none) and locked (``DEVICE_ROW_LOCK``); a reading whose device is missing, deactivated, or not
# bidirectional for negative watts is left out and reported, so the caller can explain it the
# usual way. The first of the same (device, instant) in the group is inserted; the hours
# [t, t + max_gap] meets of every new reading are marked dirty, as ``_batch_rows`` in ingest.py
# does for a batch, and last-seen times move forward by more than ``LAST_SEEN_STEP_S``.
# Prepared on the writer's connection and run through libpq (``sql.prepared``): its parameters are
# $n and its modulo a plain %, as PostgreSQL reads them.
_INSTANT = PG_INSTANT.format("t").replace("%%", "%")
_PG_STORE_SINGLES = f"""
WITH input AS (
    SELECT * FROM unnest(
        $1::int4[], $2::int4[], $3::text[], $4::int4[], $5::int8[], $6::float8[]
    ) AS x(i, u, name, pk, t, p)
),
dev AS (
    SELECT input.*, d.id, d.device_id, d.is_active, d.bidirectional,
           coalesce(d.max_gap_s, $7::int4)::int8 AS gap_s
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
locked AS (
    SELECT id FROM devices WHERE id IN (SELECT id FROM dev) ORDER BY id {DEVICE_ROW_LOCK}
),
ok AS (
    SELECT dev.*, {_INSTANT} AS at, min(i) OVER (PARTITION BY id, t) AS first_i
    FROM dev
    WHERE is_active AND (p >= 0 OR bidirectional) AND id IN (SELECT id FROM locked)
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
    RETURNING 1
),
seen AS (
    UPDATE devices AS d SET last_seen_at = s.at
    FROM (SELECT id, max(at) AS at FROM fresh GROUP BY id) AS s
    WHERE d.id = s.id
      AND (d.last_seen_at IS NULL
           OR d.last_seen_at < s.at - interval '{LAST_SEEN_STEP_S} seconds')
      AND d.id IN ({_FREE_DEVICES_AFTER_MARKS.format(devices="SELECT id FROM fresh")})
)
SELECT i, device_id, i IN (SELECT i FROM ok) AS allowed, i IN (SELECT i FROM fresh) AS inserted
FROM dev
"""
SINGLES_STATEMENT = "energy_single_readings"
_PG_PREPARE_SINGLES = (
    f"PREPARE {SINGLES_STATEMENT} (int4[], int4[], text[], int4[], int8[], float8[], int4) AS"
    + _PG_STORE_SINGLES
)


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
    needs no device; those that need the device are checked here. ``conn`` is an asyncio
    connection in autocommit that no other task uses meanwhile (``sql.prepared``)."""
    result = await run_prepared(
        conn,
        SINGLES_STATEMENT,
        _PG_PREPARE_SINGLES,
        [
            binary_array(Int4Array, range(len(readings))),
            binary_array(Int4Array, [r.user_id for r in readings]),
            text_array([r.device_id for r in readings]),
            binary_array(Int4Array, [r.device_pk or 0 for r in readings]),
            binary_array(Int8Array, [r.ts_us for r in readings]),
            binary_array(Float8Array, [r.power_w for r in readings]),
            default_gap_s.to_bytes(4, "big", signed=True),
        ],
    )
    outcomes = [NOT_STORED] * len(readings)
    value = result.get_value
    for row in range(result.ntuples):  # in binary: int4, text, bool, bool
        if value(row, 2) == _TRUE:
            outcomes[int.from_bytes(value(row, 0), "big")] = SingleOutcome(
                stored=True, inserted=value(row, 3) == _TRUE, device_id=value(row, 1).decode()
            )
    return outcomes


_TRUE = b"\x01"


def insert_readings(
    conn: Connection,
    *,
    user_id: int,
    device_pks: Sequence[int],
    ts_us: Sequence[int],
    power_w: Sequence[float],
    dirty_hours: tuple[Sequence[int], Sequence[int]] = ((), ()),
    last_seen: tuple[Sequence[int], Sequence[int]] = ((), ()),
) -> int:
    """Insert readings of one user given as columns (instants in epoch microseconds, UTC; lists
    or numpy arrays), skipping (device, instant) pairs already stored; the pairs must be distinct
    within the call. Returns how many rows were new. The first stored value of a (device,
    instant) wins.

    If any row was new, also marks ``dirty_hours`` (device pks and hour starts in µs, two
    columns, see ``mark_hours_dirty``) for recomputation and moves each device of ``last_seen``
    (device pks and instants in µs) forward to that instant, never back. Both are distinct
    pairs in device order. On PostgreSQL the caller holds ``sql.locks.lock_for_writing`` (the
    marks rely on it).
    """
    if not len(ts_us):
        return 0
    hour_devices, hour_starts = dirty_hours
    seen_devices, seen_at = last_seen
    cur = conn.connection.driver_connection.cursor()
    if is_sqlite(conn):
        cur.executemany(
            "INSERT OR IGNORE INTO readings (user_id, device_pk, ts, power_w) VALUES (?, ?, ?, ?)",
            zip(repeat(user_id), _plain(device_pks), _plain(ts_us), _plain(power_w)),
        )
        inserted = cur.rowcount
        if inserted:
            cur.executemany(
                "INSERT INTO dirty_hours (user_id, device_pk, hour_start, version) "
                "VALUES (?, ?, ?, 1) ON CONFLICT (user_id, device_pk, hour_start) "
                "DO UPDATE SET version = dirty_hours.version + 1",
                zip(repeat(user_id), _plain(hour_devices), _plain(hour_starts)),
            )
            cur.executemany(
                "UPDATE devices SET last_seen_at = ?2 WHERE id = ?1 AND user_id = ?3 "
                "AND (last_seen_at IS NULL OR last_seen_at < ?2)",
                zip(_plain(seen_devices), _plain(seen_at), repeat(user_id)),
            )
        return inserted
    # One statement whatever the batch size: binary arrays unnested into the insert (measured
    # against COPY into a staging table and a merge, see bench/ingest.py and "Ingest on
    # PostgreSQL" in docs/scale.md; COPY into readings itself is refused under row-level
    # security), the dirty marks and the last-seen times, the last two only if a row was new.
    # Everything is written in (device, instant) order so that two batches that overlap wait
    # for each other instead of deadlocking.
    params = {
        "user_id": user_id,
        "devices": binary_array(Int4Array, device_pks),
        "stamps": binary_array(Int8Array, ts_us),
        "powers": binary_array(Float8Array, power_w),
        "dirty_devices": binary_array(Int4Array, hour_devices),
        "dirty_hours": binary_array(Int8Array, hour_starts),
        "seen_devices": binary_array(Int4Array, seen_devices),
        "seen_at": binary_array(Int8Array, seen_at),
    }
    if _first_try_in_transaction(conn):
        # Most batches hold only new readings: they are inserted without ON CONFLICT, in a
        # savepoint. A batch that meets a reading already stored (sent again, or overlapping
        # another writer's, which it waits for as ON CONFLICT would) fails there whole, marks
        # and last-seen times included; it goes back to the savepoint and takes the statement
        # that skips stored readings, so what is stored and counted is the same either way.
        cur.execute(f"SAVEPOINT {_NEW_READINGS_SAVEPOINT}")
        try:
            cur.execute(_PG_STORE_NEW_READINGS, params)
        except psycopg.errors.UniqueViolation:
            # Back to before the batch, and out of the savepoint: the second statement writes
            # in the transaction itself, not in a subtransaction of its own.
            cur.execute(f"ROLLBACK TO SAVEPOINT {_NEW_READINGS_SAVEPOINT}")
            cur.execute(f"RELEASE SAVEPOINT {_NEW_READINGS_SAVEPOINT}")
        else:
            inserted = cur.fetchone()[0]
            cur.execute(f"RELEASE SAVEPOINT {_NEW_READINGS_SAVEPOINT}")
            return inserted
    cur.execute(_PG_STORE_NEW_OR_STORED_READINGS, params)
    return cur.fetchone()[0]


def _plain(values: Sequence) -> list:
    """Python numbers for the SQLite driver, which takes no numpy scalars."""
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def _first_try_in_transaction(conn: Connection) -> bool:
    """Whether the plain insert has not been tried yet in ``conn``'s transaction, noting that it
    now is. Once per transaction: every savepoint that writes is a subtransaction with an id of
    its own, and a transaction with more than 64 of them (a history import writes all its
    chunks in one) makes every other session's visibility checks look them up in pg_subtrans."""
    transaction = conn.get_transaction()
    tried = conn.info.get(_TRIED_NEW_READINGS)
    if transaction is None or (tried is not None and tried() is transaction):
        return False
    conn.info[_TRIED_NEW_READINGS] = weakref.ref(transaction)
    return True


def mark_hours_dirty(conn: Connection, rows: Sequence[tuple[int, int, datetime]]) -> None:
    """Mark ``(user_id, device_pk, hour_start)`` for recomputation; an existing mark gets a new
    version so that a job run that read the old one will not clear it."""
    if not rows:
        return
    # Fixed order: writers that mark the same hours wait for each other instead of deadlocking.
    rows = sorted(set(rows), key=lambda r: (r[0], r[1], r[2]))
    cur = conn.connection.driver_connection.cursor()
    if is_sqlite(conn):
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

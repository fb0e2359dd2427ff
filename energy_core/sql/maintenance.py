"""Retention's SQL: which hours' raw readings may go, and deleting them, for SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Integer, bindparam, text

from energy_core.sql import HOUR_US, PG_ORIGIN, is_sqlite
from energy_core.types import UTCDateTime, to_epoch_us


def prunable_hours(
    conn: Connection, *, horizon: datetime, default_gap_s: int, limit: int
) -> list[tuple[int, int, datetime]]:
    """Up to ``limit`` (user_id, device_pk, hour_start), oldest first, whose raw readings may go:
    the hour ends by ``horizon``, still has readings, has a stored aggregate, and neither it nor
    any hour its readings can carry into (up to max_gap after its end) is dirty: recomputing
    such an hour needs them. Each device is searched
    from its oldest remaining reading, so pruned history is never scanned again; that reading is
    looked for before the horizon only (on PostgreSQL, in the months before it: a device's oldest
    reading over every monthly partition probed each partition's index, 0.3-0.6 s a run at 951
    devices and 100 M readings, against 0.03-0.07 s in the months before the horizon). On PostgreSQL
    each device with readings before the horizon offers at most its share of ``limit``, its
    oldest hours, so a batch may hold fewer; the caller runs batches until one is empty."""
    if is_sqlite(conn):
        hour_of_oldest = "h.oldest - h.oldest % 3600000000"
        reach = (
            "a.hour_start + 3600000000"
            " + CAST(coalesce(h.max_gap_s, :default_gap_s) AS INTEGER) * 1000000"
        )
        hour_end = "a.hour_start + 3600000000"
    else:
        hour_of_oldest = f"date_bin('1 hour', h.oldest, {PG_ORIGIN})"
        reach = (
            "a.hour_start + interval '1 hour'"
            " + make_interval(secs => coalesce(h.max_gap_s, :default_gap_s))"
        )
        hour_end = "a.hour_start + interval '1 hour'"
    heads = """
    SELECT dev.user_id, dev.id AS device_pk, dev.max_gap_s,
           (SELECT min(r.ts) FROM readings r
            WHERE r.user_id = dev.user_id AND r.device_pk = dev.id AND r.ts < :horizon) AS oldest
    FROM devices dev"""
    current = f"""
  AND NOT EXISTS (
      SELECT 1 FROM dirty_hours d
      WHERE d.user_id = a.user_id AND d.device_pk = a.device_pk
        AND d.hour_start >= a.hour_start AND d.hour_start < {reach}
  )
  AND EXISTS (
      SELECT 1 FROM readings r
      WHERE r.user_id = a.user_id AND r.device_pk = a.device_pk
        AND r.ts >= a.hour_start AND r.ts < {hour_end}
  )"""
    if is_sqlite(conn):
        sql = f"""
WITH heads AS ({heads})
SELECT a.user_id, a.device_pk, a.hour_start
FROM heads h
JOIN hourly_aggregates a
  ON a.user_id = h.user_id AND a.device_pk = h.device_pk
 AND a.hour_start >= {hour_of_oldest} AND a.hour_start < :horizon
WHERE h.oldest IS NOT NULL AND h.oldest < :horizon{current}
ORDER BY a.hour_start, a.device_pk
LIMIT :limit
"""
    else:
        # Per device, through LATERAL: its aggregates from its oldest reading on, in primary key
        # order, each hour probed for a reading. Written as one join, the planner may hash every
        # reading by device and compare each aggregate before the horizon with all of its
        # device's readings: minutes on a year of 48 devices, where this takes milliseconds.
        # Each device offers its share of the limit, not the whole of it: with a month to catch
        # up on, every device offering the limit made each batch weigh devices x limit
        # candidates (0.9 s a batch at 48 devices, growing with the square of the fleet). JIT is
        # off as for the rollup (a plan over every monthly partition; compiling took 0.47 s of a
        # 0.67 s run), for the rest of the caller's transaction, which deletes what this finds.
        conn.exec_driver_sql("SET LOCAL jit = off")
        sql = f"""
WITH heads AS MATERIALIZED ({heads}),
behind AS MATERIALIZED (SELECT * FROM heads WHERE oldest < :horizon)
SELECT a.user_id, a.device_pk, a.hour_start
FROM behind h
CROSS JOIN LATERAL (
    SELECT a.user_id, a.device_pk, a.hour_start
    FROM hourly_aggregates a
    WHERE a.user_id = h.user_id AND a.device_pk = h.device_pk
      AND a.hour_start >= {hour_of_oldest} AND a.hour_start < :horizon{current}
    ORDER BY a.hour_start
    LIMIT (SELECT ceil(CAST(:limit AS numeric) / greatest(count(*), 1)) FROM behind)
) a
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
    if is_sqlite(conn):
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

"""The daily aggregates' SQL, for SQLite and PostgreSQL: keep them from the stored hours (for
some days of some devices, or every day of a household at once), and read the rows of given days.

Days arrive here as UTC bounds in integer microseconds, worked out in Python from the household's
timezone (``energy_core.daily``): one definition of a local day for both backends, the same one
the read layer cuts periods with."""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import chain

import numpy as np
from sqlalchemy import Connection

from energy_core.sql import is_sqlite
from energy_core.sql.arrays import Int4Array, Int8Array, binary_array, float_rows

# A microsecond count as a timestamptz, exactly (no float on the way).
_PG_INSTANT = "(TIMESTAMPTZ 'epoch' + {} * INTERVAL '1 microsecond')"

_COLUMNS = """user_id, device_pk, day_start, day_end, consumed_wh, generated_wh, covered_s,
    cancelled_wh, min_watts, max_watts, sample_count"""

# The sums of a day's stored hours (``a``), in the columns' order after the day.
_SUMS = """sum(a.consumed_wh), sum(a.generated_wh), sum(a.covered_s),
    sum({least}(a.consumed_wh, a.generated_wh)), min(a.min_watts), max(a.max_watts),
    sum(a.sample_count)"""

_UPSERT = """ON CONFLICT (user_id, device_pk, day_start) DO UPDATE SET
    day_end = excluded.day_end, consumed_wh = excluded.consumed_wh,
    generated_wh = excluded.generated_wh, covered_s = excluded.covered_s,
    cancelled_wh = excluded.cancelled_wh, min_watts = excluded.min_watts,
    max_watts = excluded.max_watts, sample_count = excluded.sample_count"""


def zones(conn: Connection, user_ids: Sequence[int]) -> dict[int, str]:
    """The timezone each household's daily rows are kept in (households without any left out)."""
    if not user_ids:
        return {}
    listed = ", ".join(str(int(u)) for u in sorted(set(user_ids)))
    rows = conn.exec_driver_sql(
        f"SELECT user_id, timezone FROM daily_zones WHERE user_id IN ({listed})"
    )
    return {int(u): tz for u, tz in rows}


def stale_zones(conn: Connection) -> list[tuple[int, str]]:
    """(user_id, timezone) of the households whose daily rows are not kept in their own
    timezone: never built, or built before the timezone was changed."""
    rows = conn.exec_driver_sql(
        "SELECT u.id, u.timezone FROM users u LEFT JOIN daily_zones z ON z.user_id = u.id "
        "WHERE z.timezone IS NULL OR z.timezone <> u.timezone ORDER BY u.id"
    )
    return [(int(u), tz) for u, tz in rows]


def stored_hour_range(conn: Connection, user_id: int) -> tuple[int, int] | None:
    """The first and last stored hour of a household, as microseconds (None: none stored)."""
    if is_sqlite(conn):
        sql = "SELECT min(hour_start), max(hour_start) FROM hourly_aggregates WHERE user_id = ?"
        first, last = conn.exec_driver_sql(sql, (user_id,)).one()
    else:
        first, last = conn.exec_driver_sql(
            "SELECT CAST(date_part('epoch', min(hour_start)) AS int8) * 1000000, "
            "CAST(date_part('epoch', max(hour_start)) AS int8) * 1000000 "
            "FROM hourly_aggregates WHERE user_id = %(user_id)s",
            {"user_id": user_id},
        ).one()
    return None if first is None else (int(first), int(last))


def replace_household_days(
    conn: Connection, *, user_id: int, timezone: str, days: Sequence[tuple[int, int]]
) -> int:
    """Every daily row of a household built again from its stored hours, for ``days`` (UTC
    bounds in microseconds, covering every stored hour), and the zone they are kept in recorded,
    in the caller's transaction. Returns the rows written."""
    if is_sqlite(conn):
        conn.exec_driver_sql("DELETE FROM daily_aggregates WHERE user_id = ?", (user_id,))
        written = 0
        if days:
            sql = f"""
INSERT INTO daily_aggregates ({_COLUMNS})
SELECT a.user_id, a.device_pk, d.lo, d.hi, {_SUMS.format(least="min")}
FROM (SELECT json_extract(value, '$[0]') AS lo, json_extract(value, '$[1]') AS hi
      FROM json_each(?)) d
JOIN hourly_aggregates a ON a.user_id = ? AND a.hour_start >= d.lo AND a.hour_start < d.hi
WHERE a.user_id = ?
GROUP BY a.user_id, a.device_pk, d.lo, d.hi
"""
            conn.exec_driver_sql(sql, (json.dumps([list(d) for d in days]), user_id, user_id))
            written = conn.exec_driver_sql("SELECT changes()").scalar()
        conn.exec_driver_sql(
            "INSERT INTO daily_zones (user_id, timezone) VALUES (?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET timezone = excluded.timezone",
            (user_id, timezone),
        )
        return written
    conn.exec_driver_sql(
        "DELETE FROM daily_aggregates WHERE user_id = %(user_id)s", {"user_id": user_id}
    )
    written = 0
    if days:
        los, his = zip(*days, strict=True)
        sql = f"""
INSERT INTO daily_aggregates ({_COLUMNS})
SELECT a.user_id, a.device_pk, d.lo, d.hi, {_SUMS.format(least="least")}
FROM (SELECT {_PG_INSTANT.format("l")} AS lo, {_PG_INSTANT.format("h")} AS hi
      FROM unnest(%(los)b::int8[], %(his)b::int8[]) AS c(l, h)) d
JOIN hourly_aggregates a
  ON a.user_id = %(user_id)s AND a.hour_start >= d.lo AND a.hour_start < d.hi
GROUP BY a.user_id, a.device_pk, d.lo, d.hi
"""
        written = conn.exec_driver_sql(
            sql,
            {
                "user_id": user_id,
                "los": binary_array(Int8Array, los),
                "his": binary_array(Int8Array, his),
            },
        ).rowcount
    conn.exec_driver_sql(
        "INSERT INTO daily_zones (user_id, timezone) VALUES (%(user_id)s, %(timezone)s) "
        "ON CONFLICT (user_id) DO UPDATE SET timezone = excluded.timezone",
        {"user_id": user_id, "timezone": timezone},
    )
    return written


def refresh_days(conn: Connection, days: Sequence[tuple[int, int, int, int]]) -> int:
    """The daily rows of ``days`` (user_id, device_pk, start, end; microseconds) summed again
    from their stored hours, in the caller's transaction (after the hours were written). The
    rollup never removes a stored hour, so a day it touched has a row to write. Returns the
    rows written."""
    if not days:
        return 0
    if is_sqlite(conn):
        sql = f"""
INSERT INTO daily_aggregates ({_COLUMNS})
SELECT a.user_id, a.device_pk, d.lo, d.hi, {_SUMS.format(least="min")}
FROM (SELECT json_extract(value, '$[0]') AS u, json_extract(value, '$[1]') AS dev,
             json_extract(value, '$[2]') AS lo, json_extract(value, '$[3]') AS hi
      FROM json_each(?)) d
JOIN hourly_aggregates a
  ON a.user_id = d.u AND a.device_pk = d.dev AND a.hour_start >= d.lo AND a.hour_start < d.hi
WHERE a.user_id = d.u
GROUP BY a.user_id, a.device_pk, d.lo, d.hi
{_UPSERT}
"""
        conn.exec_driver_sql(sql, (json.dumps([list(d) for d in days]),))
        return conn.exec_driver_sql("SELECT changes()").scalar()
    users, devices, los, his = zip(*days, strict=True)
    # Each day sums its own stored hours (one range of the primary key), its bounds computed
    # once: joined and grouped at once, every stored hour was sorted by device and day first
    # (a rebuild's 98k hours: 0.9 s, spilling to disk).
    sql = f"""
INSERT INTO daily_aggregates ({_COLUMNS})
SELECT d.u, d.dev, d.lo, d.hi, s.consumed, s.generated, s.covered, s.cancelled, s.min_w,
       s.max_w, s.samples
FROM (
    SELECT u, dev, {_PG_INSTANT.format("l")} AS lo, {_PG_INSTANT.format("h")} AS hi
    FROM unnest(%(users)b::int4[], %(devices)b::int4[], %(los)b::int8[], %(his)b::int8[])
    AS c(u, dev, l, h)
    OFFSET 0
) d
CROSS JOIN LATERAL (
    SELECT count(*) AS hours, {_SUMS.format(least="least")}
    FROM hourly_aggregates a
    WHERE a.user_id = d.u AND a.device_pk = d.dev AND a.hour_start >= d.lo
      AND a.hour_start < d.hi
) AS s (hours, consumed, generated, covered, cancelled, min_w, max_w, samples)
WHERE s.hours > 0
{_UPSERT}
"""
    return conn.exec_driver_sql(
        sql,
        {
            "users": binary_array(Int4Array, users),
            "devices": binary_array(Int4Array, devices),
            "los": binary_array(Int8Array, los),
            "his": binary_array(Int8Array, his),
        },
    ).rowcount


def device_zones(conn: Connection, device_pks: Sequence[int]) -> dict[int, tuple[int, str | None]]:
    """Each device's household, and the zone that household's daily rows are kept in (None:
    not built yet)."""
    if not device_pks:
        return {}
    listed = ", ".join(str(int(pk)) for pk in sorted(set(device_pks)))
    rows = conn.exec_driver_sql(
        "SELECT d.id, d.user_id, z.timezone FROM devices d "
        f"LEFT JOIN daily_zones z ON z.user_id = d.user_id WHERE d.id IN ({listed})"
    )
    return {int(pk): (int(u), zone) for pk, u, zone in rows}


# The columns of a ``day_sums`` row: those of ``reads.span_sums``.
DAY_SUMS_WIDTH = 9


def day_sums(
    conn: Connection,
    *,
    user_id: int,
    device_pks: Sequence[int] | None,
    days: Sequence[tuple[int, int, int]],
) -> np.ndarray:
    """The stored daily rows of ``days`` (span index, start, end; microseconds), for the given
    devices (None: all of the household's), in the shape of ``reads.span_sums``: one row (span
    index, device_pk, consumed_wh, generated_wh, covered_s, min_w, max_w, samples, cancelled_wh)
    per device and day that has a row, with both of the day's bounds equal to the row's."""
    if not days:
        return np.empty((0, DAY_SUMS_WIDTH), dtype=np.float64)
    devices = (
        f"AND d.device_pk IN ({', '.join(str(int(pk)) for pk in device_pks) or 'NULL'})"
        if device_pks is not None
        else ""
    )
    if is_sqlite(conn):
        spans = "\nUNION ALL ".join(
            f"SELECT {int(i)} AS idx, {int(lo)} AS lo, {int(hi)} AS hi" for i, lo, hi in days
        )
        sql = f"""
SELECT s.idx, d.device_pk, d.consumed_wh, d.generated_wh, d.covered_s,
       d.min_watts, d.max_watts, d.sample_count, d.cancelled_wh
FROM ({spans}) s
JOIN daily_aggregates d ON d.user_id = ? AND d.day_start = s.lo AND d.day_end = s.hi
WHERE d.user_id = ? {devices}
"""
        rows = conn.connection.driver_connection.execute(sql, (user_id, user_id)).fetchall()
        # None (no extreme) becomes NaN.
        return np.fromiter(
            chain.from_iterable(rows), dtype=np.float64, count=len(rows) * DAY_SUMS_WIDTH
        ).reshape(-1, DAY_SUMS_WIDTH)
    idx, los, his = zip(*days, strict=True)
    sql = f"""
SELECT CAST(s.idx AS float8), CAST(d.device_pk AS float8), d.consumed_wh, d.generated_wh,
       d.covered_s, COALESCE(d.min_watts, 'NaN'), COALESCE(d.max_watts, 'NaN'),
       CAST(d.sample_count AS float8), d.cancelled_wh
FROM unnest(%(idx)b::int4[], %(los)b::int8[], %(his)b::int8[]) AS s(idx, lo, hi)
JOIN daily_aggregates d
  ON d.user_id = %(user_id)s AND d.day_start = {_PG_INSTANT.format("s.lo")}
 AND d.day_end = {_PG_INSTANT.format("s.hi")}
WHERE d.user_id = %(user_id)s {devices}
"""
    params = {
        "user_id": user_id,
        "idx": binary_array(Int4Array, idx),
        "los": binary_array(Int8Array, los),
        "his": binary_array(Int8Array, his),
    }
    return float_rows(conn, sql, params, DAY_SUMS_WIDTH)

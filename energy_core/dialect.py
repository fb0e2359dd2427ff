"""Everything that differs between PostgreSQL and SQLite: bulk insert, upserts, time arithmetic in
SQL, and the scheduler lock. Queries elsewhere stay dialect-free by calling these."""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from energy_core.types import to_epoch_us

log = logging.getLogger(__name__)

HOUR_US = 3_600_000_000


def _is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def insert_readings(conn: Connection, rows: Sequence[tuple[int, int, datetime, float]]) -> int:
    """Insert ``(user_id, device_pk, ts, power_w)`` rows, skipping ones already stored.

    Returns how many rows were new. The first stored value of a (device, ts) wins.
    """
    if not rows:
        return 0
    if _is_sqlite(conn):
        cur = conn.connection.driver_connection.cursor()
        cur.executemany(
            "INSERT OR IGNORE INTO readings (user_id, device_pk, ts, power_w) VALUES (?, ?, ?, ?)",
            [(u, d, to_epoch_us(ts), p) for u, d, ts, p in rows],
        )
        return cur.rowcount
    users, devices, stamps, powers = zip(*rows, strict=True)
    cur = conn.connection.driver_connection.cursor()
    # One statement with arrays: a single round trip whatever the batch size.
    cur.execute(
        "INSERT INTO readings (user_id, device_pk, ts, power_w) "
        "SELECT * FROM unnest(%s::int4[], %s::int4[], %s::timestamptz[], %s::float8[]) "
        "ON CONFLICT DO NOTHING",
        (list(users), list(devices), list(stamps), list(powers)),
    )
    return cur.rowcount


def mark_hours_dirty(conn: Connection, rows: Sequence[tuple[int, int, datetime]]) -> None:
    """Mark ``(user_id, device_pk, hour_start)`` for recomputation; an existing mark gets a new
    version so that a job run that read the old one will not clear it."""
    if not rows:
        return
    rows = sorted(
        set(rows), key=lambda r: (r[1], r[2])
    )  # fixed order: no deadlocks between writers
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
        "SELECT u, d, h, 1 FROM unnest(%s::int4[], %s::int4[], %s::timestamptz[]) AS x(u, d, h) "
        "ON CONFLICT (user_id, device_pk, hour_start) "
        "DO UPDATE SET version = dirty_hours.version + 1",
        (list(users), list(devices), list(hours)),
    )


def clear_dirty_hours(conn: Connection, rows: Sequence[tuple[int, int, datetime, int]]) -> int:
    """Delete the marks ``(user_id, device_pk, hour_start, version)`` still at the version read."""
    if not rows:
        return 0
    cur = conn.connection.driver_connection.cursor()
    if _is_sqlite(conn):
        cur.executemany(
            "DELETE FROM dirty_hours WHERE user_id = ? AND device_pk = ? AND hour_start = ? "
            "AND version = ?",
            [(u, d, to_epoch_us(h), v) for u, d, h, v in rows],
        )
        return cur.rowcount
    users, devices, hours, versions = zip(*rows, strict=True)
    cur.execute(
        "DELETE FROM dirty_hours AS dh USING unnest(%s::int4[], %s::int4[], %s::timestamptz[], "
        "%s::int4[]) AS x(u, d, h, v) "
        "WHERE dh.user_id = x.u AND dh.device_pk = x.d AND dh.hour_start = x.h "
        "AND dh.version = x.v",
        (list(users), list(devices), list(hours), list(versions)),
    )
    return cur.rowcount


def rollup_sql(conn: Connection) -> str:
    """One statement that recomputes the aggregates of every dirty hour up to ``:cutoff``.

    For a dirty hour H = [h, h + 1 h) of a device with gap g, the readings that can hold power in H
    are those with t in [h - g, h + 1 h). Reading i holds from t_i until min(next reading, t_i + g);
    the next reading is looked up inside that same window, which is exact: a next reading at or
    after h + 1 h would be clipped at h + 1 h anyway. All arithmetic is in integer microseconds.
    """
    if _is_sqlite(conn):
        t_us = "r.ts"
        h_us = "dh.hour_start"
        window = "r.ts >= d.h_us - d.gap_us AND r.ts < d.h_us + 3600000000"
        least, greatest = "min", "max"
    else:
        t_us = "(extract(epoch FROM r.ts) * 1000000)::int8"
        h_us = "(extract(epoch FROM dh.hour_start) * 1000000)::int8"
        window = (
            "r.ts >= d.hour_start - make_interval(secs => d.gap_us / 1000000) "
            "AND r.ts < d.hour_start + interval '1 hour'"
        )
        least, greatest = "least", "greatest"
    return f"""
WITH d AS (
    SELECT dh.user_id, dh.device_pk, dh.hour_start, {h_us} AS h_us,
           CAST(COALESCE(dev.max_gap_s, :default_gap_s) AS BIGINT) * 1000000 AS gap_us
    FROM dirty_hours dh JOIN devices dev ON dev.id = dh.device_pk
    WHERE dh.hour_start <= :cutoff
),
seg AS (
    SELECT d.user_id, d.device_pk, d.hour_start, d.h_us, d.gap_us, r.power_w,
           {t_us} AS t_us,
           LEAD({t_us}) OVER (PARTITION BY d.device_pk, d.h_us ORDER BY r.ts) AS next_us
    FROM d JOIN readings r
      ON r.user_id = d.user_id AND r.device_pk = d.device_pk AND {window}
),
held AS (
    SELECT user_id, device_pk, hour_start, h_us, t_us, power_w,
           {greatest}(0, {least}(COALESCE(next_us, t_us + gap_us), t_us + gap_us, h_us + 3600000000)
                         - {greatest}(t_us, h_us)) AS held_us
    FROM seg
)
INSERT INTO hourly_aggregates (user_id, device_pk, hour_start, energy_wh, covered_s, avg_watts,
                               min_watts, max_watts, sample_count, computed_at)
SELECT user_id, device_pk, hour_start,
       SUM(power_w * held_us) / 3600000000.0,
       SUM(held_us) / 1000000.0,
       CASE WHEN SUM(held_us) > 0 THEN SUM(power_w * held_us) / SUM(held_us) END,
       MIN(CASE WHEN t_us >= h_us THEN power_w END),
       MAX(CASE WHEN t_us >= h_us THEN power_w END),
       COUNT(CASE WHEN t_us >= h_us THEN 1 END),
       :computed_at
FROM held
GROUP BY user_id, device_pk, hour_start, h_us
HAVING SUM(held_us) > 0 OR COUNT(CASE WHEN t_us >= h_us THEN 1 END) > 0
ON CONFLICT (user_id, device_pk, hour_start) DO UPDATE SET
    energy_wh = excluded.energy_wh,
    covered_s = excluded.covered_s,
    avg_watts = excluded.avg_watts,
    min_watts = excluded.min_watts,
    max_watts = excluded.max_watts,
    sample_count = excluded.sample_count,
    computed_at = excluded.computed_at
"""


def try_rollup_lock(conn: Connection) -> bool:
    """PostgreSQL: a transaction-level advisory lock, released by commit or rollback."""
    if _is_sqlite(conn):
        return True  # SQLite uses scheduler_file_lock() around the whole run instead.
    return bool(conn.exec_driver_sql("SELECT pg_try_advisory_xact_lock(7424001)").scalar())


@contextmanager
def scheduler_file_lock(database_url: str) -> Iterator[bool]:
    """SQLite: an exclusive ``flock`` beside the database file; yields False when another has it."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        yield True
        return
    path = Path(url.database).expanduser().with_suffix(".rollup.lock")
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

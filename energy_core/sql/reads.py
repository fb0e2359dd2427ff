"""The reads' SQL, for SQLite and PostgreSQL: sums of clean stored hours per span and device, the
raw readings of a few windows, the hours that hold a device's extreme reading, and a reading's
instant as integer microseconds. The household's net per hour is in ``sql.nets``."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import chain, pairwise

import numpy as np
from sqlalchemy import Connection, Float, Integer, bindparam, text

from energy_core.sql import is_sqlite
from energy_core.sql.arrays import float_rows
from energy_core.types import UTCDateTime, to_epoch_us


def reading_ts_us_sql(conn: Connection) -> str:
    """SQL for a reading's ``ts`` as integer microseconds since the epoch: SQLite stores it that
    way; on PostgreSQL float8 ``date_part`` is cheaper than numeric ``extract``."""
    return "ts" if is_sqlite(conn) else "CAST(date_part('epoch', ts) * 1000000 AS int8)"


def pk_list(pks: Sequence[int]) -> str:
    return ", ".join(str(int(pk)) for pk in pks)


# Dirty hours of the range are few (the current hour): one hashed list, not a probe per row. They
# are left out here and integrated from raw readings instead. A read that found none in the range
# leaves the check out (``dirty=False``): it cost a probe per stored hour for nothing.
_CLEAN = """
  AND a.hour_start >= :full_start AND a.hour_start < :full_end"""
_NOT_DIRTY = """
  AND (a.device_pk, a.hour_start) NOT IN (
      SELECT d.device_pk, d.hour_start FROM dirty_hours d
      WHERE d.user_id = :user_id AND d.hour_start >= :full_start AND d.hour_start < :full_end
  )"""


# On SQLite, all of the user's devices as a list: it lets SQLite walk each device's run of the
# primary key (user, device, hour) instead of probing the table for every entry of the (user,
# hour) index.
_ALL_DEVICES_SQLITE = "AND a.device_pk IN (SELECT id FROM devices WHERE user_id = :user_id)"


# A ``:name`` parameter (as SQLAlchemy's text() finds them, casts left alone), for a statement
# sent to psycopg itself, which names them ``%(name)s``.
_NAMED = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")


def clean_hours_sql(dirty: bool) -> str:
    return _CLEAN + _NOT_DIRTY if dirty else _CLEAN


# The last sum is what a device drew and produced within the same hours, which its own hourly
# net cancels: import = consumed - it, export = generated - it.
_SPAN_SUMS = """SUM(a.consumed_wh), SUM(a.generated_wh), SUM(a.covered_s), MIN(a.min_watts),
       MAX(a.max_watts), SUM(a.sample_count), SUM({least}(a.consumed_wh, a.generated_wh))"""


def span_sums(
    conn: Connection,
    *,
    user_id: int,
    device_pks: Sequence[int] | None,
    bounds: Sequence[datetime],
    full_start: datetime,
    full_end: datetime,
    dirty: bool = True,
    only: Sequence[tuple[datetime, datetime, Sequence[int] | None]] | None = None,
) -> np.ndarray:
    """Per span and device, the clean stored hours of ``[full_start, full_end)``: one row (span
    index, device_pk, consumed_wh, generated_wh, covered_s, min_w, max_w, samples, cancelled_wh)
    per (span, device) with stored hours, as floats (NaN: no extreme), where cancelled_wh sums
    min(consumed, generated) per hour: the device's own hourly import is consumed - cancelled,
    its export generated - cancelled.
    Spans are the consecutive ``bounds`` (n + 1 instants for n spans); an hour belongs to the span
    its start falls in. ``device_pks`` None means all of the user's devices. ``dirty`` False says
    that no hour of the range is marked dirty (none is left out). ``only``: just the hours in
    these ranges ``[lo, hi)``, each of the devices given (None: of every device), where the
    rest of the range is read from daily rows (``stats.days``).

    The rows are read through the driver's own cursor into one array: a month by day of 500
    devices is 15k rows, and a Row object per row (then a tuple per row again for the array)
    cost more Python time than the server took to sum them."""
    if is_sqlite(conn):
        devices = (
            f"AND a.device_pk IN ({pk_list(device_pks)})"
            if device_pks is not None
            else _ALL_DEVICES_SQLITE
        )
        edges = [to_epoch_us(b) for b in bounds]
        within = _only_sql(only, sqlite=True)
        if len(edges) - 1 <= _SPANS_ONE_BY_ONE:
            # A few spans (a month by day): one SELECT per span, grouped by device alone, so
            # that each walks the devices' runs of the primary key in its own order and groups
            # them as they come. Grouped by span and device at once, SQLite sorted every stored
            # hour of the range first (a month of 500 devices: 0.43 s of CPU against 0.26 s).
            # Each span's own bounds (within the whole hours) are its range of the key: with the
            # whole hours' range beside them, SQLite walked that one in every SELECT.
            low, high = to_epoch_us(full_start), to_epoch_us(full_end)
            not_dirty = _NOT_DIRTY if dirty else ""
            sql = (
                "\nUNION ALL\n".join(
                    f"""SELECT {i} AS idx, a.device_pk, {_SPAN_SUMS.format(least="min")}
FROM hourly_aggregates a
WHERE a.user_id = :user_id {devices}
  AND a.hour_start >= {max(lo, low)} AND a.hour_start < {min(hi, high)} {not_dirty}
  {within}
GROUP BY a.device_pk"""
                    for i, (lo, hi) in enumerate(pairwise(edges))
                    if lo < high and hi > low and _meets(only, lo, hi)
                )
                or "SELECT 0 WHERE 0"
            )
        else:
            # Many spans: each stored hour finds its span by a binary search written out as
            # nested CASEs over the bounds (SQLite has no width_bucket), so the sums are taken
            # in SQL for any number of spans. (Reading the hours out to bisect them in Python
            # took most of a month's read; joining them to a VALUES list of spans, seconds.)
            index = _span_index_sqlite("a.hour_start", edges)
            sql = f"""
SELECT {index} AS idx, a.device_pk, {_SPAN_SUMS.format(least="min")}
FROM hourly_aggregates a
WHERE a.user_id = :user_id {devices} {clean_hours_sql(dirty)} {within}
GROUP BY a.device_pk, idx
HAVING idx IS NOT NULL
"""
        params: dict = {
            "user_id": user_id,
            "full_start": to_epoch_us(full_start),
            "full_end": to_epoch_us(full_end),
        }
    else:
        chunks = _span_chunks(conn, user_id=user_id, device_pks=device_pks, spans=len(bounds) - 1)
        if chunks > 1:
            return _span_sums_in_chunks(
                conn,
                chunks=chunks,
                user_id=user_id,
                device_pks=device_pks,
                bounds=bounds,
                full_start=full_start,
                full_end=full_end,
                dirty=dirty,
                only=only,
            )
        devices = f"AND a.device_pk IN ({pk_list(device_pks)})" if device_pks is not None else ""
        # width_bucket is a binary search over the sorted span bounds: no join at all. Every
        # column is a float8 that is never NULL (NaN: no extreme), read as one array.
        sql = f"""
SELECT CAST(width_bucket(a.hour_start, CAST(%(bounds)s AS timestamptz[])) - 1 AS float8),
       CAST(a.device_pk AS float8), SUM(a.consumed_wh), SUM(a.generated_wh), SUM(a.covered_s),
       COALESCE(MIN(a.min_watts), 'NaN'), COALESCE(MAX(a.max_watts), 'NaN'),
       CAST(SUM(a.sample_count) AS float8), SUM(least(a.consumed_wh, a.generated_wh))
FROM hourly_aggregates a
WHERE a.user_id = %(user_id)s {devices} {clean_hours_sql(dirty)} {_only_sql(only, sqlite=False)}
GROUP BY 1, a.device_pk
"""
        sql = _NAMED.sub(r"%(\1)s", sql)
        params = {
            "user_id": user_id,
            "full_start": full_start,
            "full_end": full_end,
            "bounds": list(bounds),
        }
        return float_rows(conn, sql, params, SPAN_SUMS_WIDTH)
    rows = conn.connection.driver_connection.execute(sql, params).fetchall()
    return np.fromiter(
        chain.from_iterable(rows), dtype=np.float64, count=len(rows) * SPAN_SUMS_WIDTH
    ).reshape(-1, SPAN_SUMS_WIDTH)


def _only_sql(
    only: Sequence[tuple[datetime, datetime, Sequence[int] | None]] | None, *, sqlite: bool
) -> str:
    """The condition that keeps the stored hours of ``only`` (see ``span_sums``): "" for all."""
    if only is None:
        return ""

    def instant(moment: datetime) -> str:
        return str(to_epoch_us(moment)) if sqlite else f"TIMESTAMPTZ '{moment.isoformat()}'"

    terms = []
    for lo, hi, pks in only:
        term = f"a.hour_start >= {instant(lo)} AND a.hour_start < {instant(hi)}"
        if pks is not None:
            term += f" AND a.device_pk IN ({pk_list(pks) or 'NULL'})"
        terms.append(f"({term})")
    return f"AND ({' OR '.join(terms) or 'false'})"


def _meets(
    only: Sequence[tuple[datetime, datetime, Sequence[int] | None]] | None, lo: int, hi: int
) -> bool:
    """Whether the span ``[lo, hi)`` (microseconds) holds any hour ``only`` keeps."""
    if only is None:
        return True
    return any(to_epoch_us(a) < hi and to_epoch_us(b) > lo for a, b, _ in only)


# At most about this many rows of ``span_sums`` in one array on PostgreSQL (9 float8 of 12 bytes
# each on the wire: about 27 MB). The array is built whole in the server's memory first, and a
# year of 500 devices by hour (4.4 M rows) needed about 1 GB, the most one value may hold.
SPAN_SUMS_CHUNK_ROWS = 250_000


def _span_chunks(
    conn: Connection, *, user_id: int, device_pks: Sequence[int] | None, spans: int
) -> int:
    """Into how many reads ``span_sums`` splits its spans so that none returns more than about
    ``SPAN_SUMS_CHUNK_ROWS`` rows: at most one row per span and device."""
    if spans <= SPAN_SUMS_CHUNK_ROWS // 10_000:
        return 1  # no household has 10,000 devices: not worth counting them
    if device_pks is None:
        devices = conn.exec_driver_sql(
            "SELECT count(*) FROM devices WHERE user_id = %(user_id)s", {"user_id": user_id}
        ).scalar()
    else:
        devices = len(device_pks)
    return max(1, -(-spans * max(devices, 1) // SPAN_SUMS_CHUNK_ROWS))


def _span_sums_in_chunks(
    conn: Connection,
    *,
    chunks: int,
    bounds: Sequence[datetime],
    full_start: datetime,
    full_end: datetime,
    **choice,
) -> np.ndarray:
    """``span_sums`` read as ``chunks`` reads of consecutive spans, each of the whole hours of its
    own spans, the span indexes shifted back to the whole range's."""
    spans = len(bounds) - 1
    step = -(-spans // chunks)
    parts = []
    for first in range(0, spans, step):
        last = min(first + step, spans)
        lo, hi = max(full_start, bounds[first]), min(full_end, bounds[last])
        if lo >= hi:
            continue
        part = span_sums(
            conn,
            bounds=bounds[first : last + 1],
            full_start=lo,
            full_end=hi,
            **choice,
        )
        part[:, 0] += first
        parts.append(part)
    if not parts:
        return np.empty((0, SPAN_SUMS_WIDTH), dtype=np.float64)
    return np.concatenate(parts)


# Up to this many spans, SQLite sums each span in a SELECT of its own (see span_sums).
_SPANS_ONE_BY_ONE = 64

# The columns of a ``span_sums`` row.
SPAN_SUMS_WIDTH = 9


def _span_index_sqlite(column: str, edges: Sequence[int]) -> str:
    """SQL for the index of the span ``[edges[i], edges[i + 1])`` that holds ``column`` (NULL
    outside the edges): a binary search as nested CASEs, log2(spans) comparisons per row."""

    def search(lo: int, hi: int) -> str:
        if hi - lo == 1:
            return str(lo)
        mid = (lo + hi) // 2
        return (
            f"CASE WHEN {column} < {int(edges[mid])} THEN {search(lo, mid)} "
            f"ELSE {search(mid, hi)} END"
        )

    if len(edges) < 2:
        return "NULL"
    return (
        f"CASE WHEN {column} < {int(edges[0])} OR {column} >= {int(edges[-1])} THEN NULL "
        f"ELSE {search(0, len(edges) - 1)} END"
    )


def dirty_hours_between(
    conn: Connection, *, user_id: int, start: datetime, end: datetime
) -> list[tuple[int, datetime]]:
    """The user's (device_pk, hour_start) marked dirty in ``[start, end)``: a handful."""
    statement = (
        text(
            "SELECT device_pk, hour_start FROM dirty_hours WHERE user_id = :user_id "
            "AND hour_start >= :start AND hour_start < :end"
        )
        .bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))
        .columns(device_pk=Integer(), hour_start=UTCDateTime())
    )
    return [
        tuple(r) for r in conn.execute(statement, {"user_id": user_id, "start": start, "end": end})
    ]


def readings_of_windows(
    conn: Connection,
    *,
    user_id: int,
    windows: Sequence[tuple[int, datetime, datetime]],
    gaps: dict[int, int],
) -> dict[int, list[tuple[datetime, float]]]:
    """The readings each ``(device_pk, a, b)`` window needs (from ``a - max_gap`` to ``b``), in
    one query for all windows: only those few hours are read, however far apart they lie."""
    if not windows:
        return {}
    values, params, binds = [], {"user_id": user_id}, []
    for i, (device_pk, a, b) in enumerate(windows):
        values.append(f"({i}, {int(device_pk)}, :lo{i}, :hi{i})")
        params[f"lo{i}"] = a - timedelta(seconds=gaps[device_pk])
        params[f"hi{i}"] = b
        binds += [
            bindparam(f"lo{i}", type_=UTCDateTime()),
            bindparam(f"hi{i}", type_=UTCDateTime()),
        ]
    statement = (
        text(
            f"""
WITH w (i, device_pk, lo, hi) AS (VALUES {", ".join(values)})
SELECT w.i, r.ts, r.power_w
FROM w
JOIN readings r
  ON r.user_id = :user_id AND r.device_pk = w.device_pk AND r.ts >= w.lo AND r.ts < w.hi
ORDER BY w.i, r.ts
"""
        )
        .bindparams(*binds)
        .columns(i=Integer(), ts=UTCDateTime(), power_w=Float())
    )
    found: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    for i, ts, power_w in conn.execute(statement, params):
        found[i].append((ts, power_w))
    return found


def hours_reaching(
    conn: Connection,
    *,
    user_id: int,
    device_pk: int,
    full_start: datetime,
    full_end: datetime,
    largest: bool,
    power_w: float,
) -> list[datetime]:
    """The stored hours of ``[full_start, full_end)`` whose largest (or smallest) reading is
    exactly ``power_w`` (a known extreme), earliest first: a handful at most."""
    column = "max_watts" if largest else "min_watts"
    statement = (
        text(
            f"SELECT hour_start FROM hourly_aggregates WHERE user_id = :user_id "
            f"AND device_pk = :device_pk AND hour_start >= :full_start AND hour_start < :full_end "
            f"AND {column} = :power_w ORDER BY hour_start"
        )
        .bindparams(
            bindparam("full_start", type_=UTCDateTime()),
            bindparam("full_end", type_=UTCDateTime()),
        )
        .columns(hour_start=UTCDateTime())
    )
    return list(
        conn.execute(
            statement,
            {
                "user_id": user_id,
                "device_pk": device_pk,
                "full_start": full_start,
                "full_end": full_end,
                "power_w": power_w,
            },
        ).scalars()
    )


def first_reading_at_power(
    conn: Connection,
    *,
    user_id: int,
    device_pk: int,
    start: datetime,
    end: datetime,
    power_w: float,
) -> datetime | None:
    """The first instant in ``[start, end)`` with a reading of exactly ``power_w`` (the instant of
    a known extreme), or None when those readings are no longer kept."""
    statement = (
        text(
            "SELECT ts FROM readings WHERE user_id = :user_id AND device_pk = :device_pk "
            "AND ts >= :start AND ts < :end AND power_w = :power_w ORDER BY ts LIMIT 1"
        )
        .bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))
        .columns(ts=UTCDateTime())
    )
    return conn.execute(
        statement,
        {
            "user_id": user_id,
            "device_pk": device_pk,
            "start": start,
            "end": end,
            "power_w": power_w,
        },
    ).scalar()

"""The reads' SQL, for SQLite and PostgreSQL: sums of clean stored hours per span and device, the
household's net per hour, the raw readings of a few windows, the hours that hold a device's
extreme reading, and a reading's instant as integer microseconds."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ARRAY, Connection, DateTime, Float, Integer, bindparam, text

from energy_core.sql import is_sqlite
from energy_core.types import UTCDateTime, to_epoch_us


def reading_ts_us_sql(conn: Connection) -> str:
    """SQL for a reading's ``ts`` as integer microseconds since the epoch: SQLite stores it that
    way; on PostgreSQL float8 ``date_part`` is cheaper than numeric ``extract``."""
    return "ts" if is_sqlite(conn) else "CAST(date_part('epoch', ts) * 1000000 AS int8)"


def _pk_list(pks: Sequence[int]) -> str:
    return ", ".join(str(int(pk)) for pk in pks)


# Dirty hours of the range are few (the current hour): one hashed list, not a probe per row. They
# are left out here and integrated from raw readings instead.
_CLEAN = """
  AND a.hour_start >= :full_start AND a.hour_start < :full_end
  AND (a.device_pk, a.hour_start) NOT IN (
      SELECT d.device_pk, d.hour_start FROM dirty_hours d
      WHERE d.user_id = :user_id AND d.hour_start >= :full_start AND d.hour_start < :full_end
  )"""

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
) -> list[tuple]:
    """Per span and device, the clean stored hours of ``[full_start, full_end)``: rows (span
    index, device_pk, consumed_wh, generated_wh, covered_s, min_w, max_w, samples, cancelled_wh)
    where cancelled_wh sums min(consumed, generated) per hour: the device's own hourly import is
    consumed - cancelled, its export generated - cancelled.
    Spans are the consecutive ``bounds`` (n + 1 instants for n spans); an hour belongs to the span
    its start falls in. ``device_pks`` None means all of the user's devices."""
    params: dict = {"user_id": user_id, "full_start": full_start, "full_end": full_end}
    binds = [
        bindparam("full_start", type_=UTCDateTime()),
        bindparam("full_end", type_=UTCDateTime()),
    ]
    devices = f"AND a.device_pk IN ({_pk_list(device_pks)})" if device_pks is not None else ""
    if is_sqlite(conn) and len(bounds) - 1 > SQLITE_JOINED_SPANS:
        return _span_sums_bisected(conn, params, binds, devices, bounds)
    if is_sqlite(conn):
        values = []
        for i, (lo, hi) in enumerate(zip(bounds, bounds[1:], strict=False)):
            values.append(f"({i}, :lo{i}, :hi{i})")
            params[f"lo{i}"], params[f"hi{i}"] = lo, hi
            binds += [
                bindparam(f"lo{i}", type_=UTCDateTime()),
                bindparam(f"hi{i}", type_=UTCDateTime()),
            ]
        sql = f"""
WITH spans (idx, lo, hi) AS (VALUES {", ".join(values)})
SELECT s.idx, a.device_pk, {_SPAN_SUMS.format(least="min")}
FROM hourly_aggregates a
JOIN spans s ON a.hour_start >= s.lo AND a.hour_start < s.hi
WHERE a.user_id = :user_id {devices} {_CLEAN}
GROUP BY s.idx, a.device_pk
"""
    else:
        # width_bucket is a binary search over the sorted span bounds: no join at all.
        params["bounds"] = list(bounds)
        binds.append(bindparam("bounds", type_=ARRAY(DateTime(timezone=True))))
        sql = f"""
SELECT width_bucket(a.hour_start, CAST(:bounds AS timestamptz[])) - 1 AS idx, a.device_pk,
       {_SPAN_SUMS.format(least="least")}
FROM hourly_aggregates a
WHERE a.user_id = :user_id {devices} {_CLEAN}
GROUP BY 1, a.device_pk
"""
    return conn.execute(text(sql).bindparams(*binds), params).all()


# SQLite has no width_bucket: it matches every stored hour against every span of a VALUES list,
# which took seconds for the 720 hourly spans of a month. Beyond a day of hourly spans, the hours
# are read once and each is put in its span by a binary search here, with the same sums.
SQLITE_JOINED_SPANS = 24


def _span_sums_bisected(
    conn: Connection, params: dict, binds: list, devices: str, bounds: Sequence[datetime]
) -> list[tuple]:
    """``span_sums`` on SQLite for many spans (see ``SQLITE_JOINED_SPANS``)."""
    sql = f"""
SELECT a.hour_start, a.device_pk, a.consumed_wh, a.generated_wh, a.covered_s, a.min_watts,
       a.max_watts, a.sample_count, min(a.consumed_wh, a.generated_wh)
FROM hourly_aggregates a
WHERE a.user_id = :user_id {devices} {_CLEAN}
"""
    edges = [to_epoch_us(b) for b in bounds]
    sums: dict[tuple[int, int], list] = {}
    rows = conn.execute(text(sql).bindparams(*binds), params).all()
    for hour_us, pk, consumed, generated, covered, min_w, max_w, samples, cancelled in rows:
        idx = bisect_right(edges, hour_us) - 1
        if idx < 0 or idx >= len(edges) - 1:
            continue
        row = sums.get((idx, pk))
        if row is None:
            sums[(idx, pk)] = [consumed, generated, covered, min_w, max_w, samples, cancelled]
            continue
        row[0] += consumed
        row[1] += generated
        row[2] += covered
        row[3] = min_w if row[3] is None else row[3] if min_w is None else min(row[3], min_w)
        row[4] = max_w if row[4] is None else row[4] if max_w is None else max(row[4], max_w)
        row[5] += samples
        row[6] += cancelled
    return [(idx, pk, *values) for (idx, pk), values in sums.items()]


def hourly_nets(
    conn: Connection,
    *,
    user_id: int,
    counted_pks: Sequence[int] | None,
    meter_pks: Sequence[int],
    full_start: datetime,
    full_end: datetime,
) -> list[tuple[datetime, float, float, float, float]]:
    """Per clean stored hour of ``[full_start, full_end)``: (hour_start, net of the counted
    devices = consumed - generated, and the grid meters' consumed, generated and covered_s).
    ``counted_pks`` None means all of the user's devices that are not meters."""
    params: dict = {"user_id": user_id, "full_start": full_start, "full_end": full_end}
    binds = [
        bindparam("full_start", type_=UTCDateTime()),
        bindparam("full_end", type_=UTCDateTime()),
    ]
    meters = _pk_list(meter_pks) if meter_pks else "NULL"
    if counted_pks is None:
        devices = ""
    else:
        devices = f"AND a.device_pk IN ({_pk_list([*counted_pks, *meter_pks]) or 'NULL'})"
    sql = f"""
SELECT a.hour_start,
       SUM(CASE WHEN a.device_pk IN ({meters}) THEN 0
                ELSE a.consumed_wh - a.generated_wh END),
       SUM(CASE WHEN a.device_pk IN ({meters}) THEN a.consumed_wh ELSE 0 END),
       SUM(CASE WHEN a.device_pk IN ({meters}) THEN a.generated_wh ELSE 0 END),
       SUM(CASE WHEN a.device_pk IN ({meters}) THEN a.covered_s ELSE 0 END)
FROM hourly_aggregates a
WHERE a.user_id = :user_id {devices} {_CLEAN}
GROUP BY a.hour_start
"""
    statement = text(sql).bindparams(*binds).columns(hour_start=UTCDateTime())
    return [tuple(row) for row in conn.execute(statement, params)]


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

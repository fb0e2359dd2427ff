"""The reads' SQL: sums of stored hours per period, and a reading's instant as integer
microseconds, for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ARRAY, Connection, DateTime, bindparam, text
from sqlalchemy.sql.elements import TextClause

from energy_core.sql import is_sqlite
from energy_core.types import UTCDateTime


def reading_ts_us_sql(conn: Connection) -> str:
    """SQL for a reading's ``ts`` as integer microseconds since the epoch: SQLite stores it that
    way; on PostgreSQL float8 ``date_part`` is cheaper than numeric ``extract``."""
    return "ts" if is_sqlite(conn) else "CAST(date_part('epoch', ts) * 1000000 AS int8)"


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

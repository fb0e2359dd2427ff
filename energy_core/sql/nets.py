"""The household's net per stored hour, for SQLite and PostgreSQL: what a series needs to take
grid import, export and cost hour by hour wherever something generates or a grid meter
measures the flows (``stats.sums.add_stored_hours``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import chain

import numpy as np
from sqlalchemy import Connection, bindparam, text

from energy_core.sql import is_sqlite
from energy_core.sql.reads import clean_hours_sql, pk_list
from energy_core.types import UTCDateTime, from_epoch_us, to_epoch_us


def hourly_nets(
    conn: Connection,
    *,
    user_id: int,
    counted_pks: Sequence[int] | None,
    meter_pks: Sequence[int],
    full_start: datetime,
    full_end: datetime,
    dirty: bool = True,
) -> list[tuple[datetime, float, float, float, float]]:
    """Per clean stored hour of ``[full_start, full_end)``: (hour_start, net of the counted
    devices = consumed - generated, and the grid meters' consumed, generated and covered_s).
    ``counted_pks`` None means all of the user's devices that are not meters; ``dirty`` as in
    ``span_sums``."""
    params: dict = {"user_id": user_id, "full_start": full_start, "full_end": full_end}
    binds = [
        bindparam("full_start", type_=UTCDateTime()),
        bindparam("full_end", type_=UTCDateTime()),
    ]
    meters = pk_list(meter_pks) if meter_pks else "NULL"
    if counted_pks is None:
        devices = ""
    else:
        devices = f"AND a.device_pk IN ({pk_list([*counted_pks, *meter_pks]) or 'NULL'})"
    if is_sqlite(conn):
        return _hourly_nets_sqlite(
            conn,
            user_id=user_id,
            devices=devices,
            meters=meters if meter_pks else None,
            where=clean_hours_sql(dirty),
            full_start=full_start,
            full_end=full_end,
        )
    if meter_pks:
        sums = f"""SUM(CASE WHEN a.device_pk IN ({meters}) THEN 0
                ELSE a.consumed_wh - a.generated_wh END),
       SUM(CASE WHEN a.device_pk IN ({meters}) THEN a.consumed_wh ELSE 0 END),
       SUM(CASE WHEN a.device_pk IN ({meters}) THEN a.generated_wh ELSE 0 END),
       SUM(CASE WHEN a.device_pk IN ({meters}) THEN a.covered_s ELSE 0 END)"""
    else:
        # No grid meter: the net alone, not four CASEs per stored hour that all say "not a
        # meter" (a month of 500 devices: about 100k of them).
        sums = "SUM(a.consumed_wh - a.generated_wh), " + ", ".join(["CAST(0 AS float8)"] * 3)
    sql = f"""
SELECT a.hour_start, {sums}
FROM hourly_aggregates a
WHERE a.user_id = :user_id {devices} {clean_hours_sql(dirty)}
GROUP BY a.hour_start
"""
    statement = text(sql).bindparams(*binds).columns(hour_start=UTCDateTime())
    return [tuple(row) for row in conn.execute(statement, params)]


def _hourly_nets_sqlite(
    conn: Connection,
    *,
    user_id: int,
    devices: str,
    meters: str | None,
    where: str,
    full_start: datetime,
    full_end: datetime,
) -> list[tuple[datetime, float, float, float, float]]:
    """``hourly_nets`` on SQLite (``devices`` "": all of the user's devices). For the whole
    household the hours are summed in SQL from the index by (user, hour), which holds the
    columns the sums need in device order within each hour (migration 0107): nothing is looked
    up in the table and nothing is sorted.

    For some of the devices, the stored hours are read along the primary key, one device's run
    after another, and summed per hour here: by the index, each of its entries for the range
    would be filtered by device, and by the key SQLite has no hashed GROUP BY (it sorted every
    stored hour). Either way each hour's sums add its devices in the order of their keys."""
    params = {
        "user_id": user_id,
        "full_start": to_epoch_us(full_start),
        "full_end": to_epoch_us(full_end),
    }
    if meters is None:
        values = ["a.consumed_wh - a.generated_wh"]
    else:
        values = [
            f"CASE WHEN a.device_pk IN ({meters}) THEN 0 ELSE a.consumed_wh - a.generated_wh END",
            *(
                f"CASE WHEN a.device_pk IN ({meters}) THEN a.{column} ELSE 0 END"
                for column in ("consumed_wh", "generated_wh", "covered_s")
            ),
        ]
    driver = conn.connection.driver_connection
    if not devices:
        sums = [f"SUM({value})" for value in values]
        sums += ["0.0"] * (4 - len(sums))
        sql = (
            f"SELECT a.hour_start, {', '.join(sums)} FROM hourly_aggregates a "
            f"WHERE a.user_id = :user_id {where} GROUP BY a.hour_start"
        )
        return [(from_epoch_us(row[0]), *row[1:]) for row in driver.execute(sql, params)]
    sql = (
        f"SELECT a.hour_start, {', '.join(values)} FROM hourly_aggregates a "
        f"WHERE a.user_id = :user_id {devices} {where}"
    )
    # The driver's own rows (plain tuples): 100k Row objects would cost more than the sums.
    rows = driver.execute(sql, params).fetchall()
    if not rows:
        return []
    width = len(rows[0])
    table = np.fromiter(
        chain.from_iterable(rows), dtype=np.float64, count=len(rows) * width
    ).reshape(-1, width)
    # Instants are whole microseconds below 2**53: exact as floats.
    hours, at = np.unique(table[:, 0].astype(np.int64), return_inverse=True)
    per_hour = [np.bincount(at, weights=table[:, k], minlength=len(hours)) for k in range(1, width)]
    zeros = np.zeros(len(hours))
    while len(per_hour) < 4:
        per_hour.append(zeros)
    return list(
        zip(
            [from_epoch_us(int(us)) for us in hours],
            *(column.tolist() for column in per_hour),
            strict=True,
        )
    )


__all__ = ["hourly_nets"]

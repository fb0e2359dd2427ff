"""Daily aggregates: each device's stored hours summed per local day of its household, kept by
the rollup in the transaction that writes the hours (docs/scale.md, "A month by day of 500
devices").

A row says which UTC instants it sums between (two local midnights), so it is never wrong in
another timezone: it just matches no period there. The zone the rows of a household are kept in
is recorded (``daily_zones``); reads use them only for periods in that zone, and a household whose
timezone was changed has its rows built again by the next rollup (until then reads sum hours)."""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from energy_core.sql import daily as sql
from energy_core.stats.period import floor_period, next_period
from energy_core.types import from_epoch_us, to_epoch_us

log = logging.getLogger(__name__)

HOUR_US = 3_600_000_000


def local_days(first_us: int, last_us: int, tz: ZoneInfo) -> list[tuple[int, int]]:
    """The local days (UTC bounds in microseconds) that hold the hours starting from ``first_us``
    through ``last_us``, in order: cut as the read layer cuts periods of a day, so that a day here
    and a period there have equal bounds."""
    cursor = floor_period(from_epoch_us(first_us), "day", tz)
    days = []
    while (lo := to_epoch_us(cursor.astimezone(UTC))) <= last_us:
        following = next_period(cursor, "day", tz)
        days.append((lo, to_epoch_us(following.astimezone(UTC))))
        cursor = following
    return days


def keep_days_of_hours(
    conn: Connection,
    hours: Iterable[tuple[int, int, int, int]],
    *,
    zones: Mapping[int, str] | None = None,
) -> int:
    """Sum again the daily rows of the days that hold the stored hours just written: ``hours``
    are ``(user_id, device_pk, first hour, end hour)`` in microseconds, the end exclusive.
    ``zones``: the zone each household's rows are kept in, when the caller read them already
    (households without rows left out); else they are looked up. Days of households whose rows
    are not built yet are left to ``keep_zones``. Returns the rows written."""
    by_user: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for user_id, device_pk, lo, hi in hours:
        by_user[user_id].append((device_pk, lo, hi))
    if zones is None:
        zones = sql.zones(conn, list(by_user))
    days: set[tuple[int, int, int, int]] = set()
    for user_id, ranges in by_user.items():
        zone = zones.get(user_id)
        if zone is None:
            continue
        calendar = local_days(
            min(lo for _, lo, _ in ranges), max(hi for _, _, hi in ranges) - HOUR_US, ZoneInfo(zone)
        )
        starts = [lo for lo, _ in calendar]
        for device_pk, lo, hi in ranges:
            first = bisect_right(starts, lo) - 1
            last = bisect_right(starts, hi - HOUR_US) - 1
            for day in calendar[first : last + 1]:
                days.add((user_id, device_pk, *day))
    return sql.refresh_days(conn, sorted(days))


def keep_days_of_marks(
    conn: Connection,
    marks: Sequence[tuple[int, int, int]],
    *,
    zones: Mapping[int, str] | None = None,
) -> int:
    """``keep_days_of_hours`` for the (user_id, device_pk, hour) marks a rollup batch
    recomputed (microseconds), with the zones read with them if given."""
    return keep_days_of_hours(conn, ((u, d, h, h + HOUR_US) for u, d, h in marks), zones=zones)


def keep_days_of_ranges(conn: Connection, ranges: Sequence[tuple[int, int, int]]) -> int:
    """``keep_days_of_hours`` for a rebuild's (device_pk, first hour, end hour) ranges."""
    devices = sql.device_zones(conn, [pk for pk, _, _ in ranges])
    zones = {user_id: zone for user_id, zone in devices.values() if zone is not None}
    return keep_days_of_hours(
        conn,
        ((devices[pk][0], pk, lo, hi) for pk, lo, hi in ranges if pk in devices),
        zones=zones,
    )


def build_household_days(conn: Connection, *, user_id: int, timezone: str) -> int:
    """Every daily row of one household built again in ``timezone`` from its stored hours, and
    that zone recorded, in the caller's transaction. Returns the rows written."""
    found = sql.stored_hour_range(conn, user_id)
    days = local_days(*found, ZoneInfo(timezone)) if found else []
    return sql.replace_household_days(conn, user_id=user_id, timezone=timezone, days=days)


def keep_zones(conn: Connection) -> int:
    """Build the daily rows of every household whose rows are not kept in its own timezone
    (new households, and those whose timezone was changed), in the caller's transaction.
    Returns the number of households built."""
    stale = sql.stale_zones(conn)
    for user_id, timezone in stale:
        rows = build_household_days(conn, user_id=user_id, timezone=timezone)
        if rows:
            log.info(
                "daily aggregates of household %d built in %s: %d rows", user_id, timezone, rows
            )
    return len(stale)


__all__ = [
    "build_household_days",
    "keep_days_of_hours",
    "keep_days_of_marks",
    "keep_days_of_ranges",
    "keep_zones",
    "local_days",
]

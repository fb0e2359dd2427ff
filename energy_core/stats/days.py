"""Stored sums of whole local days: where a span of a series is exactly one local day of the
selection's timezone, its devices' sums come from the daily aggregates the rollup keeps (one row
per device and day) instead of from every stored hour of the day.

The daily rows are used only when they are kept in the selection's timezone, for the days whose
stored hours all lie within the whole hours of the range, and not for a device's day that holds
a dirty hour: such a day is summed from its clean hours (its dirty hours from raw readings), as
before. Every other hour of the range is summed from the stored hours. A day's row is the sum of
the same stored hours the hourly read would add up, so the figures are the same (sums of floats
up to the order they are added in; see docs/scale.md)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial

import numpy as np
from sqlalchemy import Connection

from energy_core.sql import daily as daily_sql
from energy_core.sql import reads as sql
from energy_core.stats.period import floor_period, next_period
from energy_core.stats.selection import Selection
from energy_core.types import ceil_hour, to_epoch_us

# A local day is 23 to 25 hours long (a whole hour of clock change at most, in any zone in use).
_SHORTEST_DAY = timedelta(hours=22)


def whole_day_spans(
    spans: Sequence, selection: Selection, full_start: datetime, full_end: datetime
) -> list[int]:
    """The indexes of the spans (counted for a period) that are exactly one local day and whose
    stored hours (those starting in the day) all lie in ``[full_start, full_end)``."""
    tz = selection.tz
    found = []
    for i, span in enumerate(spans):
        if span.period < 0 or span.hi - span.lo < _SHORTEST_DAY:
            continue
        if ceil_hour(span.lo) < full_start or ceil_hour(span.hi) > full_end:
            continue
        midnight = floor_period(span.lo, "day", tz)
        if midnight == span.lo and next_period(midnight, "day", tz) == span.hi:
            found.append(i)
    return found


def stored_span_sums(
    conn: Connection,
    *,
    selection: Selection,
    spans: Sequence,
    device_pks: Sequence[int] | None,
    full_start: datetime,
    full_end: datetime,
    dirty: Sequence[tuple[int, datetime]],
) -> np.ndarray:
    """``sql.span_sums`` of the spans, the whole local days among them from their daily rows
    where those can stand in for the hours (see the module's docstring). ``dirty``: the
    (device_pk, hour) of the range marked dirty."""
    bounds = [spans[0].lo, *(s.hi for s in spans)]
    days = whole_day_spans(spans, selection, full_start, full_end)
    if days:
        zone = daily_sql.zones(conn, [selection.user_id]).get(selection.user_id)
        if zone != selection.timezone:
            days = []
    hour_sums = partial(
        sql.span_sums,
        conn,
        user_id=selection.user_id,
        device_pks=device_pks,
        bounds=bounds,
        full_start=full_start,
        full_end=full_end,
        dirty=bool(dirty),
    )
    if not days:
        return hour_sums()
    stored = daily_sql.day_sums(
        conn,
        user_id=selection.user_id,
        device_pks=device_pks,
        days=[(i, to_epoch_us(spans[i].lo), to_epoch_us(spans[i].hi)) for i in days],
    )
    # A device's day with a dirty hour: its clean hours instead of its row.
    starts = [s.lo for s in spans]
    day_set = set(days)
    dirty_days: dict[int, set[int]] = {}
    for pk, hour in dirty:
        s = bisect_right(starts, hour) - 1
        if s in day_set:
            dirty_days.setdefault(s, set()).add(pk)
    if dirty_days and len(stored):
        redo = np.array(
            [
                int(i) in dirty_days and int(pk) in dirty_days[int(i)]
                for i, pk in stored[:, :2].tolist()
            ],
            dtype=bool,
        )
        stored = stored[~redo]
    only: list[tuple[datetime, datetime, Sequence[int] | None]] = []
    for lo, hi in _hours_left(spans, day_set, full_start, full_end):
        only.append((lo, hi, None))
    for s, pks in sorted(dirty_days.items()):
        only.append((spans[s].lo, spans[s].hi, sorted(pks)))
    if not only:
        return stored
    hourly = hour_sums(only=only)
    return np.concatenate([stored, hourly]) if len(stored) else hourly


def _hours_left(
    spans: Sequence, days: set[int], full_start: datetime, full_end: datetime
) -> list[tuple[datetime, datetime]]:
    """The parts of ``[full_start, full_end)`` outside the day spans, as few ranges as can be."""
    ranges: list[tuple[datetime, datetime]] = []
    for i, span in enumerate(spans):
        if i in days:
            continue
        lo, hi = max(span.lo, full_start), min(span.hi, full_end)
        if lo >= hi:
            continue
        if ranges and ranges[-1][1] == lo:
            ranges[-1] = (ranges[-1][0], hi)
        else:
            ranges.append((lo, hi))
    return ranges


__all__ = ["stored_span_sums", "whole_day_spans"]

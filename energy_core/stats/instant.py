"""What the readings say instant by instant: the highest and lowest power of a selection at any
instant (docs/metrics.md, "Power together"), and the gaps in which a device's readings hold no
power (when it was offline).

Power together is the devices' step functions added up from the raw readings, as for the time
beyond a level, counted only where every device taking part holds a reading (a device in a gap
would make the sum look lower than it was). Consumers only, as consumption; a selection of
generators alone compares what they generate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from energy_core.power import held_spans
from energy_core.stats.runs import HOUR_US, held_segments, selection_spans
from energy_core.types import from_epoch_us, to_epoch_us

if TYPE_CHECKING:
    from sqlmodel import Session

    from energy_core.stats.selection import Selection


@dataclass(frozen=True)
class PowerExtremes:
    max_w: float | None
    max_at: datetime | None  # the first instant the highest power held
    min_w: float | None
    min_at: datetime | None
    devices: int  # the devices added up
    counted_s: float  # the time every device taking part held a reading (in the chosen hours)


def _taking_part(selection: Selection, sign: dict[str, float]) -> list[tuple[int, int]]:
    """(from, to) in epoch microseconds of each chosen device's part in the range."""
    start, end = selection.start.astimezone(UTC), selection.end.astimezone(UTC)
    parts = []
    for device in selection.devices:
        part = device.part_in(start, end) if device.device_id in sign else None
        if part is not None:
            parts.append((to_epoch_us(part[0]), to_epoch_us(part[1])))
    return parts


def _pieces(lo: int, hi: int, selection: Selection):  # noqa: ANN202
    """The parts of ``[lo, hi)`` in the selection's local hours and days of the week."""
    hours, weekdays = selection.hours, selection.weekdays
    if hours is None and weekdays is None:
        yield lo, hi
        return
    tz = selection.tz
    while lo < hi:
        cut = min(hi, lo - lo % HOUR_US + HOUR_US)
        local = from_epoch_us(lo).astimezone(tz)
        if (hours is None or local.hour in hours) and (
            weekdays is None or local.weekday() in weekdays
        ):
            yield lo, cut
        lo = cut


def power_extremes(session: Session, selection: Selection) -> PowerExtremes:
    """The highest and lowest total power of the selection's devices at one instant over its
    range (its hours of the day and days of the week only), with when each first held."""
    sign, _, spans = selection_spans(session, selection)
    parts = _taking_part(selection, sign)
    top = low = None
    counted_us = 0
    for lo, hi, power_w, holding in held_segments(spans, sign):
        expected = sum(1 for a, b in parts if a <= lo < b)
        if holding < expected:
            continue
        pieces = list(_pieces(lo, hi, selection))
        if not pieces:
            continue
        counted_us += sum(b - a for a, b in pieces)
        first = pieces[0][0]  # when it first held in the chosen hours
        if top is None or power_w > top[0]:
            top = (power_w, first)
        if low is None or power_w < low[0]:
            low = (power_w, first)
    return PowerExtremes(
        max_w=top[0] if top else None,
        max_at=from_epoch_us(top[1]) if top else None,
        min_w=low[0] if low else None,
        min_at=from_epoch_us(low[1]) if low else None,
        devices=len(spans),
        counted_s=counted_us / 1e6,
    )


def reading_gaps(
    session: Session, selection: Selection
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Each chosen device's gaps over its part in the range: the stretches no reading of it
    holds (docs/metrics.md: unknown, not zero), in time order."""
    start, end = selection.start.astimezone(UTC), selection.end.astimezone(UTC)
    parts = {
        d.device_id: d.part_in(start, end)
        for d in selection.devices
        if d.part_in(start, end) is not None
    }
    chosen = tuple(d for d in selection.devices if d.device_id in parts)
    spans = held_spans(
        session, user_id=selection.user_id, devices=chosen, start=selection.start, end=end
    )
    gaps: dict[str, list[tuple[datetime, datetime]]] = {}
    for device_id, (lo, hi) in parts.items():
        cursor, stop = to_epoch_us(lo), to_epoch_us(hi)
        found = []
        for span_lo, span_hi, _ in spans.get(device_id, []):
            if span_lo > cursor:
                found.append((cursor, min(span_lo, stop)))
            cursor = max(cursor, span_hi)
        if cursor < stop:
            found.append((cursor, stop))
        gaps[device_id] = [(from_epoch_us(a), from_epoch_us(b)) for a, b in found if b > a]
    return gaps


__all__ = ["PowerExtremes", "power_extremes", "reading_gaps"]

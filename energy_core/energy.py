"""Energy over any time range: whole hours from the aggregates, the rest from raw readings.

Hours still marked dirty (readings the scheduler has not rolled up yet) and the partial hours at the
ends of a range are integrated from raw readings with the same step-function rule as the SQL rollup
(DESIGN.md section 3), so a figure is current the moment a reading is stored.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from energy_core.models import Device, DirtyHour, HourlyAggregate, Reading
from energy_core.settings import Settings, get_settings

HOUR = timedelta(hours=1)


@dataclass
class EnergyFigure:
    energy_wh: float = 0.0
    covered_s: float = 0.0

    def add(self, energy_wh: float, covered_s: float) -> None:
        self.energy_wh += energy_wh
        self.covered_s += covered_s


def integrate_step(
    readings: Sequence[tuple[datetime, float]],
    *,
    start: datetime,
    end: datetime,
    max_gap_s: float,
) -> EnergyFigure:
    """Integrate sorted ``(ts, power_w)`` readings over ``[start, end)``.

    ``readings`` must include every reading from ``start - max_gap`` on (earlier ones cannot reach
    ``start``), and the reading after ``end`` if there is one is not needed.
    """
    figure = EnergyFigure()
    gap = timedelta(seconds=max_gap_s)
    first = bisect_left(readings, start - gap, key=lambda r: r[0])
    for i in range(first, len(readings)):
        ts, power_w = readings[i]
        if ts >= end:
            break
        held_until = ts + gap
        if i + 1 < len(readings) and readings[i + 1][0] < held_until:
            held_until = readings[i + 1][0]
        lo, hi = max(ts, start), min(held_until, end)
        if hi > lo:
            seconds = (hi - lo).total_seconds()
            figure.add(power_w * seconds / 3600.0, seconds)
    return figure


def _ceil_hour(ts: datetime) -> datetime:
    floor = ts.replace(minute=0, second=0, microsecond=0)
    return floor if floor == ts else floor + HOUR


def _floor_hour(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def energy_by_device(
    session: Session,
    *,
    user_id: int,
    start: datetime,
    end: datetime,
    device_pks: Iterable[int] | None = None,
    settings: Settings | None = None,
) -> dict[int, EnergyFigure]:
    """Energy and covered seconds of each of the user's devices over ``[start, end)``."""
    settings = settings or get_settings()
    devices_q = select(Device.id, Device.max_gap_s).where(Device.user_id == user_id)
    if device_pks is not None:
        devices_q = devices_q.where(col(Device.id).in_(list(device_pks)))
    gaps = {pk: gap or settings.max_gap_s for pk, gap in session.exec(devices_q)}
    result = {pk: EnergyFigure() for pk in gaps}
    if not gaps or end <= start:
        return result

    full_start, full_end = _ceil_hour(start), _floor_hour(end)
    raw_ranges: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    if full_start >= full_end:
        for pk in gaps:
            raw_ranges[pk].append((start, end))
    else:
        for pk in gaps:
            if start < full_start:
                raw_ranges[pk].append((start, full_start))
            if full_end < end:
                raw_ranges[pk].append((full_end, end))
        dirty = session.exec(
            select(DirtyHour.device_pk, DirtyHour.hour_start).where(
                DirtyHour.user_id == user_id,
                col(DirtyHour.device_pk).in_(list(gaps)),
                DirtyHour.hour_start >= full_start,
                DirtyHour.hour_start < full_end,
            )
        ).all()
        dirty_set = set(dirty)
        for pk, hour in dirty:
            raw_ranges[pk].append((hour, hour + HOUR))
        aggregates = session.exec(
            select(
                HourlyAggregate.device_pk,
                HourlyAggregate.hour_start,
                HourlyAggregate.energy_wh,
                HourlyAggregate.covered_s,
            ).where(
                HourlyAggregate.user_id == user_id,
                col(HourlyAggregate.device_pk).in_(list(gaps)),
                HourlyAggregate.hour_start >= full_start,
                HourlyAggregate.hour_start < full_end,
            )
        ).all()
        for pk, hour, energy_wh, covered_s in aggregates:
            if (pk, hour) not in dirty_set:
                result[pk].add(energy_wh, covered_s)

    for pk, ranges in raw_ranges.items():
        lo = min(a for a, _ in ranges) - timedelta(seconds=gaps[pk])
        hi = max(b for _, b in ranges)
        readings = session.exec(
            select(Reading.ts, Reading.power_w)
            .where(
                Reading.user_id == user_id,
                Reading.device_pk == pk,
                Reading.ts >= lo,
                Reading.ts < hi,
            )
            .order_by(col(Reading.ts))
        ).all()
        for a, b in ranges:
            figure = integrate_step(readings, start=a, end=b, max_gap_s=gaps[pk])
            result[pk].add(figure.energy_wh, figure.covered_s)
    return result

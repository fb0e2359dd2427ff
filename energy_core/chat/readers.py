"""Named reads behind the chat tools, every one built on ``aggregates.energy_series``.

Household figures split the devices in two: consumers, and bidirectional devices (solar,
batteries, net meters), whose negative energy is generation. "How much did I use" is the
consumers' energy; generation is reported beside it, never silently netted off.
"""

from __future__ import annotations

import statistics
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from energy_core.aggregates import (
    DeviceRef,
    EnergyPoint,
    Granularity,
    energy_series,
    floor_period,
    periods,
)
from energy_core.settings import Settings

# energy_series joins its periods to the aggregate rows by range, so one call costs about
# (periods x rows); reading long hourly or daily series in slices of this many periods keeps
# that linear in the length of the range.
PERIODS_PER_READ = {"hour": 168, "day": 31, "week": 53, "month": 120}


@dataclass
class DeviceTotal:
    """One device's figures over a range (or over the chosen hours of it)."""

    device: DeviceRef
    energy_wh: float = 0.0
    covered_s: float = 0.0
    span_s: float = 0.0
    min_w: float | None = None
    max_w: float | None = None
    sample_count: int = 0

    @property
    def coverage(self) -> float:
        return min(self.covered_s / self.span_s, 1.0) if self.span_s else 0.0

    @property
    def avg_w(self) -> float | None:
        return self.energy_wh * 3600.0 / self.covered_s if self.covered_s else None

    def add(self, point: EnergyPoint) -> None:
        self.energy_wh += point.energy_wh
        self.covered_s += point.covered_s
        self.span_s += point.span_s
        self.sample_count += point.sample_count
        if point.min_w is not None:
            self.min_w = point.min_w if self.min_w is None else min(self.min_w, point.min_w)
        if point.max_w is not None:
            self.max_w = point.max_w if self.max_w is None else max(self.max_w, point.max_w)


@dataclass
class HouseholdPeriod:
    """The household over one period: consumers' energy, generation, and their coverage."""

    start: datetime
    end: datetime
    consumption_wh: float = 0.0
    generation_wh: float = 0.0
    coverage: float = 0.0
    span_s: float = 0.0

    @property
    def net_wh(self) -> float:
        return self.consumption_wh - self.generation_wh

    @property
    def avg_consumption_w(self) -> float | None:
        covered_s = self.coverage * self.span_s
        return self.consumption_wh * 3600.0 / covered_s if covered_s else None


def is_generator(device: DeviceRef) -> bool:
    return device.bidirectional


def _floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _ceil_hour(moment: datetime) -> datetime:
    floor = _floor_hour(moment)
    return floor if floor == moment else floor + timedelta(hours=1)


def _pieces(
    start: datetime, end: datetime, granularity: Granularity, tz: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut into the partial hour at each end and slices of whole hours of at most
    PERIODS_PER_READ periods. energy_series integrates the raw readings between the first and the
    last partial hour it is given, so a range with both ends inside hours would read every raw
    reading in between; given apart, each end reads one hour."""
    head_end = min(_ceil_hour(start), end)
    tail_start = max(_floor_hour(end), head_end)
    pieces = []
    if start < head_end:
        pieces.append((start, head_end))
    if head_end < tail_start:
        if granularity == "total":
            pieces.append((head_end, tail_start))
        else:
            spans = periods(head_end, tail_start, granularity, tz)
            step = PERIODS_PER_READ[granularity]
            pieces += [
                (spans[i][0], spans[min(i + step, len(spans)) - 1][1])
                for i in range(0, len(spans), step)
            ]
    if tail_start < end:
        pieces.append((tail_start, end))
    return pieces


def series_points(
    session: Session,
    *,
    user_id: int,
    start: datetime,
    end: datetime,
    granularity: Granularity,
    device_ids: Sequence[str],
    timezone: str,
    settings: Settings | None = None,
) -> list[EnergyPoint]:
    """What ``energy_series`` returns for ``[start, end)`` (per period and device), read in pieces
    that keep each call cheap on long ranges (see ``_pieces``) and put back together."""
    tz = ZoneInfo(timezone)
    spans = periods(start, end, granularity, tz)
    if not spans or not device_ids:
        return []
    starts = [lo for lo, _ in spans]
    merged: dict[tuple[int, str | None], EnergyPoint] = {}
    for piece_start, piece_end in _pieces(start, end, granularity, tz):
        for point in energy_series(
            session,
            user_id=user_id,
            start=piece_start,
            end=piece_end,
            granularity=granularity,
            device_ids=device_ids,
            timezone=timezone,
            settings=settings,
        ):
            i = bisect_right(starts, point.period_start.astimezone(UTC)) - 1
            key = (i, point.device_id)
            target = merged.get(key)
            if target is None:
                lo, hi = spans[i]
                target = merged[key] = EnergyPoint(
                    period_start=lo.astimezone(tz),
                    period_end=hi.astimezone(tz),
                    device_id=point.device_id,
                    span_s=(hi - lo).total_seconds(),
                )
            target.absorb(
                energy_wh=point.energy_wh,
                covered_s=point.covered_s,
                min_w=point.min_w,
                max_w=point.max_w,
                sample_count=point.sample_count,
            )
    return sorted(merged.values(), key=lambda p: p.period_start.astimezone(UTC))


def device_totals(
    session: Session,
    *,
    user_id: int,
    devices: Sequence[DeviceRef],
    start: datetime,
    end: datetime,
    timezone: str,
    hours: Iterable[int] | None = None,
    settings: Settings | None = None,
) -> list[DeviceTotal]:
    """Each device's energy and power over ``[start, end)``; with ``hours``, only over those
    local hours of the day (e.g. 22-06 for "at night")."""
    totals = {d.device_id: DeviceTotal(device=d) for d in devices}
    if not devices:
        return []
    granularity: Granularity = "total" if hours is None else "hour"
    wanted = None if hours is None else set(hours)
    for point in series_points(
        session,
        user_id=user_id,
        start=start,
        end=end,
        granularity=granularity,
        device_ids=[d.device_id for d in devices],
        timezone=timezone,
        settings=settings,
    ):
        if wanted is not None and point.period_start.hour not in wanted:
            continue
        totals[point.device_id].add(point)
    return list(totals.values())


def household_periods(
    session: Session,
    *,
    user_id: int,
    devices: Sequence[DeviceRef],
    start: datetime,
    end: datetime,
    granularity: Granularity,
    timezone: str,
    hours: Iterable[int] | None = None,
    settings: Settings | None = None,
) -> list[HouseholdPeriod]:
    """Consumption and generation of ``devices`` together, per period. Coverage is the average
    device's (as in ``energy_series``); with ``hours``, periods count only those hours."""
    tz = ZoneInfo(timezone)
    wanted = None if hours is None else set(hours)
    read_as: Granularity = granularity if wanted is None else "hour"
    spans = periods(start, end, granularity, tz)
    out = [HouseholdPeriod(start=a.astimezone(tz), end=b.astimezone(tz)) for a, b in spans]
    if not devices or not out:
        return out
    index = {(p.start.astimezone(UTC)): i for i, p in enumerate(out)}
    kinds = {d.device_id: is_generator(d) for d in devices}
    covered: dict[int, float] = defaultdict(float)
    spanned: dict[int, float] = defaultdict(float)
    for point in series_points(
        session,
        user_id=user_id,
        start=start,
        end=end,
        granularity=read_as,
        device_ids=list(kinds),
        timezone=timezone,
        settings=settings,
    ):
        if wanted is not None and point.period_start.hour not in wanted:
            continue
        if granularity == "total":
            i = 0
        elif read_as == granularity:
            i = index[point.period_start.astimezone(UTC)]
        else:
            bucket = floor_period(point.period_start, granularity, tz).astimezone(UTC)
            i = index.get(max(bucket, out[0].start.astimezone(UTC)), 0)
        if kinds[point.device_id]:
            out[i].generation_wh -= point.energy_wh
        else:
            out[i].consumption_wh += point.energy_wh
        covered[i] += point.covered_s
        spanned[i] += point.span_s
    for i, period in enumerate(out):
        period.span_s = spanned[i] / len(devices) if spanned[i] else 0.0
        period.coverage = min(covered[i] / spanned[i], 1.0) if spanned[i] else 0.0
    return out


@dataclass(frozen=True)
class HourOfDay:
    hour: int
    avg_wh: float  # average energy in this local hour of the day = average power in W
    days: int  # how many such hours had data


def hour_of_day_profile(
    session: Session,
    *,
    user_id: int,
    devices: Sequence[DeviceRef],
    start: datetime,
    end: datetime,
    timezone: str,
    min_coverage: float = 0.5,
    settings: Settings | None = None,
) -> list[HourOfDay]:
    """Average energy of each local hour of the day over ``[start, end)`` (consumers only), from
    the hours whose coverage is at least ``min_coverage``."""
    consumers = [d for d in devices if not is_generator(d)]
    hourly = household_periods(
        session,
        user_id=user_id,
        devices=consumers,
        start=start,
        end=end,
        granularity="hour",
        timezone=timezone,
        settings=settings,
    )
    sums: dict[int, list[float]] = defaultdict(list)
    for period in hourly:
        if period.coverage >= min_coverage and period.avg_consumption_w is not None:
            sums[period.start.hour].append(period.avg_consumption_w)
    return [
        HourOfDay(hour=h, avg_wh=statistics.fmean(sums[h]), days=len(sums[h]))
        for h in range(24)
        if sums[h]
    ]


@dataclass(frozen=True)
class Baseload:
    baseload_w: float | None
    percentile: int
    start: datetime
    end: datetime
    hours_used: int
    hours_total: int
    coverage: float


def baseload(
    session: Session,
    *,
    user_id: int,
    devices: Sequence[DeviceRef],
    end: datetime,
    days: int,
    percentile: int,
    timezone: str,
    min_coverage: float = 0.9,
    settings: Settings | None = None,
) -> Baseload:
    """The always-on load: the ``percentile``-th percentile (linear interpolation) of the
    household's hourly average consumption over the ``days`` whole local days before ``end``'s
    day. Only well-covered hours count: a gap is unknown, not zero."""
    tz = ZoneInfo(timezone)
    window_end = floor_period(end, "day", tz)
    window_start = (window_end.replace(tzinfo=None) - timedelta(days=days)).replace(tzinfo=tz)
    consumers = [d for d in devices if not is_generator(d)]
    hourly = household_periods(
        session,
        user_id=user_id,
        devices=consumers,
        start=window_start,
        end=window_end,
        granularity="hour",
        timezone=timezone,
        settings=settings,
    )
    values = sorted(
        p.avg_consumption_w
        for p in hourly
        if p.coverage >= min_coverage and p.avg_consumption_w is not None
    )
    value = None
    if len(values) >= 2:
        value = statistics.quantiles(values, n=100, method="inclusive")[percentile - 1]
    elif values:
        value = values[0]
    coverage = statistics.fmean(p.coverage for p in hourly) if hourly else 0.0
    return Baseload(
        baseload_w=value,
        percentile=percentile,
        start=window_start,
        end=window_end,
        hours_used=len(values),
        hours_total=len(hourly),
        coverage=coverage,
    )


__all__ = [
    "Baseload",
    "DeviceTotal",
    "HourOfDay",
    "HouseholdPeriod",
    "baseload",
    "device_totals",
    "hour_of_day_profile",
    "household_periods",
    "is_generator",
    "series_points",
]

"""Expected figures for tests, computed apart from the read layer: straight from the raw
readings, by walking each reading's hold across UTC hours (DESIGN.md section 3), then the
definitions of docs/metrics.md in plain Python. No aggregate, no SQL beyond loading rows."""

from __future__ import annotations

import statistics
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from energy_core.models import Device, Reading, User
from energy_core.stats.period import buckets

GRID_METER_TYPES = {"grid_meter", "mains_meter", "meter"}
HOUR = timedelta(hours=1)


@dataclass
class Sums:
    consumed: float = 0.0
    generated: float = 0.0
    covered: float = 0.0
    span: float = 0.0
    samples: int = 0
    imported: float = 0.0
    exported: float = 0.0
    values: list[float] = field(default_factory=list)

    @property
    def coverage(self) -> float | None:
        return min(self.covered / self.span, 1.0) if self.span else None

    @property
    def consumption(self) -> float | None:
        return self.consumed if self.covered else None


class Oracle:
    def __init__(self, session: Session, user_id: int, *, default_gap_s: int = 600):
        user = session.get(User, user_id)
        self.tz = ZoneInfo(user.timezone)
        self.price = user.price_per_kwh
        self.devices = {
            d.device_id: d
            for d in session.exec(select(Device).where(Device.user_id == user_id)).all()
        }
        self.gap = {k: d.max_gap_s or default_gap_s for k, d in self.devices.items()}
        by_pk = {d.id: k for k, d in self.devices.items()}
        self.readings: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
        rows = session.exec(
            select(Reading.device_pk, Reading.ts, Reading.power_w)
            .where(Reading.user_id == user_id)
            .order_by(col(Reading.device_pk), col(Reading.ts))
        ).all()
        for pk, ts, power_w in rows:
            self.readings[by_pk[pk]].append((ts, power_w))
        # The readings are a snapshot, so a device's pieces of a range never change: a question
        # asked hour by hour (series, typical days, projections) walks each hour once.
        self._pieces: dict[tuple[str, datetime, datetime], dict[datetime, list[float]]] = {}
        self._every_hour: dict[str, tuple[list[datetime], dict[datetime, list[float]]]] = {}

    def is_meter(self, device_id: str) -> bool:
        return self.devices[device_id].type in GRID_METER_TYPES

    def part(self, device_id: str) -> tuple[datetime, datetime | None] | None:
        """From the first reading on; a deactivated device until its last reading stops holding."""
        readings = self.readings.get(device_id)
        if not readings:
            return None
        device = self.devices[device_id]
        until = None
        if not device.is_active:
            until = readings[-1][0] + timedelta(seconds=self.gap[device_id])
        return readings[0][0], until

    def pieces(self, device_id: str, start: datetime, end: datetime):  # noqa: ANN201
        """(UTC hour, consumed Wh, generated Wh, covered s) of each hour piece of [start, end)."""
        start, end = utc(start), utc(end)
        key = (device_id, start, end)
        if key not in self._pieces:
            if on_the_hour(start) and on_the_hour(end):
                # A range of whole hours holds exactly those hours' pieces of a walk over all the
                # readings: a hold cut at the range's ends is cut at an hour's ends anyway, and
                # each hour adds up the same pieces in the same order.
                hours, every = self._all_pieces(device_id)
                inside = hours[bisect_left(hours, start) : bisect_left(hours, end)]
                self._pieces[key] = {hour: every[hour] for hour in inside}
            else:
                self._pieces[key] = self._walk(device_id, start, end)
        return self._pieces[key]

    def _all_pieces(self, device_id: str) -> tuple[list[datetime], dict[datetime, list[float]]]:
        """The hours of ``device_id``'s pieces in order, and its pieces of all time."""
        if device_id not in self._every_hour:
            readings = self.readings.get(device_id, [])
            every = {}
            if readings:
                gap = timedelta(seconds=self.gap[device_id])
                first, last = readings[0][0], readings[-1][0] + gap
                every = self._walk(device_id, floor_hour(first), floor_hour(last) + HOUR)
            self._every_hour[device_id] = (sorted(every), every)
        return self._every_hour[device_id]

    def _walk(self, device_id: str, start: datetime, end: datetime) -> dict[datetime, list[float]]:
        out: dict[datetime, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        readings = self.readings.get(device_id, [])
        gap = timedelta(seconds=self.gap[device_id])
        first = bisect_left(readings, start - gap, key=lambda r: r[0])
        last = bisect_left(readings, end, key=lambda r: r[0])
        for i in range(first, last):
            ts, power_w = readings[i]
            held = ts + gap
            if i + 1 < len(readings):
                held = min(held, readings[i + 1][0])
            cursor, stop = max(ts, start), min(held, end)
            while cursor < stop:
                hour = cursor.replace(minute=0, second=0, microsecond=0)
                piece_end = min(stop, hour + HOUR)
                seconds = (piece_end - cursor).total_seconds()
                out[hour][0 if power_w >= 0 else 1] += abs(power_w) * seconds / 3600
                out[hour][2] += seconds
                cursor = piece_end
        return dict(out)

    def _wanted(self, moment: datetime, hours: set[int] | None) -> bool:
        return hours is None or moment.astimezone(self.tz).hour in hours

    def device(
        self,
        device_id: str,
        start: datetime,
        end: datetime,
        *,
        hours: set[int] | None = None,
        pieces: dict | None = None,
    ) -> Sums:
        # In UTC: Python subtracts and adds datetimes of one zone by the wall clock (wrong
        # across a clock change).
        start, end = utc(start), utc(end)
        sums = Sums()
        pieces = self.pieces(device_id, start, end) if pieces is None else pieces
        for hour, (consumed, generated, covered) in pieces.items():
            if not self._wanted(max(hour, start), hours):
                continue
            sums.consumed += consumed
            sums.generated += generated
            sums.covered += covered
            net = consumed - generated
            sums.imported += max(net, 0.0)
            sums.exported += max(-net, 0.0)
        readings = self.readings.get(device_id, [])
        first = bisect_left(readings, start, key=lambda r: r[0])
        last = bisect_left(readings, end, key=lambda r: r[0])
        for ts, power_w in readings[first:last]:
            if self._wanted(ts, hours):
                sums.samples += 1
                sums.values.append(power_w)
        part = self.part(device_id)
        if part is not None:
            lo, hi = max(start, part[0]), end if part[1] is None else min(end, part[1])
            if hours is None:  # every hour piece of [lo, hi) is wanted: they add up to it
                sums.span += max((hi - lo).total_seconds(), 0.0)
                return sums
            cursor = lo
            while cursor < hi:
                piece_end = min(hi, cursor.replace(minute=0, second=0, microsecond=0) + HOUR)
                if self._wanted(cursor, hours):
                    sums.span += (piece_end - cursor).total_seconds()
                cursor = piece_end
        return sums

    def household(
        self,
        start: datetime,
        end: datetime,
        device_ids: list[str] | None = None,
        *,
        hours: set[int] | None = None,
    ) -> Sums:
        """The devices together: consumption and generation of every device but the grid meter,
        import and export hour by hour (the meter's where it is chosen), coverage over all."""
        start, end = utc(start), utc(end)
        chosen = list(self.devices) if device_ids is None else device_ids
        meters = [d for d in chosen if self.is_meter(d)]
        counted = [d for d in chosen if not self.is_meter(d)]
        total = Sums()
        nets: dict[datetime, float] = defaultdict(float)
        metered: dict[datetime, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        for device_id in chosen:
            pieces = self.pieces(device_id, start, end)
            sums = self.device(device_id, start, end, hours=hours, pieces=pieces)
            total.covered += sums.covered
            total.span += sums.span
            total.samples += sums.samples
            if device_id in counted:
                total.consumed += sums.consumed
                total.generated += sums.generated
            for hour, (consumed, generated, covered) in pieces.items():
                if not self._wanted(max(hour, start), hours):
                    continue
                if device_id in meters:
                    metered[hour][0] += consumed
                    metered[hour][1] += generated
                    metered[hour][2] += covered
                else:
                    nets[hour] += consumed - generated
        # In the hours the grid meter's readings cover, its readings; else the devices' net.
        for hour in nets.keys() | metered.keys():
            if metered.get(hour, [0, 0, 0])[2] > 0:
                total.imported += metered[hour][0]
                total.exported += metered[hour][1]
            else:
                total.imported += max(nets.get(hour, 0.0), 0.0)
                total.exported += max(-nets.get(hour, 0.0), 0.0)
        return total

    def latest_power(self, device_id: str) -> float:
        return self.readings[device_id][-1][1]

    def cost(self, sums: Sums) -> float:
        return sums.imported * self.price / 1000

    def series(
        self,
        start: datetime,
        end: datetime,
        granularity: str,
        device_ids: list[str] | None = None,
        *,
        hours: set[int] | None = None,
    ) -> list[tuple[datetime, Sums]]:
        return [
            (lo.astimezone(self.tz), self.household(lo, hi, device_ids, hours=hours))
            for lo, hi in buckets(start, end, granularity, self.tz)
        ]

    def avg_w(self, sums: Sums, members: int, duration_s: float) -> float | None:
        """Consumption over the covered time (docs/metrics.md, "Average power")."""
        if not sums.covered or not sums.span:
            return None
        time_s = sums.covered if members <= 1 else duration_s * sums.covered / sums.span
        return sums.consumed * 3600 / time_s

    def hourly_averages(
        self, start: datetime, end: datetime, device_ids: list[str] | None = None
    ) -> list[tuple[datetime, float, float | None]]:
        """(local hour start, average consumption power, coverage) of each hour piece."""
        chosen = list(self.devices) if device_ids is None else device_ids
        out = []
        for lo, hi in buckets(start, end, "hour", self.tz):
            sums = self.household(lo, hi, chosen)
            members = 0
            for device_id in chosen:
                part = self.part(device_id)
                if part and part[0] < hi and (part[1] is None or part[1] > lo):
                    members += 1
            avg = self.avg_w(sums, members, (hi - lo).total_seconds())
            if avg is not None:
                out.append((lo.astimezone(self.tz), avg, sums.coverage))
        return out

    def percentile(self, values: list[float], p: int) -> float:
        return statistics.quantiles(sorted(values), n=100, method="inclusive")[p - 1]


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def on_the_hour(moment: datetime) -> bool:
    return moment == floor_hour(moment)

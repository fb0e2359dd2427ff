"""Reading the aggregates: energy and power statistics per device or household over any range, at
hour, day, week or month granularity in the user's timezone, with coverage.

The one place that reads ``hourly_aggregates`` for people. Whole hours come from the aggregates
(grouped into periods in SQL); the partial hours at the ends of a range and hours still waiting
for the scheduler come from raw readings, so figures are current to the last stored reading.
Periods are half-open ``[start, end)``; days, weeks (Monday first) and months follow the user's
local calendar, built from UTC hours (an hour belongs to the period its start falls in).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Integer, bindparam, text
from sqlmodel import Session, col, select

from energy_core.energy import HOUR, summarize_step
from energy_core.models import Device, DirtyHour, User
from energy_core.settings import Settings, get_settings
from energy_core.sql.reads import period_sums
from energy_core.types import UTCDateTime

Granularity = Literal["hour", "day", "week", "month", "total"]
GRANULARITIES: tuple[str, ...] = ("hour", "day", "week", "month", "total")
# A bound on the periods of one query (the period table is sent as bound parameters).
MAX_PERIODS = 10_000


@dataclass(frozen=True)
class DeviceRef:
    pk: int
    device_id: str
    name: str
    type: str
    location: str
    bidirectional: bool
    max_gap_s: int


@dataclass
class EnergyPoint:
    """Energy of one device (or the household, ``device_id=None``) over one period."""

    period_start: datetime
    period_end: datetime
    device_id: str | None
    energy_wh: float = 0.0
    covered_s: float = 0.0
    span_s: float = 0.0
    min_w: float | None = None
    max_w: float | None = None
    sample_count: int = 0

    @property
    def coverage(self) -> float:
        """Share of the period (inside the asked range) that readings cover, 0..1."""
        return min(self.covered_s / self.span_s, 1.0) if self.span_s else 0.0

    @property
    def avg_w(self) -> float | None:
        """Average power over the covered time; None without coverage."""
        return self.energy_wh * 3600.0 / self.covered_s if self.covered_s else None

    def absorb(
        self,
        *,
        energy_wh: float,
        covered_s: float,
        min_w: float | None,
        max_w: float | None,
        sample_count: int,
    ) -> None:
        self.energy_wh += energy_wh
        self.covered_s += covered_s
        self.sample_count += sample_count
        if min_w is not None:
            self.min_w = min_w if self.min_w is None else min(self.min_w, min_w)
        if max_w is not None:
            self.max_w = max_w if self.max_w is None else max(self.max_w, max_w)


# --- devices and periods -----------------------------------------------------------------------


def resolve_devices(
    session: Session,
    *,
    user_id: int,
    device_ids: Iterable[str] | None = None,
    locations: Iterable[str] | None = None,
    settings: Settings | None = None,
) -> list[DeviceRef]:
    """The user's devices, optionally only those with the given ids and/or in the given rooms.
    Ids of other users' devices simply match nothing."""
    settings = settings or get_settings()
    query = select(Device).where(Device.user_id == user_id)
    if device_ids is not None:
        query = query.where(col(Device.device_id).in_(list(device_ids)))
    if locations is not None:
        query = query.where(col(Device.location).in_(list(locations)))
    return [
        DeviceRef(
            pk=d.id,
            device_id=d.device_id,
            name=d.name,
            type=d.type,
            location=d.location,
            bidirectional=d.bidirectional,
            max_gap_s=d.max_gap_s or settings.max_gap_s,
        )
        for d in session.exec(query.order_by(Device.name, Device.device_id))
    ]


def user_timezone(session: Session, *, user_id: int) -> ZoneInfo:
    user = session.get(User, user_id)
    return ZoneInfo(user.timezone if user else "UTC")


def floor_period(ts: datetime, granularity: str, tz: ZoneInfo) -> datetime:
    """Start of the local period that contains ``ts`` (aware, in ``tz``)."""
    local = ts.astimezone(tz)
    if granularity == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    if granularity == "week":
        day -= timedelta(days=day.weekday())
    elif granularity == "month":
        day = day.replace(day=1)
    elif granularity != "day":
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}")
    return day.replace(tzinfo=tz)


def next_period(start: datetime, granularity: str, tz: ZoneInfo) -> datetime:
    """Start of the period after the one starting at ``start`` (local wall clock, DST-safe)."""
    if granularity == "hour":
        # Hours advance in absolute time: a 23- or 25-hour day has 23 or 25 of them.
        return (start.astimezone(UTC) + HOUR).astimezone(tz)
    naive = start.replace(tzinfo=None)
    if granularity == "day":
        naive += timedelta(days=1)
    elif granularity == "week":
        naive += timedelta(days=7)
    else:
        naive = (naive.replace(day=28) + timedelta(days=4)).replace(day=1)
    return naive.replace(tzinfo=tz)


def periods(
    start: datetime, end: datetime, granularity: str, tz: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """The local periods that ``[start, end)`` touches, each clipped to the range, as UTC pairs.

    UTC because Python compares and subtracts two datetimes of the same ``tzinfo`` by wall clock,
    which is wrong across a DST change; callers convert to local time only for display.
    """
    if end <= start:
        return []
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if granularity == "total":
        return [(start, end)]
    out = []
    cursor = floor_period(start, granularity, tz)
    while cursor.astimezone(UTC) < end:
        following = next_period(cursor, granularity, tz)
        out.append((max(cursor.astimezone(UTC), start), min(following.astimezone(UTC), end)))
        cursor = following
    return out


def _floor_hour(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _ceil_hour(ts: datetime) -> datetime:
    floor = _floor_hour(ts)
    return floor if floor == ts else floor + HOUR


# --- the series --------------------------------------------------------------------------------


def energy_series(
    session: Session,
    *,
    user_id: int,
    start: datetime,
    end: datetime,
    granularity: Granularity = "day",
    device_ids: Iterable[str] | None = None,
    locations: Iterable[str] | None = None,
    by_device: bool = True,
    timezone: str | None = None,
    settings: Settings | None = None,
) -> list[EnergyPoint]:
    """Energy and power statistics over ``[start, end)`` per period (and per device unless
    ``by_device`` is False, which sums the household; its min/max are then unknown, None).

    Every period of the range appears, with zero energy and coverage where there is no data, so a
    chart shows gaps as gaps. Periods are in ``timezone`` (default: the user's).
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    settings = settings or get_settings()
    tz = ZoneInfo(timezone) if timezone else user_timezone(session, user_id=user_id)
    devices = resolve_devices(
        session, user_id=user_id, device_ids=device_ids, locations=locations, settings=settings
    )
    spans = periods(start, end, granularity, tz)
    if len(spans) > MAX_PERIODS:
        raise ValueError(
            f"{len(spans)} {granularity} periods is too many for one query; "
            "choose a coarser granularity or a shorter range."
        )
    points: dict[tuple[int, int], EnergyPoint] = {}
    for i, (p_start, p_end) in enumerate(spans):
        local_start, local_end = p_start.astimezone(tz), p_end.astimezone(tz)
        span_s = (p_end - p_start).total_seconds()
        for device in devices:
            points[(i, device.pk)] = EnergyPoint(
                period_start=local_start,
                period_end=local_end,
                device_id=device.device_id,
                span_s=span_s,
            )
    if devices and spans:
        _add_whole_hours(
            session,
            user_id=user_id,
            devices=devices,
            all_devices=device_ids is None and locations is None,
            spans=spans,
            points=points,
        )
        _add_raw_hours(
            session,
            user_id=user_id,
            devices=devices,
            spans=spans,
            points=points,
            start=start,
            end=end,
        )
    ordered = [points[(i, d.pk)] for i in range(len(spans)) for d in devices]
    if by_device:
        return ordered
    household = []
    for i, (p_start, p_end) in enumerate(spans):
        total = EnergyPoint(
            period_start=p_start.astimezone(tz),
            period_end=p_end.astimezone(tz),
            device_id=None,
            span_s=(p_end - p_start).total_seconds(),
        )
        members = [points[(i, d.pk)] for d in devices]
        total.energy_wh = sum(p.energy_wh for p in members)
        total.sample_count = sum(p.sample_count for p in members)
        # Household coverage: the average device's; a household figure is as complete as that.
        total.covered_s = sum(p.covered_s for p in members) / len(members) if members else 0.0
        household.append(total)
    return household


def _bucket_of(spans: Sequence[tuple[datetime, datetime]], ts: datetime) -> int | None:
    # Periods are few (at most a few thousand) and sorted: a binary search keeps this cheap.
    lo, hi = 0, len(spans)
    while lo < hi:
        mid = (lo + hi) // 2
        if spans[mid][1] <= ts:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < len(spans) and spans[lo][0] <= ts else None


def _add_whole_hours(
    session: Session,
    *,
    user_id: int,
    devices: Sequence[DeviceRef],
    all_devices: bool,
    spans: Sequence[tuple[datetime, datetime]],
    points: dict[tuple[int, int], EnergyPoint],
) -> None:
    """Sum the stored aggregates of the whole, clean hours of each period, in SQL."""
    full_start = _ceil_hour(spans[0][0])
    full_end = _floor_hour(spans[-1][1])
    if full_start >= full_end:
        return
    device_pks = None if all_devices else [d.pk for d in devices]
    statement, params = period_sums(
        session.connection(),
        user_id=user_id,
        device_pks=device_pks,
        bounds=[spans[0][0], *(hi for _, hi in spans)],
        full_start=full_start,
        full_end=full_end,
    )
    for idx, device_pk, energy_wh, covered_s, min_w, max_w, samples in session.execute(
        statement, params
    ):
        point = points.get((idx, device_pk))
        if point is None:  # a device created after the list was read
            continue
        point.absorb(
            energy_wh=energy_wh,
            covered_s=covered_s,
            min_w=min_w,
            max_w=max_w,
            sample_count=int(samples),
        )


def _add_raw_hours(
    session: Session,
    *,
    user_id: int,
    devices: Sequence[DeviceRef],
    spans: Sequence[tuple[datetime, datetime]],
    points: dict[tuple[int, int], EnergyPoint],
    start: datetime,
    end: datetime,
) -> None:
    """Integrate from raw readings what the aggregates cannot give: the partial hours at both ends
    of the range and the hours still marked dirty."""
    full_start, full_end = _ceil_hour(start), _floor_hour(end)
    edges: list[tuple[datetime, datetime]] = []
    if full_start >= full_end:
        edges.append((start, end))
    else:
        if start < full_start:
            edges.append((start, full_start))
        if full_end < end:
            edges.append((full_end, end))
    ranges: dict[int, list[tuple[datetime, datetime]]] = defaultdict(lambda: list(edges))
    for device in devices:
        ranges[device.pk]  # every device has the edge ranges
    if full_start < full_end:
        # All the user's dirty hours of the range (a handful), filtered here: an IN list of
        # hundreds of devices would cost more to send than the rows it saves.
        dirty = session.exec(
            select(DirtyHour.device_pk, DirtyHour.hour_start).where(
                DirtyHour.user_id == user_id,
                DirtyHour.hour_start >= full_start,
                DirtyHour.hour_start < full_end,
            )
        ).all()
        wanted = {d.pk for d in devices}
        for device_pk, hour in dirty:
            if device_pk in wanted:
                ranges[device_pk].append((hour, hour + HOUR))
    gaps = {d.pk: d.max_gap_s for d in devices}
    windows = [
        (device_pk, a, b)
        for device_pk, device_ranges in ranges.items()
        for a, b in device_ranges
        if device_pk in gaps
    ]
    for i, readings in _readings_of_windows(session, user_id=user_id, windows=windows, gaps=gaps):
        if not readings:
            continue
        device_pk, a, b = windows[i]
        # A raw range lies inside one hour; split it where a period boundary cuts that hour.
        for piece_start, piece_end in _split_by_periods(spans, a, b):
            idx = _bucket_of(spans, piece_start)
            if idx is None:
                continue
            summary = summarize_step(
                readings, start=piece_start, end=piece_end, max_gap_s=gaps[device_pk]
            )
            points[(idx, device_pk)].absorb(
                energy_wh=summary.energy_wh,
                covered_s=summary.covered_s,
                min_w=summary.min_w,
                max_w=summary.max_w,
                sample_count=summary.sample_count,
            )


def _readings_of_windows(
    session: Session,
    *,
    user_id: int,
    windows: Sequence[tuple[int, datetime, datetime]],
    gaps: dict[int, int],
) -> list[tuple[int, list[tuple[datetime, float]]]]:
    """The readings each ``(device_pk, a, b)`` window needs (from ``a - max_gap`` to ``b``), in
    one query for all windows: only those few hours are read, however far apart they lie."""
    if not windows:
        return []
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
    for i, ts, power_w in session.execute(statement, params):
        found[i].append((ts, power_w))
    return sorted(found.items())


def _split_by_periods(
    spans: Sequence[tuple[datetime, datetime]], a: datetime, b: datetime
) -> list[tuple[datetime, datetime]]:
    pieces = []
    cursor = a
    while cursor < b:
        idx = _bucket_of(spans, cursor)
        if idx is None:
            break
        piece_end = min(b, spans[idx][1])
        pieces.append((cursor, piece_end))
        cursor = piece_end
    return pieces

"""What the read side of the device API answers: readings, hourly statistics, per-device stats, the
household summary, the realtime view and the device list, always within one user's data.

Every function takes the user id and filters by it; a device of someone else is simply not found
(``NotFoundError``, the same answer as for a device that does not exist). Hourly statistics come
from ``aggregates.energy_series``, the one reader of the aggregates.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

import orjson
from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from energy_core.accounts import NotFoundError, list_devices
from energy_core.aggregates import DeviceRef, energy_series, resolve_devices
from energy_core.errors import CoreError, ErrorKind
from energy_core.models import Device, Reading, User
from energy_core.overview import device_overview, latest_reading
from energy_core.settings import Settings, get_settings
from energy_core.types import from_epoch_us, to_epoch_us, utcnow

HOUR = timedelta(hours=1)
DEFAULT_RANGE = timedelta(hours=24)
MAX_PAGE = 10_000
# Hourly statistics are computed a window at a time: at most this many (hour, device) points per
# energy_series call and per request. A request that scans its budget without filling the page
# returns what it has and a cursor to continue from.
POINTS_PER_WINDOW = 20_000
POINTS_PER_REQUEST = 200_000

# Device keys and instants (epoch µs up to 2100) in a cursor are never larger than this.
_CURSOR_INT_MAX = 4_102_444_800_000_000

T = TypeVar("T")


class InvalidCursor(CoreError, ValueError):
    """A cursor this API did not issue (or issued for another listing)."""

    kind = ErrorKind.invalid
    code = "validation_error"

    def __init__(self, message: str):
        problem = {"index": None, "field": "cursor", "message": "start again without a cursor"}
        super().__init__(message, [problem])


class InvalidRange(CoreError, ValueError):
    """A time range that is empty or not timezone-aware (e.g. a start in the future, no end)."""

    kind = ErrorKind.invalid
    code = "validation_error"

    def __init__(self, message: str):
        super().__init__(message, [{"index": None, "field": "start", "message": message}])


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class ReadingOut:
    device_id: str
    ts: datetime
    power_w: float


@dataclass(frozen=True)
class HourlyStat:
    device_id: str
    hour_start: datetime
    energy_wh: float
    avg_watts: float | None
    min_watts: float | None
    max_watts: float | None
    sample_count: int
    coverage: float


@dataclass(frozen=True)
class DeviceStats:
    device_id: str
    name: str
    start: datetime
    end: datetime
    energy_wh: float
    avg_watts: float | None
    min_watts: float | None
    max_watts: float | None
    sample_count: int
    coverage: float
    first_reading_at: datetime | None
    last_reading_at: datetime | None
    latest_power_w: float | None
    latest_reading_at: datetime | None
    last_seen_at: datetime | None


@dataclass(frozen=True)
class DeviceEnergy:
    device_id: str
    name: str
    location: str
    energy_wh: float
    coverage: float


@dataclass(frozen=True)
class Summary:
    start: datetime
    end: datetime
    energy_wh: float
    cost: float
    currency: str
    coverage: float
    device_count: int
    devices: list[DeviceEnergy]


@dataclass(frozen=True)
class RealtimeDevice:
    device_id: str
    name: str
    location: str
    power_w: float | None
    reading_at: datetime | None
    last_seen_at: datetime | None
    online: bool
    today_energy_wh: float


@dataclass(frozen=True)
class Realtime:
    at: datetime
    total_power_w: float
    online: int
    devices: list[RealtimeDevice]


# --- cursors -----------------------------------------------------------------------------------


def _encode_cursor(kind: str, **position: object) -> str:
    raw = orjson.dumps({"k": kind, **position})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, kind: str, fields: dict[str, type]) -> dict:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = orjson.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("The cursor is not one this API issued.") from exc
    if not isinstance(position, dict) or position.get("k") != kind:
        raise InvalidCursor("The cursor belongs to another listing.")
    for name, kind_of in fields.items():
        value = position.get(name)
        if type(value) is not kind_of or (kind_of is int and not 0 <= value <= _CURSOR_INT_MAX):
            raise InvalidCursor("The cursor is not one this API issued.")
    return position


# --- reads -------------------------------------------------------------------------------------


def _require_device(
    session: Session, *, user_id: int, device_id: str, settings: Settings
) -> DeviceRef:
    found = resolve_devices(session, user_id=user_id, device_ids=[device_id], settings=settings)
    if not found:
        raise NotFoundError(f"No device {device_id!r}.")
    return found[0]


def _default_range(
    start: datetime | None, end: datetime | None, now: datetime | None
) -> tuple[datetime, datetime]:
    end = end or now or utcnow()
    start = start or end - DEFAULT_RANGE
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise InvalidRange(f"{name} must be timezone-aware")
    if end <= start:
        raise InvalidRange("end must be after start (the default end is now)")
    return start.astimezone(UTC), end.astimezone(UTC)


def list_readings(
    session: Session,
    *,
    user_id: int,
    device_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    cursor: str | None = None,
    limit: int = 1_000,
    settings: Settings | None = None,
) -> Page[ReadingOut]:
    """The user's readings in ``[start, end)`` (either open), device by device and in time order
    within a device, ``limit`` at a time; ``next_cursor`` continues where the page ended."""
    settings = settings or get_settings()
    limit = max(1, min(limit, MAX_PAGE))
    for name, value in (("start", start), ("end", end)):
        if value is not None and value.tzinfo is None:
            raise InvalidRange(f"{name} must be timezone-aware")
    devices = resolve_devices(
        session,
        user_id=user_id,
        device_ids=[device_id] if device_id is not None else None,
        settings=settings,
    )
    if device_id is not None and not devices:
        raise NotFoundError(f"No device {device_id!r}.")
    names = {d.pk: d.device_id for d in devices}
    query = select(Reading.device_pk, Reading.ts, Reading.power_w).where(Reading.user_id == user_id)
    if device_id is not None:
        query = query.where(Reading.device_pk == devices[0].pk)
    if start is not None:
        query = query.where(Reading.ts >= start)
    if end is not None:
        query = query.where(Reading.ts < end)
    if cursor is not None:
        position = _decode_cursor(cursor, "readings", {"d": int, "t": int})
        after_pk, after_ts = position["d"], from_epoch_us(position["t"])
        query = query.where(
            or_(
                Reading.device_pk > after_pk,
                and_(Reading.device_pk == after_pk, Reading.ts > after_ts),
            )
        )
    rows = session.exec(
        query.order_by(col(Reading.device_pk), col(Reading.ts)).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [ReadingOut(names[pk], ts, power_w) for pk, ts, power_w in rows if pk in names]
    next_cursor = (
        _encode_cursor("readings", d=rows[-1][0], t=to_epoch_us(rows[-1][1])) if more else None
    )
    return Page(items, next_cursor)


def _ceil_hour(ts: datetime) -> datetime:
    floor = ts.replace(minute=0, second=0, microsecond=0)
    return floor if floor == ts else floor + HOUR


def hourly_stats(
    session: Session,
    *,
    user_id: int,
    device_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    cursor: str | None = None,
    limit: int = 1_000,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> Page[HourlyStat]:
    """Statistics of each UTC hour that has data, per device, over the whole hours that
    ``[start, end)`` touches (default: the last 24 hours), ordered by hour then device id.

    Hours without data are left out. A page may hold fewer than ``limit`` items when a long empty
    stretch was scanned; follow ``next_cursor`` until it is null.
    """
    settings = settings or get_settings()
    limit = max(1, min(limit, MAX_PAGE))
    start, end = _default_range(start, end, now)
    devices = resolve_devices(
        session,
        user_id=user_id,
        device_ids=[device_id] if device_id is not None else None,
        settings=settings,
    )
    if device_id is not None and not devices:
        raise NotFoundError(f"No device {device_id!r}.")
    first_hour = start.replace(minute=0, second=0, microsecond=0)
    end_hour = _ceil_hour(end)
    after_device = ""
    if cursor is not None:
        position = _decode_cursor(cursor, "hourly", {"h": int, "d": str})
        first_hour = max(first_hour, from_epoch_us(position["h"]))
        after_device = position["d"]
    if not devices:
        return Page([], None)
    window = timedelta(hours=max(1, min(744, POINTS_PER_WINDOW // len(devices))))
    budget = POINTS_PER_REQUEST
    items: list[HourlyStat] = []
    cursor_hour = first_hour
    while cursor_hour < end_hour and len(items) <= limit and budget > 0:
        window_end = min(end_hour, cursor_hour + window)
        points = energy_series(
            session,
            user_id=user_id,
            start=cursor_hour,
            end=window_end,
            granularity="hour",
            device_ids=[d.device_id for d in devices] if device_id is not None else None,
            timezone="UTC",
            settings=settings,
        )
        budget -= len(points)
        points.sort(key=lambda p: (p.period_start, p.device_id))
        for point in points:
            hour = point.period_start.astimezone(UTC)
            if hour == first_hour and point.device_id <= after_device:
                continue
            if point.sample_count == 0 and point.covered_s == 0:
                continue
            items.append(
                HourlyStat(
                    device_id=point.device_id,
                    hour_start=hour,
                    energy_wh=point.energy_wh,
                    avg_watts=point.avg_w,
                    min_watts=point.min_w,
                    max_watts=point.max_w,
                    sample_count=point.sample_count,
                    coverage=point.coverage,
                )
            )
        cursor_hour = window_end
    if len(items) > limit:
        items = items[:limit]
        last = items[-1]
        return Page(
            items,
            _encode_cursor("hourly", h=to_epoch_us(last.hour_start), d=last.device_id),
        )
    if cursor_hour < end_hour:
        return Page(items, _encode_cursor("hourly", h=to_epoch_us(cursor_hour), d=""))
    return Page(items, None)


def device_stats(
    session: Session,
    *,
    user_id: int,
    device_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> DeviceStats:
    """Energy and power statistics of one device over ``[start, end)`` (default: the last 24
    hours), with its first and last reading in the range and its latest reading overall."""
    settings = settings or get_settings()
    start, end = _default_range(start, end, now)
    device = _require_device(session, user_id=user_id, device_id=device_id, settings=settings)
    (total,) = energy_series(
        session,
        user_id=user_id,
        start=start,
        end=end,
        granularity="total",
        device_ids=[device_id],
        settings=settings,
    )
    first_at, last_at = session.exec(
        select(func.min(Reading.ts), func.max(Reading.ts)).where(
            Reading.user_id == user_id,
            Reading.device_pk == device.pk,
            Reading.ts >= start,
            Reading.ts < end,
        )
    ).one()
    latest = latest_reading(session, user_id=user_id, device_pk=device.pk)
    last_seen = session.exec(
        select(Device.last_seen_at).where(Device.id == device.pk, Device.user_id == user_id)
    ).one()
    return DeviceStats(
        device_id=device.device_id,
        name=device.name,
        start=start,
        end=end,
        energy_wh=total.energy_wh,
        avg_watts=total.avg_w,
        min_watts=total.min_w,
        max_watts=total.max_w,
        sample_count=total.sample_count,
        coverage=total.coverage,
        first_reading_at=first_at,
        last_reading_at=last_at,
        latest_power_w=latest[1] if latest else None,
        latest_reading_at=latest[0] if latest else None,
        last_seen_at=last_seen,
    )


def household_summary(
    session: Session,
    *,
    user_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> Summary:
    """Net energy of the household over ``[start, end)`` (default: the last 24 hours), its cost
    at the user's price, and each device's share, largest first."""
    settings = settings or get_settings()
    start, end = _default_range(start, end, now)
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"No user {user_id}.")
    devices = {d.device_id: d for d in resolve_devices(session, user_id=user_id)}
    points = energy_series(
        session, user_id=user_id, start=start, end=end, granularity="total", settings=settings
    )
    per_device = sorted(
        (
            DeviceEnergy(
                device_id=p.device_id,
                name=devices[p.device_id].name,
                location=devices[p.device_id].location,
                energy_wh=p.energy_wh,
                coverage=p.coverage,
            )
            for p in points
        ),
        key=lambda d: (-d.energy_wh, d.device_id),
    )
    energy_wh = sum(d.energy_wh for d in per_device)
    return Summary(
        start=start,
        end=end,
        energy_wh=energy_wh,
        cost=energy_wh / 1000.0 * user.price_per_kwh,
        currency=user.currency,
        coverage=sum(d.coverage for d in per_device) / len(per_device) if per_device else 0.0,
        device_count=len(per_device),
        devices=per_device,
    )


def realtime(
    session: Session,
    *,
    user_id: int,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> Realtime:
    """Each device's current power (while its latest reading still holds) and the total."""
    now = now or utcnow()
    statuses = device_overview(session, user_id=user_id, now=now, settings=settings)
    devices = [
        RealtimeDevice(
            device_id=s.device_id,
            name=s.name,
            location=s.location,
            power_w=s.power_w,
            reading_at=s.reading_at,
            last_seen_at=s.last_seen_at,
            online=s.online,
            today_energy_wh=s.today_energy_wh,
        )
        for s in statuses
    ]
    return Realtime(
        at=now,
        total_power_w=sum(d.power_w for d in devices if d.power_w is not None),
        online=sum(1 for d in devices if d.online),
        devices=devices,
    )


def user_devices(session: Session, *, user_id: int) -> list[Device]:
    """The user's devices, by name."""
    return list_devices(session, user_id=user_id)

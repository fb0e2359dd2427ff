"""What each device of a household is doing now: latest power, last seen, energy and cost today,
and the last minutes of power as a chart reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from energy_core.accounts import list_devices
from energy_core.aggregates import energy_series, resolve_devices
from energy_core.history import cost
from energy_core.models import Reading, User
from energy_core.power import PowerBucket, power_buckets
from energy_core.settings import Settings, get_settings
from energy_core.types import utcnow


@dataclass(frozen=True)
class DeviceStatus:
    device_id: str
    name: str
    type: str
    location: str
    is_active: bool
    bidirectional: bool
    power_w: float | None
    reading_at: datetime | None
    last_seen_at: datetime | None
    online: bool
    today_energy_wh: float
    today_coverage: float
    today_cost: float


def start_of_day(now: datetime, timezone: str) -> datetime:
    """Midnight of ``now``'s local day in ``timezone``, as an aware datetime."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def latest_reading(
    session: Session, *, user_id: int, device_pk: int
) -> tuple[datetime, float] | None:
    row = session.exec(
        select(Reading.ts, Reading.power_w)
        .where(Reading.user_id == user_id, Reading.device_pk == device_pk)
        .order_by(col(Reading.ts).desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def device_overview(
    session: Session,
    *,
    user_id: int,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> list[DeviceStatus]:
    """One status per device of the user. A device is online while its latest reading still holds
    power (within its ``max_gap``); its power is then that reading's, otherwise unknown."""
    settings = settings or get_settings()
    now = now or utcnow()
    user = session.get(User, user_id)
    if user is None:
        return []
    day_start = start_of_day(now, user.timezone)
    devices = list_devices(session, user_id=user_id)
    today = {
        point.device_id: point
        for point in energy_series(
            session,
            user_id=user_id,
            start=day_start,
            end=now,
            granularity="total",
            settings=settings,
        )
    }
    statuses = []
    for device in devices:
        latest = latest_reading(session, user_id=user_id, device_pk=device.id)
        gap = timedelta(seconds=device.max_gap_s or settings.max_gap_s)
        online = latest is not None and now - latest[0] <= gap
        figure = today[device.device_id]
        statuses.append(
            DeviceStatus(
                device_id=device.device_id,
                name=device.name,
                type=device.type,
                location=device.location,
                is_active=device.is_active,
                bidirectional=device.bidirectional,
                power_w=latest[1] if online else None,
                reading_at=latest[0] if latest else None,
                last_seen_at=device.last_seen_at,
                online=online,
                today_energy_wh=figure.energy_wh,
                today_coverage=figure.coverage,
                today_cost=cost(figure.energy_wh, user.price_per_kwh),
            )
        )
    return statuses


def recent_power(
    session: Session,
    *,
    user_id: int,
    minutes: int = 60,
    bucket_s: int = 60,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> list[PowerBucket]:
    """Min, mean and max power of each device per ``bucket_s`` over the last ``minutes``."""
    now = now or utcnow()
    devices = resolve_devices(session, user_id=user_id, settings=settings)
    return power_buckets(
        session,
        user_id=user_id,
        devices=devices,
        start=now - timedelta(minutes=minutes),
        end=now,
        bucket_s=bucket_s,
    )

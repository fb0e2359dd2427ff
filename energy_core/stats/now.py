"""What a household is doing now: each device's latest reading, whether it is online, when it was
last seen, and its figures of today so far; the household's power now and today's totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from energy_core.household_scope import for_household
from energy_core.models import Device, Reading
from energy_core.power import HeldBucket, held_buckets
from energy_core.stats.figures import Figure
from energy_core.stats.period import preset_period
from energy_core.stats.selection import DeviceRef, Household
from energy_core.stats.series import read_series


@dataclass(frozen=True)
class DeviceNow:
    device: DeviceRef
    power_w: float | None
    reading_at: datetime | None
    last_seen_at: datetime | None
    online: bool
    today: Figure

    @property
    def device_id(self) -> str:
        return self.device.device_id


@dataclass(frozen=True)
class HouseholdNow:
    """The household at ``at``: every device, and today (since local midnight) together."""

    at: datetime
    devices: list[DeviceNow]
    today: Figure

    @property
    def online(self) -> int:
        return sum(1 for d in self.devices if d.online)

    def _power(self, *, sign: int) -> float:
        total = 0.0
        for d in self.devices:
            if d.online and d.power_w is not None and not d.device.is_grid_meter:
                total += max(sign * d.power_w, 0.0)
        return total

    @property
    def consumption_w(self) -> float:
        """What the online devices (not the grid meter) draw now."""
        return self._power(sign=1)

    @property
    def generation_w(self) -> float:
        """What the online devices produce now, as a positive number."""
        return self._power(sign=-1)

    @property
    def net_w(self) -> float:
        """Import (positive) or export (negative) now: the grid meter's latest reading while it is
        online, else what the online devices draw minus what they produce."""
        meters = [d for d in self.devices if d.device.is_grid_meter and d.online]
        if meters:
            return sum(d.power_w for d in meters if d.power_w is not None)
        return self.consumption_w - self.generation_w


def last_seen(stored: datetime | None, latest_reading_at: datetime | None) -> datetime | None:
    """A device's last-seen time where its latest reading is at hand: the later of the time
    stored (which writers move only in steps of a minute, and the rollup to the newest reading
    while the readings themselves may since have been pruned) and that reading's."""
    if stored is None or latest_reading_at is None:
        return stored or latest_reading_at
    return max(stored, latest_reading_at)


@for_household
def latest_readings(session: Session, *, user_id: int) -> dict[int, tuple[datetime, float]]:
    """Each device's latest reading (instant, power), by device pk, in one query."""

    def of_latest(column):  # noqa: ANN001, ANN202 - a column of Reading
        return (
            select(column)
            .where(Reading.user_id == Device.user_id, Reading.device_pk == Device.id)
            .order_by(col(Reading.ts).desc())
            .limit(1)
            .scalar_subquery()
        )

    rows = session.exec(
        select(Device.id, of_latest(Reading.ts), of_latest(Reading.power_w)).where(
            Device.user_id == user_id
        )
    ).all()
    return {pk: (ts, power_w) for pk, ts, power_w in rows if ts is not None}


def household_now(session: Session, household: Household, *, now: datetime) -> HouseholdNow:
    """One status per device of the household and today's figures. A device is online while its
    latest reading still holds power (within its max gap); its power is then that reading's,
    otherwise unknown."""
    today = read_series(
        session, household.select(preset_period("today", now=now, timezone=household.timezone))
    )
    latest = latest_readings(session, user_id=household.user_id)
    stored = dict(
        session.exec(
            select(Device.id, Device.last_seen_at).where(Device.user_id == household.user_id)
        ).all()
    )
    devices = []
    for device in household.devices:
        reading = latest.get(device.pk)
        online = reading is not None and now - reading[0] <= timedelta(seconds=device.max_gap_s)
        figure = (
            today.device_total(device.device_id)
            if device.device_id in today.by_device
            else Figure(
                start=today.selection.start, end=today.selection.end, device_id=device.device_id
            )
        )
        devices.append(
            DeviceNow(
                device=device,
                power_w=reading[1] if online else None,
                reading_at=reading[0] if reading else None,
                last_seen_at=last_seen(stored.get(device.pk), reading[0] if reading else None),
                online=online,
                today=figure,
            )
        )
    return HouseholdNow(at=now, devices=devices, today=today.total)


def recent_power(
    session: Session, household: Household, *, now: datetime, minutes: int = 60, bucket_s: int = 60
) -> list[HeldBucket]:
    """Each device's power per ``bucket_s`` over the last ``minutes``, every bucket from the first
    to the one of ``now``: a reading holds until the next or its max gap, whichever is first, and
    a bucket no reading holds is a gap (powers None). Devices holding nothing are left out."""
    return held_buckets(
        session,
        user_id=household.user_id,
        devices=list(household.devices),
        start=now - timedelta(minutes=minutes),
        end=now,
        bucket_s=bucket_s,
    )


__all__ = ["DeviceNow", "HouseholdNow", "household_now", "latest_readings", "recent_power"]

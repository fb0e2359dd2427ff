"""What a figure is about: the household (its user, timezone, tariff and devices with their
lifetimes), and a ``Selection`` of it over a period, built once per request.

A device takes part in a period only from its first reading on; a deactivated device only until
its last reading stops holding (last reading + its max gap). Registering, deactivating or
deleting a device therefore never changes a figure of a period it had no part in
(docs/metrics.md, "Which devices count").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from energy_core.errors import NotFoundError
from energy_core.household_scope import for_household
from energy_core.models import Reading, User
from energy_core.settings import Settings, get_settings
from energy_core.sql.household import device_rows
from energy_core.stats.money import Tariff
from energy_core.stats.period import Granularity, Period

# Device types that mean "the meter between the house and the grid": its readings are the
# measured import (power >= 0) and export (power < 0), not one more consumer.
GRID_METER_TYPE = "grid_meter"
GRID_METER_TYPES = frozenset({GRID_METER_TYPE, "mains_meter", "meter"})


@dataclass(frozen=True)
class DeviceRef:
    """A device as the read layer sees it: who it is, its effective max gap, and its lifetime
    (first reading; for a deactivated device, the instant its last reading stops holding)."""

    pk: int
    device_id: str
    name: str
    type: str
    location: str
    bidirectional: bool
    max_gap_s: int
    is_active: bool = True
    first_at: datetime | None = None
    last_at: datetime | None = None

    @property
    def is_grid_meter(self) -> bool:
        return self.type in GRID_METER_TYPES

    @property
    def is_generator(self) -> bool:
        """May generate: a bidirectional device that is not the grid meter."""
        return self.bidirectional and not self.is_grid_meter

    @property
    def until(self) -> datetime | None:
        """End of the device's part in any figure: open (None) while it is active."""
        if self.is_active or self.last_at is None:
            return None
        return self.last_at + timedelta(seconds=self.max_gap_s)

    def part_in(self, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        """The stretch of ``[start, end)`` in which the device takes part, or None."""
        if self.first_at is None:
            return None
        lo = max(start, self.first_at)
        hi = end if self.until is None else min(end, self.until)
        return (lo, hi) if hi > lo else None


@dataclass(frozen=True)
class Empty:
    """Why a selection has nothing to show, in words a shell can print as they are."""

    code: str  # no_devices | no_match | no_readings
    message: str


@dataclass(frozen=True)
class Household:
    """One user's household as every read of one request sees it."""

    user_id: int
    timezone: str
    tariff: Tariff
    devices: tuple[DeviceRef, ...]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def currency(self) -> str:
        return self.tariff.currency

    @property
    def rooms(self) -> list[str]:
        return sorted({d.location for d in self.devices if d.location})

    def device(self, device_id: str) -> DeviceRef | None:
        return next((d for d in self.devices if d.device_id == device_id), None)

    def require_device(self, device_id: str) -> DeviceRef:
        """The household's device; another user's device id is simply not found."""
        found = self.device(device_id)
        if found is None:
            raise NotFoundError(f"No device {device_id!r}.")
        return found

    def select(
        self,
        period: Period,
        *,
        device_ids: Iterable[str] | None = None,
        rooms: Iterable[str] | None = None,
        devices: Sequence[DeviceRef] | None = None,
        granularity: Granularity = "total",
        hours: Iterable[int] | None = None,
        timezone: str | None = None,
    ) -> Selection:
        """The devices that ``device_ids`` and ``rooms`` name (both: those in both; neither:
        all), or exactly ``devices``, over ``period``. ``hours`` (local hours of the day) narrow
        every figure to those hours; by default the period's time of day does. Periods and
        hours are in ``timezone``, by default the user's."""
        chosen = list(self.devices) if devices is None else list(devices)
        ids = None if device_ids is None else list(dict.fromkeys(device_ids))
        room_list = None if rooms is None else list(dict.fromkeys(rooms))
        if ids:
            chosen = [d for d in chosen if d.device_id in set(ids)]
        if room_list:
            chosen = [d for d in chosen if d.location in set(room_list)]
        wanted = period.hours if hours is None else frozenset(hours)
        timezone = timezone or self.timezone
        return Selection(
            household=self,
            period=period.in_timezone(timezone) if period.timezone != timezone else period,
            devices=tuple(chosen),
            granularity=granularity,
            hours=wanted,
            weekdays=period.weekdays,
            device_ids=tuple(ids) if ids else None,
            rooms=tuple(room_list) if room_list else None,
            whole_household=devices is None and not ids and not room_list,
        )


@dataclass(frozen=True)
class Selection:
    """User, half-open ``[start, end)`` with its timezone, the chosen devices with their max gaps
    and lifetimes, the granularity of a series, and optionally the local hours of the day that
    count. Every figure the product shows is a metric of one ``Selection``."""

    household: Household
    period: Period
    devices: tuple[DeviceRef, ...]
    granularity: Granularity = "total"
    hours: frozenset[int] | None = None
    weekdays: frozenset[int] | None = None  # local days of the week that count (Monday 0)
    device_ids: tuple[str, ...] | None = None
    rooms: tuple[str, ...] | None = None
    whole_household: bool = True
    _taking: tuple[DeviceRef, ...] | None = field(default=None, compare=False, repr=False)

    @property
    def user_id(self) -> int:
        return self.household.user_id

    @property
    def start(self) -> datetime:
        return self.period.start

    @property
    def end(self) -> datetime:
        return self.period.end

    @property
    def timezone(self) -> str:
        """The timezone of the periods and hours of the day: the period's."""
        return self.period.timezone

    @property
    def tz(self) -> ZoneInfo:
        return self.period.tz

    @property
    def tariff(self) -> Tariff:
        return self.household.tariff

    @property
    def taking_part(self) -> tuple[DeviceRef, ...]:
        """The chosen devices that take part in some of the period."""
        start, end = self.start.astimezone(UTC), self.end.astimezone(UTC)
        return tuple(d for d in self.devices if d.part_in(start, end) is not None)

    @property
    def grid_meters(self) -> tuple[DeviceRef, ...]:
        return tuple(d for d in self.devices if d.is_grid_meter)

    @property
    def empty(self) -> Empty | None:
        """Why there is nothing to show, or None when some device takes part."""
        if not self.household.devices:
            return Empty("no_devices", "There are no devices yet.")
        if not self.devices:
            return Empty("no_match", self._no_match())
        if self.taking_part:
            return None
        if not any(d.first_at for d in self.devices):
            return Empty(
                "no_readings",
                "The selected devices have never sent a reading."
                if len(self.devices) > 1
                else f"{self.devices[0].name} has never sent a reading.",
            )
        return Empty("no_readings", "The selected devices have no readings in this period.")

    def _no_match(self) -> str:
        names = {d.device_id: d.name for d in self.household.devices}
        devices = ", ".join(names.get(i, i) for i in self.device_ids or ())
        rooms = ", ".join(self.rooms or ())
        if self.device_ids and self.rooms:
            return f"No device is both one of {devices} and in {rooms}."
        if self.rooms:
            return f"No device is in {rooms}."
        return f"No device {devices}."

    def with_period(self, period: Period) -> Selection:
        """The same devices and filters over another period (a comparison's baseline)."""
        return replace(self, period=period.in_timezone(self.timezone))

    def with_granularity(self, granularity: Granularity) -> Selection:
        return replace(self, granularity=granularity)

    def only(self, device: DeviceRef) -> Selection:
        return replace(
            self, devices=(device,), device_ids=(device.device_id,), whole_household=False
        )


# --- loading -----------------------------------------------------------------------------------


@for_household
def load_household(
    session: Session, *, user_id: int, settings: Settings | None = None
) -> Household:
    """The user's household: timezone, tariff and every device with its lifetime. Two queries;
    a third only for devices whose first reading the rollup has not recorded yet (brand new)."""
    settings = settings or get_settings()
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"No user {user_id}.")
    rows = device_rows(session.connection(), user_id=user_id)
    unknown = [row[0] for row in rows if row[8] is None]
    firsts = {}
    if unknown:
        # Readings stored since the last rollup: the oldest of them (index probes per device).
        firsts = dict(
            session.exec(
                select(Reading.device_pk, func.min(Reading.ts))
                .where(Reading.user_id == user_id, col(Reading.device_pk).in_(unknown))
                .group_by(Reading.device_pk)
            ).all()
        )
    gap = settings.effective_max_gap_s
    # Positional: a frozen dataclass sets each field through object.__setattr__, and keywords
    # cost a third more than that for 500 devices.
    devices = tuple(
        DeviceRef(pk, *named, gap(max_gap_s), is_active, first_at or firsts.get(pk), last_at)
        for pk, *named, max_gap_s, is_active, first_at, last_at in rows
    )
    from energy_core.tariffs import tariff_for  # it builds on the read layer's money module

    return Household(
        user_id=user_id,
        timezone=user.timezone,
        tariff=tariff_for(session, user),
        devices=devices,
    )


__all__ = [
    "GRID_METER_TYPE",
    "GRID_METER_TYPES",
    "DeviceRef",
    "Empty",
    "Household",
    "Selection",
    "load_household",
]

"""What the read API answers, as library calls over the read layer: readings, hourly statistics,
per-device stats, the household summary, the realtime view and the device list, always within one
user's data. The queries live here, in the library; the routes only parse, call and serialize.

Every read takes the caller's household (``load_household``, once per request) and reads only its
rows; a device of someone else is simply not found (``NotFoundError``, the same answer as for a
device that does not exist). Every figure is a metric of the read layer (``energy_core.stats``),
named as docs/metrics.md names it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from energy_core.accounts import list_devices
from energy_core.errors import CoreError, ErrorKind
from energy_core.household_scope import for_household
from energy_core.models import Device, Reading
from energy_core.read_requests import Listing, Window
from energy_core.read_results import (
    DeviceEnergy,
    DeviceStats,
    Energy,
    HourlyStat,
    Page,
    ReadingOut,
    Realtime,
    RealtimeDevice,
    Summary,
)
from energy_core.records import record_of
from energy_core.stats import (
    COST_RULE,
    DeviceRef,
    FigureTable,
    Household,
    Selection,
    Series,
    instant_period,
    locate_extremes,
    read_series,
)
from energy_core.stats.now import household_now, last_seen, latest_readings
from energy_core.stats.table import as_list
from energy_core.types import ceil_hour, floor_hour, from_epoch_us, to_epoch_us, utcnow

# Hourly statistics are computed a window at a time: at most this many (hour, device) points per
# read_series call and per request. A request that scans its budget without filling the page
# returns what it has and a cursor to continue from.
POINTS_PER_WINDOW = 20_000
POINTS_PER_REQUEST = 200_000

# Device keys and instants (epoch µs up to 2100) in a cursor are never larger than this.
_CURSOR_INT_MAX = 4_102_444_800_000_000


class InvalidCursor(CoreError, ValueError):
    """A cursor this API did not issue (or issued for another listing)."""

    kind = ErrorKind.invalid
    code = "validation_error"

    def __init__(self, message: str):
        problem = {"index": None, "field": "cursor", "message": "start again without a cursor"}
        super().__init__(message, [problem])


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


def _devices(household: Household, device_id: str | None) -> list[DeviceRef]:
    """The devices a read is about: ``device_id`` alone, or all of the household's."""
    if device_id is not None:
        return [household.require_device(device_id)]
    return list(household.devices)


def _read_range(
    session: Session,
    household: Household,
    devices: list[DeviceRef] | None,
    start: datetime,
    end: datetime,
) -> tuple[Selection, Series]:
    """The figures of ``devices`` (default: the household) over the instants ``[start, end)``
    in the household's timezone, with the selection they answer."""
    period = instant_period(start, end, timezone=household.timezone)
    selection = household.select(period, devices=devices)
    return selection, read_series(session, selection)


def list_readings(session: Session, household: Household, listing: Listing) -> Page[ReadingOut]:
    """The user's readings in the listing's window (either end open), device by device and in
    time order within a device, a page at a time; ``next_cursor`` continues where it ended."""
    limit, device_id, cursor = listing.page_size, listing.device_id, listing.cursor
    start, end = listing.window.start, listing.window.end
    listing.window.require_aware()
    devices = _devices(household, device_id)
    names = {d.pk: d.device_id for d in devices}
    query = select(Reading.device_pk, Reading.ts, Reading.power_w).where(
        Reading.user_id == household.user_id
    )
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


def hourly_stats(
    session: Session, household: Household, listing: Listing, *, now: datetime | None = None
) -> Page[HourlyStat]:
    """Figures of each UTC hour that has data, per device, over the whole hours that the
    listing's window touches (default: the last 24 hours), ordered by hour then device id. Each
    hour's import, export and cost are the device's own (docs/metrics.md).

    Hours without data are left out. A page may hold fewer than its size when a long empty
    stretch was scanned; follow ``next_cursor`` until it is null.
    """
    limit, cursor = listing.page_size, listing.cursor
    start, end = listing.window.resolve(now)
    devices = _devices(household, listing.device_id)
    first_hour = floor_hour(start)
    end_hour = ceil_hour(end)
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
        selection = household.select(
            instant_period(cursor_hour, window_end, timezone="UTC"),
            devices=devices,
            granularity="hour",
            timezone="UTC",
        )
        table = read_series(session, selection, flows=False).table
        budget -= table.shape[0] * table.shape[1]
        items.extend(_hourly_items(table, first_hour, after_device))
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


_ENERGY_FIELDS = [f.name for f in dataclasses.fields(Energy)]
_HOURLY_METRICS = [*_ENERGY_FIELDS, "has_data", "sample_count", "avg_w", "min_w", "max_w"]


def _hourly_items(table: FigureTable, first_hour: datetime, after_device: str) -> list[HourlyStat]:
    """The cells of ``table`` that have data (or readings), hour by hour and by device id within
    an hour, after ``after_device`` in ``first_hour``, taken from its columns (no figure of
    each cell is made)."""
    devices, hours = table.shape
    rank = np.argsort(np.array(table.device_ids, dtype=object), kind="stable")
    order = (np.arange(hours).reshape(-1, 1) * devices + rank.reshape(1, -1)).ravel()
    columns = table.columns(_HOURLY_METRICS)
    kept = order[(columns["has_data"] | (columns["sample_count"] != 0))[order]]
    values = {name: as_list(column[kept]) for name, column in columns.items()}
    items = []
    for k in range(len(kept)):
        hour = values["period_start"][k].astimezone(UTC)
        device_id = values["device_id"][k]
        if hour == first_hour and device_id <= after_device:
            continue
        items.append(
            HourlyStat(
                device_id=device_id,
                hour_start=hour,
                energy=Energy(**{name: values[name][k] for name in _ENERGY_FIELDS}),
                avg_watts=values["avg_w"][k],
                min_watts=values["min_w"][k],
                max_watts=values["max_w"][k],
                sample_count=values["sample_count"][k],
            )
        )
    return items


def device_stats(
    session: Session,
    household: Household,
    *,
    device_id: str,
    window: Window,
    now: datetime | None = None,
) -> DeviceStats:
    """Figures of one device over ``window`` (default: the last 24 hours), with its peak and
    minimum and when they were read, its first and last reading in the range and its latest
    reading overall."""
    start, end = window.resolve(now)
    device = household.require_device(device_id)
    user_id = household.user_id
    selection, series = _read_range(session, household, [device], start, end)
    total = (
        series.device_total(device.device_id)
        if device.device_id in series.by_device
        else series.total
    )
    locate_extremes(session, selection, total)
    first_at, last_at = session.exec(
        select(func.min(Reading.ts), func.max(Reading.ts)).where(
            Reading.user_id == user_id,
            Reading.device_pk == device.pk,
            Reading.ts >= start,
            Reading.ts < end,
        )
    ).one()
    latest = latest_readings(session, user_id=user_id).get(device.pk)
    stored_last_seen = session.exec(
        select(Device.last_seen_at).where(Device.id == device.pk, Device.user_id == user_id)
    ).one()
    return DeviceStats(
        device_id=device.device_id,
        name=device.name,
        start=start,
        end=end,
        energy=Energy.of(total),
        currency=household.currency,
        avg_watts=total.avg_w,
        avg_generation_watts=total.avg_generation_w,
        min_watts=total.min_w,
        min_at=total.min_at,
        max_watts=total.max_w,
        max_at=total.max_at,
        sample_count=total.sample_count,
        first_reading_at=first_at,
        last_reading_at=last_at,
        latest_power_w=latest[1] if latest else None,
        latest_reading_at=latest[0] if latest else None,
        last_seen_at=last_seen(stored_last_seen, latest[0] if latest else None),
    )


def household_summary(
    session: Session, household: Household, window: Window, *, now: datetime | None = None
) -> Summary:
    """The household over ``window`` (default: the last 24 hours): consumption, generation, grid
    import and export hour by hour, their cost, and each device's figures, largest consumer
    first (the devices that took part in the range)."""
    start, end = window.resolve(now)
    _, series = _read_range(session, household, None, start, end)
    total = series.total
    per_device = sorted(
        (
            DeviceEnergy(
                device_id=f.device_id,
                name=household.require_device(f.device_id).name,
                location=household.require_device(f.device_id).location,
                energy=Energy.of(f),
            )
            for f in series.device_totals()
        ),
        key=lambda d: (-(d.energy.consumption_wh or 0.0), d.device_id),
    )
    return Summary(
        start=start,
        end=end,
        energy=Energy.of(total),
        self_consumption_wh=total.self_consumption_wh,
        self_sufficiency=total.self_sufficiency,
        grid_metered=total.grid_metered,
        currency=household.currency,
        cost_rule=f"{COST_RULE} Here: {household.tariff.describe()}.",
        device_count=len(per_device),
        devices=per_device,
    )


def realtime(session: Session, household: Household, *, now: datetime | None = None) -> Realtime:
    """Each device's current power (while its latest reading still holds) and the household's:
    net (import positive), what the devices draw and what they produce."""
    now = now or utcnow()
    state = household_now(session, household, now=now)
    devices = [
        record_of(
            RealtimeDevice,
            s,
            name=s.device.name,
            location=s.device.location,
            today=Energy.of(s.today),
        )
        for s in state.devices
    ]
    return record_of(Realtime, state, at=now, total_power_w=state.net_w, devices=devices)


@for_household
def user_devices(session: Session, *, user_id: int) -> list[Device]:
    """The user's devices, by name."""
    return list_devices(session, user_id=user_id)

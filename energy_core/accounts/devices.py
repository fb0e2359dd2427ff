"""A user's devices: register, list, change and delete them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from energy_core.accounts.keys import delete_keys
from energy_core.errors import ConflictError, NotFoundError
from energy_core.household_scope import for_household
from energy_core.models import (
    ApiKey,
    DailyAggregate,
    Device,
    DeviceCreate,
    DeviceUpdate,
    DirtyHour,
    HourlyAggregate,
    Reading,
)
from energy_core.rollup import Rebuild, mark_for_rebuild
from energy_core.settings import Settings
from energy_core.sql.locks import lock_out_writers
from energy_core.types import utcnow


@for_household
def create_device(session: Session, *, user_id: int, data: DeviceCreate) -> Device:
    existing = get_device(session, user_id=user_id, device_id=data.device_id)
    if existing is not None:
        raise ConflictError(f"Device {data.device_id!r} already exists.")
    device = Device(**data.model_dump(), user_id=user_id)
    session.add(device)
    session.flush()
    return device


@for_household
def get_device(session: Session, *, user_id: int, device_id: str) -> Device | None:
    return session.exec(
        select(Device).where(Device.user_id == user_id, Device.device_id == device_id)
    ).first()


@for_household
def list_devices(session: Session, *, user_id: int, active_only: bool = False) -> list[Device]:
    query = select(Device).where(Device.user_id == user_id)
    if active_only:
        query = query.where(Device.is_active)
    return list(session.exec(query.order_by(Device.name, Device.device_id)))


@for_household
def require_device(session: Session, *, user_id: int, device_id: str) -> Device:
    device = get_device(session, user_id=user_id, device_id=device_id)
    if device is None:
        raise NotFoundError(f"No device {device_id!r}.")
    return device


@for_household
def update_device(
    session: Session,
    *,
    user_id: int,
    device_id: str,
    changes: DeviceUpdate,
    settings: Settings | None = None,
) -> Device:
    """Apply the fields set in ``changes`` (``max_gap_s=None`` set explicitly: back to the default).

    A new ``max_gap`` changes how every stored reading counts, so the device's hours are marked
    for the rollup to recompute. A deactivated device's last-seen time is set to its newest
    reading: it ends the device's part in figures, and writers on PostgreSQL move it only in
    steps of a minute (``sql.ingest.LAST_SEEN_STEP_S``).
    """
    device = require_device(session, user_id=user_id, device_id=device_id)
    was_active = device.is_active
    fields = changes.model_dump(exclude_unset=True)
    for name in ("name", "type", "location"):
        if name in fields and fields[name] is not None:
            fields[name] = fields[name].strip()
    if not fields.get("name", device.name):
        raise ValueError("A device needs a name.")
    gap_before = device.max_gap_s
    for name, value in fields.items():
        if value is None and name != "max_gap_s":
            continue
        setattr(device, name, value)
    device.updated_at = utcnow()
    if was_active and not device.is_active:
        newest = session.exec(
            select(func.max(Reading.ts)).where(
                Reading.user_id == user_id, Reading.device_pk == device.id
            )
        ).one()
        if newest is not None and (device.last_seen_at is None or newest > device.last_seen_at):
            device.last_seen_at = newest
    session.add(device)
    session.flush()
    if device.max_gap_s != gap_before:
        mark_for_rebuild(session, Rebuild(device_pks=[device.id]), settings=settings)
    return device


@dataclass(frozen=True)
class DeletedDevice:
    device_id: str
    readings: int
    hours: int
    keys: int


@for_household
def delete_device(session: Session, *, user_id: int, device_id: str) -> DeletedDevice:
    """Delete a device with all of its data: readings, hourly aggregates, pending marks and keys.

    Nothing in the database cascades to the readings (no foreign key, see migration 0020): this
    function is what deletes them, in the caller's transaction.
    """
    # First wait for the writers of the user's readings in flight (and keep new ones out), so
    # that what they stored is there to be deleted; the device row before its data, which also
    # waits for the single-reading writer's lock on it (sql.ingest.DEVICE_ROW_LOCK).
    lock_out_writers(session.connection(), user_id=user_id)
    device = require_device(session, user_id=user_id, device_id=device_id)
    keys = delete_keys(session, ApiKey.user_id == user_id, ApiKey.device_pk == device.id)
    session.delete(device)
    session.flush()
    counts = delete_device_rows(session, user_id=user_id, device_pks=[device.id])
    return DeletedDevice(
        device_id=device_id,
        readings=counts["readings"],
        hours=counts["hourly_aggregates"],
        keys=keys,
    )


@for_household
def delete_device_rows(
    session: Session, *, user_id: int, device_pks: list[int] | None
) -> dict[str, int]:
    """Delete the readings, hourly and daily aggregates and dirty marks of ``device_pks``
    (None: every device) of one user, by the leading columns of each primary key; returns the
    rows deleted per table."""
    counts = {}
    for table in (DirtyHour, DailyAggregate, HourlyAggregate, Reading):
        query = delete(table).where(col(table.user_id) == user_id)
        if device_pks is not None:
            query = query.where(col(table.device_pk).in_(device_pks))
        counts[table.__tablename__] = session.execute(
            query.execution_options(synchronize_session=False)
        ).rowcount
    return counts

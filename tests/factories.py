"""Factories for test data: real rows through the same library functions the product uses."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from energy_core.accounts import IssuedKey, create_device, create_user, issue_api_key
from energy_core.db import session_scope
from energy_core.ingest import ReadingIn, record_readings
from energy_core.models import Device, DeviceCreate, KeyScope, Reading, Role, User

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


def make_user(
    session: Session,
    *,
    email: str | None = None,
    role: Role = Role.member,
    timezone: str = "UTC",
    **kwargs,
) -> User:
    email = email or f"user{next(_counter)}@example.com"
    return create_user(
        session, email=email, password=PASSWORD, role=role, timezone=timezone, **kwargs
    )


def make_device(session: Session, *, user: User, device_id: str | None = None, **kwargs) -> Device:
    device_id = device_id or f"dev-{next(_counter)}"
    kwargs.setdefault("name", device_id.replace("-", " ").title())
    return create_device(session, user_id=user.id, data=DeviceCreate(device_id=device_id, **kwargs))


def make_key(
    session: Session,
    *,
    user: User,
    scope: KeyScope = KeyScope.ingest,
    device: Device | None = None,
) -> IssuedKey:
    return issue_api_key(
        session, user_id=user.id, scope=scope, device_id=device.device_id if device else None
    )


def add_readings(
    session: Session,
    *,
    user: User,
    device: Device,
    points: list[tuple[datetime, float]],
    now: datetime | None = None,
):
    return record_readings(
        session,
        user_id=user.id,
        readings=[ReadingIn(device.device_id, ts, power_w) for ts, power_w in points],
        now=now,
        enforce_window=now is not None,
    )


def steady_points(
    start: datetime, watts: float, *, count: int, step: timedelta = timedelta(minutes=5)
) -> list[tuple[datetime, float]]:
    """``count`` readings of ``watts``, one every ``step`` from ``start``."""
    return [(start + i * step, watts) for i in range(count)]


def time_of_use(
    *,
    valid_from: str,
    default: float,
    cheap: tuple[str, str, str, float],
    export: float | None = None,
    **document,
) -> dict:
    """A GBP tariff document: import at ``default`` except in ``cheap`` (days, from, to, price),
    export at ``export`` (none if None), and any other fields of ``document``."""
    days, start, end, price = cheap
    period = {"days": days, "from": start, "to": end, "price": price}
    tariff = {"currency": "GBP", "valid_from": valid_from, **document}
    tariff["import"] = {"default": default, "periods": [period]}
    if export is not None:
        tariff["export"] = {"default": export}
    return tariff


def seed_device(
    engine: Engine,
    points: list[tuple[datetime, float]] | None = None,
    *,
    now: datetime | None = None,
    owner: dict | None = None,
    **device,
) -> tuple[User, Device]:
    """A new user (``owner`` holds its fields) with one device (``device`` holds its fields) and
    its readings at ``points``, committed: ``(user, device)``."""
    with session_scope(engine) as session:
        user = make_user(session, **(owner or {}))
        made = make_device(session, user=user, **device)
        if points:
            add_readings(session, user=user, device=made, points=points, now=now)
    return user, made


def users_each_with_a_device(
    session: Session, *, device_id: str, points: list[list[tuple[datetime, float]]]
) -> list[User]:
    """A new user per entry of ``points``, each with a device named ``device_id`` that holds
    that entry's readings (same device id, different households)."""
    users = []
    for own_points in points:
        user = make_user(session)
        device = make_device(session, user=user, device_id=device_id)
        add_readings(session, user=user, device=device, points=own_points)
        users.append(user)
    return users


def stored_readings(engine: Engine, user_id: int) -> dict[str, list[tuple[datetime, float]]]:
    """Device id -> [(ts, watts)] of the user's stored readings, each device in time order."""
    with session_scope(engine, read_only=True) as session:
        rows = session.exec(
            select(Device.device_id, Reading.ts, Reading.power_w)
            .join(Device, Device.id == Reading.device_pk)
            .where(Reading.user_id == user_id)
            .order_by(Device.device_id, Reading.ts)
        ).all()
    out: dict[str, list[tuple[datetime, float]]] = {}
    for device_id, ts, power_w in rows:
        out.setdefault(device_id, []).append((ts, power_w))
    return out

"""Users: creating, finding and deleting them, their passwords and profile, administration and
self-registration."""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from energy_core.accounts.devices import delete_device_rows
from energy_core.accounts.keys import delete_keys
from energy_core.app_settings import get_registration_policy
from energy_core.errors import ConflictError, CoreError, ErrorKind, NotFoundError
from energy_core.household_scope import act_for_system, for_household
from energy_core.models import ApiKey, Device, Role, User
from energy_core.records import record_of
from energy_core.security import (
    WeakPasswordError,
    check_password_strength,
    hash_password,
    needs_rehash,
    verify_password,
)
from energy_core.sql.locks import lock_out_writers
from energy_core.types import utcnow


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise ValueError(f"{email!r} is not an email address.")
    return email


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not a known IANA timezone (e.g. Europe/Berlin).") from exc
    return name


# --- users -------------------------------------------------------------------------------------


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    full_name: str = "",
    role: Role = Role.member,
    timezone: str = "UTC",
    price_per_kwh: float = 0.30,
    currency: str = "EUR",
) -> User:
    email = normalize_email(email)
    check_password_strength(password, email=email)
    validate_timezone(timezone)
    if get_user_by_email(session, email=email) is not None:
        raise ConflictError(f"A user with email {email} already exists.")
    user = User(
        email=email,
        password_hash=hash_password(password),
        full_name=full_name,
        role=Role(role),
        timezone=timezone,
        price_per_kwh=price_per_kwh,
        currency=currency,
    )
    session.add(user)
    session.flush()
    return user


def get_user_by_email(session: Session, *, email: str) -> User | None:
    email = email.strip().lower()
    return session.exec(select(User).where(User.email == email)).first()


def require_user(session: Session, *, email: str) -> User:
    user = get_user_by_email(session, email=email)
    if user is None:
        raise NotFoundError(f"No user with email {email.strip().lower()}.")
    return user


def authenticate_user(session: Session, *, email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same answer for every kind of failure)."""
    user = get_user_by_email(session, email=email)
    if user is None or not user.is_active or not verify_password(password, user.password_hash):
        return None
    return user


def upgrade_password_hash(session: Session, *, user_id: int, password: str) -> bool:
    """After a successful sign-in with ``password``: store its hash in the current scheme if the
    stored one is older (bcrypt over the password itself, or a lower cost). True if it did."""
    user = session.get(User, user_id)
    if user is None or not needs_rehash(user.password_hash):
        return False
    if not verify_password(password, user.password_hash):
        return False
    user.password_hash = hash_password(password)
    session.add(user)
    return True


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.email)))


def count_users(session: Session) -> int:
    return session.exec(select(func.count()).select_from(User)).one()


def require_user_id(session: Session, *, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"No user {user_id}.")
    return user


def end_sessions(session: Session, *, user_id: int, at: datetime | None = None) -> datetime:
    """Invalidate every sign-in of the user from before ``at`` (default now): login cookies issued
    before it stop working and open sessions signed in before it are signed out. Returns the
    cut-off, which never moves backwards."""
    user = require_user_id(session, user_id=user_id)
    at = at or utcnow()
    if user.sessions_valid_after is None or user.sessions_valid_after < at:
        user.sessions_valid_after = at
        session.add(user)
    return user.sessions_valid_after


@dataclass(frozen=True)
class UserSummary:
    """A user as the admin pages list them (no password hash)."""

    id: int
    email: str
    full_name: str
    role: str
    is_active: bool
    timezone: str
    devices: int
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime


def list_user_summaries(session: Session) -> list[UserSummary]:
    act_for_system(session)  # across households by nature (row-level security)
    counts = dict(session.exec(select(Device.user_id, func.count()).group_by(Device.user_id)).all())
    return [
        record_of(UserSummary, user, role=str(user.role), devices=counts.get(user.id, 0))
        for user in list_users(session)
    ]


# --- passwords and profile ---------------------------------------------------------------------


class WrongPasswordError(CoreError, ValueError):
    """The current password given to change it is not the user's."""

    kind = ErrorKind.invalid
    code = "wrong_password"


def _check_new_password(password: str, *, email: str | None = None) -> None:
    check_password_strength(password, email=email)
    if password != password.strip():
        # The sign-in form strips what is typed: such a password could never be used.
        raise WeakPasswordError("Passwords cannot start or end with a space.")


def generate_password() -> str:
    """A random temporary password (about 96 bits) for an admin to hand over."""
    return secrets.token_urlsafe(12)


def change_password(
    session: Session,
    *,
    user_id: int,
    current_password: str,
    new_password: str,
    now: datetime | None = None,
) -> datetime:
    """Set a new password after checking the current one; every earlier sign-in of the user ends
    (the caller renews its own). Returns the cut-off of ``end_sessions``."""
    user = require_user_id(session, user_id=user_id)
    if not verify_password(current_password, user.password_hash):
        raise WrongPasswordError("The current password is not right.")
    _check_new_password(new_password, email=user.email)
    if verify_password(new_password, user.password_hash):
        raise WeakPasswordError("The new password is the same as the current one.")
    now = now or utcnow()
    user.password_hash = hash_password(new_password)
    user.updated_at = now
    session.add(user)
    return end_sessions(session, user_id=user_id, at=now)


def reset_password(
    session: Session, *, user_id: int, new_password: str, now: datetime | None = None
) -> datetime:
    """An admin sets a user's password: earlier sign-ins of that user end and a lock is lifted."""
    user = require_user_id(session, user_id=user_id)
    _check_new_password(new_password, email=user.email)
    now = now or utcnow()
    user.password_hash = hash_password(new_password)
    user.failed_logins = 0
    user.locked_until = None
    user.updated_at = now
    session.add(user)
    return end_sessions(session, user_id=user_id, at=now)


_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_PRICE_PER_KWH = 100.0


def update_profile(
    session: Session,
    *,
    user_id: int,
    full_name: str,
    timezone: str,
    price_per_kwh: float,
    currency: str,
    auto_register_devices: bool | None = None,
) -> User:
    user = require_user_id(session, user_id=user_id)
    full_name = full_name.strip()
    if len(full_name) > 200:
        raise ValueError("The name may be at most 200 characters long.")
    validate_timezone(timezone)
    if not math.isfinite(price_per_kwh) or not 0 <= price_per_kwh <= MAX_PRICE_PER_KWH:
        raise ValueError(f"The price per kWh must be between 0 and {MAX_PRICE_PER_KWH:g}.")
    currency = currency.strip().upper()
    if not _CURRENCY.match(currency):
        raise ValueError(f"{currency!r} is not a three-letter currency code (e.g. EUR, GBP, USD).")
    user.full_name = full_name
    user.timezone = timezone
    user.price_per_kwh = float(price_per_kwh)
    user.currency = currency
    if auto_register_devices is not None:
        user.auto_register_devices = auto_register_devices
    user.updated_at = utcnow()
    session.add(user)
    session.flush()
    return user


# --- administration ----------------------------------------------------------------------------


class LastAdminError(CoreError, ValueError):
    """The change would leave no active administrator, or an admin would lock themselves out."""

    kind = ErrorKind.conflict
    code = "last_admin"


def _active_admins(session: Session) -> int:
    return session.exec(
        select(func.count()).select_from(User).where(User.role == Role.admin, User.is_active)
    ).one()


def set_user_role(
    session: Session, *, user_id: int, role: Role, acting_user_id: int | None = None
) -> User:
    user = require_user_id(session, user_id=user_id)
    role = Role(role)
    if user.role == Role.admin and role != Role.admin:
        if user_id == acting_user_id:
            raise LastAdminError("You cannot remove your own admin role; ask another admin.")
        if user.is_active and _active_admins(session) <= 1:
            raise LastAdminError("This is the only active admin; make someone else admin first.")
    user.role = role
    user.updated_at = utcnow()
    session.add(user)
    return user


def set_user_active(
    session: Session, *, user_id: int, is_active: bool, acting_user_id: int | None = None
) -> User:
    """Deactivate (or reactivate) an account: it can no longer sign in, its open sessions end at
    their next click, and its API keys stop working. Nothing of its data is deleted."""
    user = require_user_id(session, user_id=user_id)
    if not is_active and user.is_active:
        if user_id == acting_user_id:
            raise LastAdminError("You cannot deactivate your own account.")
        if user.role == Role.admin and _active_admins(session) <= 1:
            raise LastAdminError("This is the only active admin; make someone else admin first.")
    user.is_active = is_active
    user.updated_at = utcnow()
    session.add(user)
    return user


@dataclass(frozen=True)
class DeletedUser:
    email: str
    devices: int
    readings: int
    hours: int


@for_household
def delete_user(
    session: Session, *, user_id: int, acting_user_id: int | None = None
) -> DeletedUser:
    """Delete an account with everything it owns: devices and their data, keys, chat history.

    The last active admin cannot be deleted, nor can an admin delete their own account.
    """
    user = require_user_id(session, user_id=user_id)
    if user_id == acting_user_id:
        raise LastAdminError("You cannot delete your own account.")
    if user.role == Role.admin and user.is_active and _active_admins(session) <= 1:
        raise LastAdminError("This is the only active admin; make someone else admin first.")
    lock_out_writers(session.connection(), user_id=user_id)
    delete_keys(session, ApiKey.user_id == user_id)
    # The device rows before their data, as in delete_device.
    devices = session.execute(
        delete(Device)
        .where(col(Device.user_id) == user_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    counts = delete_device_rows(session, user_id=user_id, device_pks=None)
    # Chat messages and settings authorship follow the user row (foreign keys).
    session.delete(user)
    session.flush()
    return DeletedUser(
        email=user.email,
        devices=devices,
        readings=counts["readings"],
        hours=counts["hourly_aggregates"],
    )


class RegistrationClosedError(CoreError, PermissionError):
    """Self-registration is off, or not open to this email's domain."""

    kind = ErrorKind.forbidden
    code = "registration_closed"


def register_user(
    session: Session, *, email: str, password: str, full_name: str = "", timezone: str = "UTC"
) -> User:
    """A visitor creates their own (member) account, as far as the admins' policy allows."""
    email = normalize_email(email)
    policy = get_registration_policy(session)
    if not policy.enabled:
        raise RegistrationClosedError("Creating accounts is turned off; ask an administrator.")
    if not policy.allows(email):
        raise RegistrationClosedError(
            "Accounts can only be created with an email address at "
            + ", ".join(policy.domains)
            + "."
        )
    _check_new_password(password, email=email)
    return create_user(
        session,
        email=email,
        password=password,
        full_name=full_name.strip(),
        role=Role.member,
        timezone=timezone,
    )

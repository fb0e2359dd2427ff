"""Users, their devices and their API keys: the functions every shell calls to manage them."""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from energy_core.app_settings import get_registration_policy
from energy_core.cache import Cache, MemoryCache, get_cache
from energy_core.models import (
    ApiKey,
    Device,
    DeviceCreate,
    DeviceUpdate,
    DirtyHour,
    HourlyAggregate,
    KeyScope,
    Reading,
    Role,
    User,
)
from energy_core.rollup import mark_for_rebuild
from energy_core.security import (
    WeakPasswordError,
    api_key_matches,
    check_password_strength,
    hash_api_key,
    hash_password,
    key_prefix,
    new_api_key,
    verify_password,
)
from energy_core.settings import Settings
from energy_core.types import utcnow


class NotFoundError(LookupError):
    """The object does not exist for this user (or belongs to someone else: same answer)."""


class ConflictError(ValueError):
    """The object already exists."""


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
    check_password_strength(password)
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


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.email)))


def count_users(session: Session) -> int:
    return session.exec(select(func.count()).select_from(User)).one()


def require_user_id(session: Session, *, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"No user {user_id}.")
    return user


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
    counts = dict(session.exec(select(Device.user_id, func.count()).group_by(Device.user_id)).all())
    return [
        UserSummary(
            id=user.id,
            email=user.email,
            full_name=user.full_name,
            role=str(user.role),
            is_active=user.is_active,
            timezone=user.timezone,
            devices=counts.get(user.id, 0),
            failed_logins=user.failed_logins,
            locked_until=user.locked_until,
            created_at=user.created_at,
        )
        for user in list_users(session)
    ]


# --- signing in --------------------------------------------------------------------------------
# The app's login form checks passwords; these rules around it live in the users table, so that a
# new browser session or another app process sees the same lock and the same session cut-off.

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


def login_locked_until(
    session: Session, *, email: str, now: datetime | None = None
) -> datetime | None:
    """Until when password sign-ins of ``email`` are refused, or None when they are allowed."""
    user = get_user_by_email(session, email=email)
    now = now or utcnow()
    if user is None or user.locked_until is None or user.locked_until <= now:
        return None
    return user.locked_until


def record_failed_login(
    session: Session, *, email: str, now: datetime | None = None
) -> datetime | None:
    """Count a wrong password for ``email``. The ``MAX_FAILED_LOGINS``-th in a row refuses password
    sign-ins for ``LOCKOUT`` and starts the count again; returns the end of that lock, else None.

    Unknown emails are not counted: there is no row, and making one would let anyone fill the
    table. Attempts while locked are refused before this is called, so they do not extend it.
    """
    now = now or utcnow()
    email = email.strip().lower()
    # Incremented in SQL: two wrong passwords at the same moment in two processes both count.
    # "fetch" keeps a User already loaded in this session in step with the row.
    failures = session.execute(
        update(User)
        .where(col(User.email) == email)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)
        .execution_options(synchronize_session="fetch")
    ).scalar_one_or_none()
    if failures is None or failures < MAX_FAILED_LOGINS:
        return None
    until = now + LOCKOUT
    session.execute(
        update(User)
        .where(col(User.email) == email)
        .values(failed_logins=0, locked_until=until)
        .execution_options(synchronize_session="fetch")
    )
    return until


def record_successful_login(session: Session, *, user_id: int) -> None:
    session.execute(
        update(User)
        .where(
            col(User.id) == user_id,
            (User.failed_logins != 0) | (col(User.locked_until).is_not(None)),
        )
        .values(failed_logins=0, locked_until=None)
        .execution_options(synchronize_session="fetch")
    )


def unlock_user(session: Session, *, user_id: int) -> None:
    user = require_user_id(session, user_id=user_id)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)


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


def sign_in_is_current(user: User, *, signed_in_at: datetime) -> bool:
    """Whether a sign-in made at ``signed_in_at`` (a cookie's issue time) is still honoured."""
    return user.sessions_valid_after is None or signed_in_at >= user.sessions_valid_after


# --- passwords and profile ---------------------------------------------------------------------


class WrongPasswordError(ValueError):
    """The current password given to change it is not the user's."""


def _check_new_password(password: str) -> None:
    check_password_strength(password)
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
    _check_new_password(new_password)
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
    _check_new_password(new_password)
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


class LastAdminError(ValueError):
    """The change would leave no active administrator, or an admin would lock themselves out."""


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


class RegistrationClosedError(PermissionError):
    """Self-registration is off, or not open to this email's domain."""


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
    _check_new_password(password)
    return create_user(
        session,
        email=email,
        password=password,
        full_name=full_name.strip(),
        role=Role.member,
        timezone=timezone,
    )


# --- devices -----------------------------------------------------------------------------------


def create_device(session: Session, *, user_id: int, data: DeviceCreate) -> Device:
    existing = get_device(session, user_id=user_id, device_id=data.device_id)
    if existing is not None:
        raise ConflictError(f"Device {data.device_id!r} already exists.")
    device = Device(**data.model_dump(), user_id=user_id)
    session.add(device)
    session.flush()
    return device


def get_device(session: Session, *, user_id: int, device_id: str) -> Device | None:
    return session.exec(
        select(Device).where(Device.user_id == user_id, Device.device_id == device_id)
    ).first()


def list_devices(session: Session, *, user_id: int, active_only: bool = False) -> list[Device]:
    query = select(Device).where(Device.user_id == user_id)
    if active_only:
        query = query.where(Device.is_active)
    return list(session.exec(query.order_by(Device.name, Device.device_id)))


def require_device(session: Session, *, user_id: int, device_id: str) -> Device:
    device = get_device(session, user_id=user_id, device_id=device_id)
    if device is None:
        raise NotFoundError(f"No device {device_id!r}.")
    return device


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
    for the rollup to recompute.
    """
    device = require_device(session, user_id=user_id, device_id=device_id)
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
    session.add(device)
    session.flush()
    if device.max_gap_s != gap_before:
        mark_for_rebuild(session, device_pks=[device.id], settings=settings)
    return device


@dataclass(frozen=True)
class DeletedDevice:
    device_id: str
    readings: int
    hours: int
    keys: int


def delete_device(session: Session, *, user_id: int, device_id: str) -> DeletedDevice:
    """Delete a device with all of its data: readings, hourly aggregates, pending marks and keys.

    Nothing in the database cascades to the readings (no foreign key, see migration 0020): this
    function is what deletes them, in the caller's transaction.
    """
    device = require_device(session, user_id=user_id, device_id=device_id)
    keys = _delete_keys(session, ApiKey.user_id == user_id, ApiKey.device_pk == device.id)
    # The device row first: that waits for the writers that hold it (sql.ingest.DEVICE_ROW_LOCK),
    # so the readings they stored are there to be deleted next.
    session.delete(device)
    session.flush()
    counts = _delete_device_rows(session, user_id=user_id, device_pks=[device.id])
    return DeletedDevice(
        device_id=device_id,
        readings=counts["readings"],
        hours=counts["hourly_aggregates"],
        keys=keys,
    )


@dataclass(frozen=True)
class DeletedUser:
    email: str
    devices: int
    readings: int
    hours: int


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
    _delete_keys(session, ApiKey.user_id == user_id)
    # The device rows before their data, as in delete_device.
    devices = session.execute(
        delete(Device)
        .where(col(Device.user_id) == user_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    counts = _delete_device_rows(session, user_id=user_id, device_pks=None)
    # Chat messages and settings authorship follow the user row (foreign keys).
    session.delete(user)
    session.flush()
    return DeletedUser(
        email=user.email,
        devices=devices,
        readings=counts["readings"],
        hours=counts["hourly_aggregates"],
    )


def _delete_device_rows(
    session: Session, *, user_id: int, device_pks: list[int] | None
) -> dict[str, int]:
    """Delete the readings, aggregates and dirty marks of ``device_pks`` (None: every device) of
    one user, by the leading columns of each primary key; returns the rows deleted per table."""
    counts = {}
    for table in (DirtyHour, HourlyAggregate, Reading):
        query = delete(table).where(col(table.user_id) == user_id)
        if device_pks is not None:
            query = query.where(col(table.device_pk).in_(device_pks))
        counts[table.__tablename__] = session.execute(
            query.execution_options(synchronize_session=False)
        ).rowcount
    return counts


def _delete_keys(session: Session, *conditions) -> int:  # noqa: ANN002 - column conditions
    """Delete the keys matching ``conditions`` and forget them in the shared key cache at once."""
    hashes = (
        session.execute(
            delete(ApiKey)
            .where(*conditions)
            .returning(ApiKey.key_hash)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    for key_hash in hashes:
        get_cache().delete(_key_cache_name(key_hash))
    return len(hashes)


# --- API keys ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedKey:
    """A freshly issued key. ``key`` is the only copy of the secret: show it once."""

    key: str
    prefix: str
    id: int
    scope: KeyScope
    device_id: str | None


@dataclass(frozen=True)
class KeyPrincipal:
    """Who a verified API key speaks for."""

    key_id: int
    user_id: int
    scope: KeyScope
    device_pk: int | None


def issue_api_key(
    session: Session,
    *,
    user_id: int,
    scope: KeyScope,
    device_id: str | None = None,
    name: str = "",
) -> IssuedKey:
    """Issue a key for one device (``device_id``) or for all of the user's devices (None)."""
    scope = KeyScope(scope)
    device_pk = None
    if device_id is not None:
        if scope is not KeyScope.ingest:
            raise ValueError("Only ingest keys can be limited to one device.")
        device = get_device(session, user_id=user_id, device_id=device_id)
        if device is None:
            raise NotFoundError(f"No device {device_id!r}.")
        device_pk = device.id
    key, prefix, key_hash = new_api_key()
    row = ApiKey(
        user_id=user_id,
        device_pk=device_pk,
        scope=scope,
        name=name,
        prefix=prefix,
        key_hash=key_hash,
    )
    session.add(row)
    session.flush()
    return IssuedKey(key=key, prefix=prefix, id=row.id, scope=scope, device_id=device_id)


def issue_replacement_key(
    session: Session, *, user_id: int, name: str, scope: KeyScope = KeyScope.ingest
) -> IssuedKey:
    """Revoke the user's live keys called ``name`` and issue a new household key of that name: for
    programs (the simulator) that need a key at every start but can only be shown one once."""
    for old in list_api_keys(session, user_id=user_id):
        if old.name == name and old.revoked_at is None:
            revoke_api_key(session, user_id=user_id, key_id=old.id)
    return issue_api_key(session, user_id=user_id, scope=scope, name=name)


def verify_api_key(session: Session, *, key: str) -> KeyPrincipal | None:
    """The principal of a valid, unrevoked key of an active user; None for anything else."""
    prefix = key_prefix(key)
    if prefix is None:
        return None
    row = session.exec(
        select(ApiKey, User.is_active)
        .join(User, User.id == ApiKey.user_id)
        .where(ApiKey.prefix == prefix)
    ).first()
    if row is None:
        return None
    api_key, user_active = row
    if api_key.revoked_at is not None or not user_active:
        return None
    if not api_key_matches(key, api_key.key_hash):
        return None
    return KeyPrincipal(
        key_id=api_key.id,
        user_id=api_key.user_id,
        scope=KeyScope(api_key.scope),
        device_pk=api_key.device_pk,
    )


def touch_api_key(session: Session, *, key_id: int, at: datetime | None = None) -> None:
    key = session.get(ApiKey, key_id)
    if key is not None:
        key.last_used_at = at or utcnow()
        session.add(key)


def revoke_api_key(session: Session, *, user_id: int, key_id: int) -> None:
    key = session.get(ApiKey, key_id)
    if key is None or key.user_id != user_id:
        raise NotFoundError(f"No API key {key_id}.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
    get_cache().delete(_key_cache_name(key.key_hash))


def list_api_keys(session: Session, *, user_id: int) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.id)))


@dataclass(frozen=True)
class ApiKeyInfo:
    """A key as the app lists it: never the secret, only its visible prefix."""

    id: int
    prefix: str
    name: str
    scope: str
    device_id: str | None
    device_name: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def describe_api_keys(session: Session, *, user_id: int) -> list[ApiKeyInfo]:
    rows = session.exec(
        select(ApiKey, Device.device_id, Device.name)
        .join(Device, col(Device.id) == ApiKey.device_pk, isouter=True)
        .where(ApiKey.user_id == user_id)
        .order_by(col(ApiKey.revoked_at).is_not(None), col(ApiKey.id).desc())
    ).all()
    return [
        ApiKeyInfo(
            id=key.id,
            prefix=key.prefix,
            name=key.name,
            scope=str(key.scope),
            device_id=device_id,
            device_name=device_name,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )
        for key, device_id, device_name in rows
    ]


def rotate_api_key(session: Session, *, user_id: int, key_id: int) -> IssuedKey:
    """Revoke a key and issue its replacement: same name, scope and device."""
    old = session.get(ApiKey, key_id)
    if old is None or old.user_id != user_id:
        raise NotFoundError(f"No API key {key_id}.")
    if old.revoked_at is not None:
        raise ValueError("This key is revoked already; issue a new one instead.")
    device_id = None
    if old.device_pk is not None:
        device = session.get(Device, old.device_pk)
        device_id = device.device_id if device is not None else None
    revoke_api_key(session, user_id=user_id, key_id=key_id)
    return issue_api_key(
        session, user_id=user_id, scope=KeyScope(old.scope), device_id=device_id, name=old.name
    )


def _key_cache_name(key_hash: str) -> str:
    return f"apikey:{key_hash}"


def _principal(cached: bytes | None) -> KeyPrincipal | None:
    if cached is None:
        return None
    fields = orjson.loads(cached)
    return KeyPrincipal(**{**fields, "scope": KeyScope(fields["scope"])})


class CachedKeyVerifier:
    """``verify_api_key`` behind a short cache (Redis when configured, shared by every API replica),
    so a busy device does not cost a key lookup per request. Each process also keeps what it read
    from Redis until Redis would drop it, so a key costs one Redis call per process per ``ttl_s``.
    Revoking a key drops it from Redis and from the revoking process's memory at once; every other
    process stops accepting it within ``ttl_s`` of its last check against the database (5 s by
    default), and so does a key whose user was deactivated."""

    def __init__(self, ttl_s: float, cache: Cache | None = None):
        self.ttl_s = ttl_s
        self.cache = cache if cache is not None else MemoryCache()

    def cached(self, key: str) -> KeyPrincipal | None:
        """The principal of ``key`` if the cache holds it; never asks the database."""
        if self.ttl_s <= 0:
            return None
        return _principal(self.cache.get_near(_key_cache_name(hash_api_key(key))))

    async def acached(self, key: str) -> KeyPrincipal | None:
        """``cached`` for a caller on an event loop: it never blocks the loop."""
        if self.ttl_s <= 0:
            return None
        return _principal(await self.cache.aget_near(_key_cache_name(hash_api_key(key))))

    def verify(self, session_factory, key: str) -> KeyPrincipal | None:  # noqa: ANN001
        principal = self.cached(key)
        if principal is not None:
            return principal
        name = _key_cache_name(hash_api_key(key))
        with session_factory() as session:
            principal = verify_api_key(session, key=key)
            if principal is not None:
                touch_api_key(session, key_id=principal.key_id)
        # Only valid keys are cached: junk keys must not fill a shared Redis.
        if principal is not None and self.ttl_s > 0:
            self.cache.set(name, orjson.dumps(asdict(principal)), ttl_s=self.ttl_s)
        return principal

"""Users, their devices and their API keys: the functions every shell calls to manage them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from sqlalchemy import func
from sqlmodel import Session, select

from energy_core.cache import Cache, MemoryCache, get_cache
from energy_core.models import ApiKey, Device, DeviceCreate, KeyScope, Role, User
from energy_core.security import (
    api_key_matches,
    check_password_strength,
    hash_api_key,
    hash_password,
    key_prefix,
    new_api_key,
    verify_password,
)
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


def _key_cache_name(key_hash: str) -> str:
    return f"apikey:{key_hash}"


class CachedKeyVerifier:
    """``verify_api_key`` behind a short cache (Redis when configured, shared by every API replica),
    so a busy device does not cost a key lookup per request. Revoking a key drops it from the
    shared cache at once; a process-memory cache elsewhere forgets it within ``ttl_s``."""

    def __init__(self, ttl_s: float, cache: Cache | None = None):
        self.ttl_s = ttl_s
        self.cache = cache if cache is not None else MemoryCache()

    def verify(self, session_factory, key: str) -> KeyPrincipal | None:  # noqa: ANN001
        name = _key_cache_name(hash_api_key(key))
        if self.ttl_s > 0:
            hit = self.cache.get(name)
            if hit is not None:
                cached = orjson.loads(hit)
                return KeyPrincipal(**{**cached, "scope": KeyScope(cached["scope"])})
        with session_factory() as session:
            principal = verify_api_key(session, key=key)
            if principal is not None:
                touch_api_key(session, key_id=principal.key_id)
        # Only valid keys are cached: junk keys must not fill a shared Redis.
        if principal is not None and self.ttl_s > 0:
            self.cache.set(name, orjson.dumps(asdict(principal)), ttl_s=self.ttl_s)
        return principal

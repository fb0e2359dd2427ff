"""API keys: issued once, stored as a hash, verified (behind a short cache), rotated and
revoked."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from energy_core.cache import Cache, MemoryCache, get_cache
from energy_core.errors import NotFoundError
from energy_core.household_scope import across_households, for_household
from energy_core.models import ApiKey, Device, KeyScope, User
from energy_core.records import record_of
from energy_core.security import (
    EMONCMS_PREFIX,
    api_key_matches,
    hash_api_key,
    is_emoncms_key,
    key_prefix,
    new_api_key,
    new_emoncms_key,
)
from energy_core.types import utcnow


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
    # Whether unknown power inputs sent with this key (Emoncms, InfluxDB) become devices.
    register_inputs: bool = True


@for_household
def issue_api_key(
    session: Session,
    *,
    user_id: int,
    scope: KeyScope,
    device_id: str | None = None,
    name: str = "",
    emoncms: bool = False,
    register_inputs: bool = True,
) -> IssuedKey:
    """Issue a key for one device (``device_id``) or for all of the user's devices (None).

    ``emoncms=True`` issues it as 32 lowercase hex characters, the only shape Emoncms clients
    accept; ``register_inputs=False`` keeps unknown inputs sent with it from becoming devices."""
    scope = KeyScope(scope)
    device_pk = None
    if device_id is not None:
        if scope is not KeyScope.ingest:
            raise ValueError("Only ingest keys can be limited to one device.")
        device_pk = session.exec(
            select(Device.id).where(Device.user_id == user_id, Device.device_id == device_id)
        ).first()
        if device_pk is None:
            raise NotFoundError(f"No device {device_id!r}.")
    key, prefix, key_hash = new_emoncms_key() if emoncms else new_api_key()
    row = ApiKey(
        register_inputs=register_inputs,
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


@for_household
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
    if prefix is not None:
        which = ApiKey.prefix == prefix
    elif is_emoncms_key(key):
        which = ApiKey.key_hash == hash_api_key(key)
    else:
        return None
    # The household is what the key says: the lookup is across households by nature.
    with across_households(session):
        row = session.exec(
            select(ApiKey, User.is_active).join(User, User.id == ApiKey.user_id).where(which)
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
        register_inputs=api_key.register_inputs,
    )


# How stale a key's last-use time may be. A device posts every few seconds and its key drops out of
# the short verification cache every ``ttl_s``: a write per check made each of those requests a
# writing transaction (a row lock and a WAL flush at commit), 2,000 of them a minute for a fleet
# of 2,000 devices. The time is shown to the minute.
LAST_USED_STEP = timedelta(minutes=1)


def touch_api_key(session: Session, *, key_id: int, at: datetime | None = None) -> None:
    """Record that the key was used ``at`` (default now), unless its last use recorded is less
    than ``LAST_USED_STEP`` before that: the statement then changes no row and writes nothing."""
    at = at or utcnow()
    with across_households(session):
        session.exec(
            update(ApiKey)
            .where(
                col(ApiKey.id) == key_id,
                or_(
                    col(ApiKey.last_used_at).is_(None),
                    col(ApiKey.last_used_at) <= at - LAST_USED_STEP,
                ),
            )
            .values(last_used_at=at)
        )


@for_household
def revoke_api_key(session: Session, *, user_id: int, key_id: int) -> None:
    key = session.get(ApiKey, key_id)
    if key is None or key.user_id != user_id:
        raise NotFoundError(f"No API key {key_id}.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
    _forget([key.key_hash])


@for_household
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


@for_household
def describe_api_keys(session: Session, *, user_id: int) -> list[ApiKeyInfo]:
    rows = session.exec(
        select(ApiKey, Device.device_id, Device.name)
        .join(Device, col(Device.id) == ApiKey.device_pk, isouter=True)
        .where(ApiKey.user_id == user_id)
        .order_by(col(ApiKey.revoked_at).is_not(None), col(ApiKey.id).desc())
    ).all()
    return [
        record_of(
            ApiKeyInfo, key, scope=str(key.scope), device_id=device_id, device_name=device_name
        )
        for key, device_id, device_name in rows
    ]


@for_household
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
        session,
        user_id=user_id,
        scope=KeyScope(old.scope),
        device_id=device_id,
        name=old.name,
        emoncms=old.prefix.startswith(EMONCMS_PREFIX),
        register_inputs=old.register_inputs,
    )


def _key_cache_name(key_hash: str) -> str:
    return f"apikey:{key_hash}"


def delete_keys(session: Session, *conditions) -> int:  # noqa: ANN002 - column conditions
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
    _forget(hashes)
    return len(hashes)


def _forget(key_hashes: Iterable[str]) -> None:
    cache = get_cache()
    for key_hash in key_hashes:
        cache.delete(_key_cache_name(key_hash))


# Principals decoded from cached values, by the value: a busy key is decoded once, not once per
# request (the value is the whole principal, so equal bytes decode to an equal principal).
_DECODED: dict[bytes, KeyPrincipal] = {}
_DECODED_MAX = 4_096


def _principal(cached: bytes | None) -> KeyPrincipal | None:
    if cached is None:
        return None
    principal = _DECODED.get(cached)
    if principal is None:
        fields = orjson.loads(cached)
        principal = KeyPrincipal(**{**fields, "scope": KeyScope(fields["scope"])})
        if len(_DECODED) >= _DECODED_MAX:
            _DECODED.clear()
        _DECODED[bytes(cached)] = principal
    return principal


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

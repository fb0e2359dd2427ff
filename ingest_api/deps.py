"""What a route needs, as typed dependencies: the API's shared state (settings, engine, key
verifier, rate limiter, writers), a read-only database session, and the caller built from the
bearer key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session

from energy_core.accounts import CachedKeyVerifier, KeyPrincipal
from energy_core.db import session_scope
from energy_core.errors import ErrorKind
from energy_core.models import KeyScope
from energy_core.ratelimit import RateDecision, RateLimiter
from energy_core.settings import Settings
from ingest_api.errors import ApiError, unauthorized
from ingest_api.singles import SingleReadingWriter


@dataclass(frozen=True)
class Api:
    """What every request of one app shares; ``create_app`` builds it once."""

    settings: Settings
    engine: Engine
    verifier: CachedKeyVerifier
    limiter: RateLimiter
    # The writer of single readings on PostgreSQL (None on SQLite).
    singles: SingleReadingWriter | None
    # Blocking database work runs in worker threads, at most this many at once.
    writers: anyio.CapacityLimiter


async def get_api(request: Request) -> Api:
    return request.app.state.api


ApiDep = Annotated[Api, Depends(get_api)]


async def get_settings(api: ApiDep) -> Settings:
    return api.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def read_session(api: ApiDep) -> Iterator[Session]:
    """A read-only transaction for one request, ended before the answer is sent."""
    with session_scope(api.engine, read_only=True) as session:
        yield session


SessionDep = Annotated[Session, Depends(read_session, scope="function")]

bearer = HTTPBearer(
    auto_error=False,
    description="An API key: scope `ingest` to write readings, `read` to read them.",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


def bearer_key(credentials: HTTPAuthorizationCredentials | None) -> str:
    return credentials.credentials.strip() if credentials is not None else ""


def check_key(
    api: Api, principal: KeyPrincipal | None, scope: KeyScope, decision: RateDecision | None = None
) -> KeyPrincipal:
    """``principal`` if it may go ahead: a valid key of ``scope``, within its rate limit
    (``decision``, counted here unless the caller counted already)."""
    if principal is None:
        raise unauthorized()
    decision = decision or api.limiter.hit(key_id=principal.key_id)
    if not decision.allowed:
        raise ApiError(
            ErrorKind.rate_limited,
            "rate_limited",
            f"This key made more than {decision.limit} requests in "
            f"{api.settings.rate_limit_window_s:g} s; retry in {decision.retry_after_s} s.",
            headers={"Retry-After": str(decision.retry_after_s)},
        )
    if principal.scope is not scope:
        raise ApiError(
            ErrorKind.forbidden,
            "wrong_scope",
            f"This key has scope {principal.scope.value!r}; this needs a {scope.value!r} key.",
        )
    return principal


def authorize(
    api: Api, credentials: HTTPAuthorizationCredentials | None, scope: KeyScope
) -> KeyPrincipal:
    """The caller of the request's key, counted against its rate limit. Blocking."""
    key = bearer_key(credentials)
    principal = api.verifier.verify(lambda: session_scope(api.engine), key) if key else None
    return check_key(api, principal, scope)


def reader(api: ApiDep, credentials: Credentials) -> KeyPrincipal:
    return authorize(api, credentials, KeyScope.read)


# The caller of a read route: a valid `read` key within its rate limit.
ReaderDep = Annotated[KeyPrincipal, Depends(reader)]

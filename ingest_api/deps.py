"""What a route needs, as typed dependencies: the API's shared state (settings, engine, key
verifier, rate limiter, writers), a read-only database session, and the caller built from the
bearer key; the session works for the caller's household only."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, NamedTuple, TypeVar

import anyio
from fastapi import APIRouter, Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session

from energy_core.accounts import CachedKeyVerifier, KeyPrincipal
from energy_core.db import run_transaction, session_scope
from energy_core.errors import ErrorKind
from energy_core.inputs import InputValue, record_inputs
from energy_core.models import KeyScope
from energy_core.ratelimit import FailedAuthThrottle, RateDecision, RateLimiter
from energy_core.security import hash_api_key
from energy_core.settings import Settings
from energy_core.stats import Household as LoadedHousehold
from energy_core.stats import load_household
from ingest_api.errors import ApiError, documented, unauthorized
from ingest_api.singles import SingleReadingWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Api:
    """What every request of one app shares; ``create_app`` builds it once."""

    settings: Settings
    engine: Engine
    verifier: CachedKeyVerifier
    limiter: RateLimiter
    # Failed key authentications per client address.
    auth_failures: FailedAuthThrottle
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


bearer = HTTPBearer(
    auto_error=False,
    description="An API key: scope `ingest` to write readings, `read` to read them.",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


class BearerCredentials(NamedTuple):
    """What ``bearer`` finds in a request, as a plain tuple: the single-reading route reads it
    for every request and needs no model of it."""

    scheme: str
    credentials: str


# A bearer key as the dependency gives it, or as the single-reading route reads it.
AnyCredentials = HTTPAuthorizationCredentials | BearerCredentials | None


def bearer_key(credentials: AnyCredentials) -> str:
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
        raise rate_limited(
            "rate_limited",
            f"This key made more than {decision.limit} requests in "
            f"{api.settings.rate_limit_window_s:g} s",
            decision,
        )
    if principal.scope is not scope:
        raise ApiError(
            ErrorKind.forbidden,
            "wrong_scope",
            f"This key has scope {principal.scope.value!r}; this needs a {scope.value!r} key.",
        )
    return principal


def client_address(request: Request) -> str:
    """The address of whoever sent ``request``: the peer, or what a trusted proxy says the peer
    was (``ENERGY_TRUSTED_PROXIES``; the app's proxy-headers middleware rewrites the peer)."""
    return request.client.host if request.client is not None else "unknown"


def key_fingerprint(key: str) -> str:
    """Eight hex digits of the key's stored hash: enough to find a revoked key's row
    (``key_hash LIKE 'abcd1234%'``) or to see one wrong key tried again, nothing to sign in with."""
    return hash_api_key(key)[:8]


def rate_limited(code: str, what: str, decision: RateDecision) -> ApiError:
    """The 429 of a refused ``decision``: ``what`` went over the limit, and when to retry."""
    return ApiError(
        ErrorKind.rate_limited,
        code,
        f"{what}; retry in {decision.retry_after_s} s.",
        headers={"Retry-After": str(decision.retry_after_s)},
    )


def throttled(api: Api, decision: RateDecision) -> ApiError:
    return rate_limited(
        "too_many_failed_authentications",
        f"More than {decision.limit} requests from this address had an invalid API key in "
        f"{api.settings.auth_failure_window_s:g} s",
        decision,
    )


def verify_key(api: Api, key: str, client: str) -> KeyPrincipal | None:
    """The caller of ``key``, or None after counting and logging the failure against ``client``.
    Blocking.

    A key the cache holds was valid moments ago and goes straight through; any other is looked
    up only while ``client`` has not failed too often (else ``throttled``)."""
    principal = api.verifier.cached(key)
    if principal is not None:
        return principal
    allowed = api.auth_failures.check(client)
    if not allowed.allowed:
        raise throttled(api, allowed)
    # A session of its own for the lookup, which is across households by nature (the key says
    # whose it is): in system scope from the start, one statement fewer than switching to it.
    principal = api.verifier.verify(lambda: session_scope(api.engine, system=True), key)
    if principal is None:
        after = api.auth_failures.failed(client)
        log.warning(
            "refused an unknown, revoked or malformed API key (fingerprint %s) from %s; "
            "%d more failures allowed from there in this window",
            key_fingerprint(key),
            client,
            after.remaining,
        )
    return principal


def store_inputs(api: Api, principal: KeyPrincipal, values: list[InputValue]) -> None:
    """Store what a hub (Emoncms, InfluxDB) sent with ``principal``'s key, in one transaction.
    Blocking. Run again if PostgreSQL rolled it back to break a deadlock, as batches are."""

    def write() -> None:
        with session_scope(api.engine, household=principal.user_id) as session:
            record_inputs(
                session,
                user_id=principal.user_id,
                values=values,
                register=principal.register_inputs,
                settings=api.settings,
            )

    run_transaction(write)


def authorize(api: Api, credentials: AnyCredentials, scope: KeyScope, client: str) -> KeyPrincipal:
    """The caller of the request's key (sent from ``client``), counted against its rate limit.
    Blocking."""
    key = bearer_key(credentials)
    principal = verify_key(api, key, client) if key else None
    if principal is None:
        raise unauthorized()
    return check_key(api, principal, scope)


def reader(api: ApiDep, credentials: Credentials, request: Request) -> KeyPrincipal:
    return authorize(api, credentials, KeyScope.read, client_address(request))


# The caller of a read route: a valid `read` key within its rate limit.
ReaderDep = Annotated[KeyPrincipal, Depends(reader)]


def read_session(api: ApiDep, principal: ReaderDep) -> Iterator[Session]:
    """A read-only transaction for the caller's household (row-level security on PostgreSQL),
    ended before the answer is sent."""
    with session_scope(api.engine, read_only=True, household=principal.user_id) as session:
        yield session


SessionDep = Annotated[Session, Depends(read_session, scope="function")]


Found = TypeVar("Found")


@dataclass(frozen=True)
class Household:
    """What a read route asks the library with: the read key's household, a read-only session
    and the settings."""

    session: Session
    settings: Settings
    user_id: int

    def read(self, query: Callable[..., Found], **arguments: object) -> Found:
        """``query`` (a library call that takes the ``user_id``, e.g. of the chat) over this
        household."""
        return query(self.session, settings=self.settings, user_id=self.user_id, **arguments)

    @cached_property
    def loaded(self) -> LoadedHousehold:
        """The household's timezone, tariff and devices, loaded once for the request."""
        return load_household(self.session, user_id=self.user_id, settings=self.settings)

    def read_figures(self, query: Callable[..., Found], **arguments: object) -> Found:
        """``query`` (a read of ``energy_core.reads``) over the loaded household."""
        return query(self.session, self.loaded, **arguments)


def household(principal: ReaderDep, session: SessionDep, settings: SettingsDep) -> Household:
    return Household(session, settings, principal.user_id)


# The caller of a read route, with what it reads through.
HouseholdDep = Annotated[Household, Depends(household)]


READ_ERRORS = (401, 403, 404, 422, 429, 503)


def read_router(*errors: int) -> APIRouter:
    """The router of a read resource: tagged ``read``, each route documenting the errors any
    read can answer (``errors``; by default those of a read that names a device)."""
    return APIRouter(tags=["read"], responses=documented(*(errors or READ_ERRORS)))

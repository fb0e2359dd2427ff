"""The ingest API: devices post readings, integrations read them back; energy_core does the work.

``create_app`` builds what requests share (``deps.Api``), includes one router per resource and
installs the error handlers; every answer that is not a success has the shape
``{"error": {"code", "message", "details"}}`` (``errors.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from energy_core import __version__
from energy_core.accounts import CachedKeyVerifier
from energy_core.cache import get_cache
from energy_core.db import make_engine
from energy_core.ratelimit import FailedAuthThrottle, RateLimiter
from energy_core.settings import Settings, get_settings
from ingest_api.deps import Api
from ingest_api.errors import install_error_handlers
from ingest_api.headers import SecurityHeaders
from ingest_api.metrics import Metrics, MetricsMiddleware
from ingest_api.routers import (
    aggregates,
    alerts,
    bill,
    chat,
    devices,
    emoncms,
    influx,
    metrics,
    readings,
    realtime,
    service,
    stats,
    summary,
    telemetry_ingest,
)
from ingest_api.singles import SingleReadingWriter


class IngestApp(FastAPI):
    """FastAPI, with ``POST /api/v1/telemetry`` handed to ``single_reading`` first, ahead of
    the middleware stack (see ``telemetry_ingest.SingleReadingRoute``)."""

    single_reading: ASGIApp | None = None
    # The settings its routes and middleware were built from (``shape``).
    shape: tuple = ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.single_reading is not None and telemetry_ingest.SingleReadingRoute.matches(scope):
            scope["app"] = self
            await self.single_reading(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def serve_with(self, settings: Settings) -> None:
        """Serve the next requests with state built anew from ``settings`` (engine, key cache,
        rate limiters): what ``create_app`` does, and how a test reuses an app built for settings
        of the same ``shape`` (building the routes costs about 0.1 s of CPU, most of it on the
        first request). The state it replaces is closed by its own lifespan, or not at all."""
        if shape(settings) != self.shape:
            raise ValueError("these settings need other routes or middleware: call create_app")
        self.state.api = build_api(settings)


def shape(settings: Settings) -> tuple:
    """The settings ``create_app`` builds routes and middleware from; the rest of them reach the
    requests through ``deps.Api``."""
    return (
        settings.api_docs,
        settings.max_batch_readings,
        settings.metrics,
        tuple(settings.trusted_proxy_hosts),
    )


def build_api(settings: Settings) -> Api:
    """What the requests of one app share, built from ``settings``."""
    # The API's own engine, without a ping before every checkout: that ping was one of five
    # round trips of a single-reading request. A pooled connection the server closed while it
    # was idle (a failover, a restart) is still replaced before use (make_engine checks for that
    # without a round trip); one that dies during a request costs that request a 503, which
    # devices retry, and SQLAlchemy then replaces every connection of the pool older than that.
    engine = make_engine(settings.database_url, pool_pre_ping=False)
    cache = get_cache()
    # Writers run in worker threads, but never more at once than the engine keeps connections:
    # beyond that, each request would open and close an overflow connection to PostgreSQL, which
    # costs the server more than the request itself and made 16 concurrent clients slower than 8.
    pool_size = getattr(engine.pool, "size", lambda: 10)()
    return Api(
        settings=settings,
        engine=engine,
        verifier=CachedKeyVerifier(ttl_s=settings.key_cache_ttl_s, cache=cache),
        limiter=RateLimiter(
            limit=settings.rate_limit_requests, window_s=settings.rate_limit_window_s, cache=cache
        ),
        auth_failures=FailedAuthThrottle(
            limit=settings.auth_failure_limit,
            window_s=settings.auth_failure_window_s,
            cache=cache,
        ),
        singles=(
            SingleReadingWriter(settings.database_url, default_gap_s=settings.max_gap_s)
            if engine.dialect.name == "postgresql"
            else None
        ),
        writers=anyio.CapacityLimiter(max(1, pool_size)),
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    api: Api = app.state.api
    if api.singles is not None:
        await api.singles.close()
    api.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    docs = settings.api_docs
    app = IngestApp(
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        title="Home energy monitor — device API",
        version=__version__,
        description="Devices post power readings; analysts and integrations read them back and "
        "ask the household's chat analyst. "
        'Errors always have the shape {"error": {"code", "message", "details"}}. '
        "Authenticate with `Authorization: Bearer <api key>`.",
    )
    app.shape = shape(settings)
    app.serve_with(settings)
    install_error_handlers(app)
    app.include_router(telemetry_ingest.router(settings))
    app.include_router(telemetry_ingest.short_names_router())
    for resource in (
        readings,
        aggregates,
        stats,
        summary,
        bill,
        alerts,
        realtime,
        devices,
        chat,
        service,
        influx,
    ):
        app.include_router(resource.router)
    if settings.metrics:
        app.include_router(metrics.router)
    # Last: its routes under any base path must not shadow the others.
    app.include_router(emoncms.router)
    app.add_middleware(SecurityHeaders)
    # The single-reading route answers with the security headers itself; the metrics and the
    # trusted proxy's headers, when configured, wrap it as they wrap the app.
    single: ASGIApp = telemetry_ingest.SingleReadingRoute(app)
    if settings.metrics:
        # Outside the others: it times the whole answer.
        app.state.metrics = Metrics()
        app.add_middleware(
            MetricsMiddleware, metrics=app.state.metrics, single_path=telemetry_ingest.SINGLE_PATH
        )
        single = MetricsMiddleware(
            single, metrics=app.state.metrics, single_path=telemetry_ingest.SINGLE_PATH
        )
    # Outermost: everything inside sees the client and scheme a trusted proxy forwarded. Only
    # here, not in uvicorn (started with --no-proxy-headers), so that one setting decides.
    if settings.trusted_proxy_hosts:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_hosts)
        single = ProxyHeadersMiddleware(single, trusted_hosts=settings.trusted_proxy_hosts)
    app.single_reading = single
    return app

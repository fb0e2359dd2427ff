"""The ingest API: devices post readings, integrations read them back; energy_core does the work.

Every answer that is not a success has the shape ``{"error": {"code", "message", "details"}}``,
including FastAPI's own validation errors, unknown routes and wrong methods.
"""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Annotated, Any

import anyio
import orjson
from fastapi import Depends, FastAPI, Path, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from energy_core import __version__, telemetry
from energy_core.accounts import CachedKeyVerifier, KeyPrincipal, NotFoundError
from energy_core.cache import get_cache
from energy_core.db import DatabaseUnavailable, make_engine, session_scope
from energy_core.ingest import (
    IngestRejected,
    ReadingColumns,
    decode_json_body,
    parse_readings_columns,
    record_reading_columns,
    single_reading,
    timestamp_us,
)
from energy_core.models import KeyScope
from energy_core.ratelimit import RateDecision, RateLimiter
from energy_core.settings import Settings, get_settings
from energy_core.types import from_epoch_us
from ingest_api import schemas
from ingest_api.singles import SingleReadingWriter

log = logging.getLogger(__name__)

RETRY_AFTER_S = "5"
SINGLE_PATH = "/api/v1/telemetry"
JSON = "application/json"


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or []
        self.headers = headers or {}


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None):  # noqa: ANN201
    return Response(orjson.dumps(content), status_code=status, headers=headers, media_type=JSON)


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return json_response(body, status, headers)


def accepted(new: int, duplicates: int) -> Response:
    """The answer to stored readings: 201 if any was new, 200 if all were already stored."""
    return json_response({"accepted": new, "duplicates": duplicates}, 201 if new else 200)


def unauthorized() -> ApiError:
    # One answer for a missing, malformed, unknown or revoked key: nothing to enumerate.
    return ApiError(
        401,
        "unauthorized",
        "A valid API key is required: send 'Authorization: Bearer <key>'.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _errors(*statuses: int) -> dict[int | str, dict]:
    meaning = {
        400: "The body is not JSON (or not UTF-8, or empty).",
        401: "Missing, malformed, unknown or revoked API key (WWW-Authenticate: Bearer).",
        403: "The key may not do this (wrong scope, or another device than the key's).",
        404: "No such device for this key's user.",
        413: "The body is larger than the configured limit.",
        415: "The body is not sent as application/json.",
        422: "The request breaks a rule; details name each problem (index, field, reason).",
        429: "Too many requests for this key; see Retry-After.",
        503: "The database is unavailable; nothing was stored. See Retry-After.",
    }
    return {s: {"model": schemas.ErrorBody, "description": meaning[s]} for s in statuses}


_READING_SCHEMA = {
    "type": "object",
    "required": ["timestamp"],
    "additionalProperties": False,
    "properties": {
        "device_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128,
            "description": "The device's id; may be omitted with a key for one device.",
        },
        "timestamp": {
            "oneOf": [
                {"type": "string", "description": "ISO 8601 with an offset or Z."},
                {"type": "number", "description": "Epoch seconds (UTC)."},
            ]
        },
        "energy_watts": {"type": "number", "description": "Power in watts (required)."},
        "power_w": {"type": "number", "description": "Alias of energy_watts."},
    },
}


def _request_body(schema: dict, examples: dict[str, dict]) -> dict:
    return {
        "requestBody": {
            "required": True,
            "content": {
                JSON: {
                    "schema": schema,
                    "examples": {name: {"value": value} for name, value in examples.items()},
                }
            },
        }
    }


TimeParam = Annotated[
    str | None,
    Query(
        description="ISO 8601 with an offset or Z, or epoch seconds.",
        examples=["2026-05-01T00:00:00Z"],
    ),
]
DeviceParam = Annotated[
    str | None, Query(description="Only this device.", examples=["fridge"], max_length=128)
]
CursorParam = Annotated[
    str | None, Query(description="next_cursor of the previous page.", max_length=512)
]
LimitParam = Annotated[int, Query(ge=1, le=telemetry.MAX_PAGE, description="Items per page.")]


def _query_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed: object = float(value) if value.strip()[:1].isdigit() else value
    except ValueError:
        parsed = value
    if isinstance(parsed, float) and parsed.is_integer():
        parsed = int(parsed)
    us = timestamp_us(parsed)
    if isinstance(us, str):
        raise ApiError(
            422,
            "validation_error",
            f"The {name} parameter is invalid.",
            [{"index": None, "field": name, "message": us}],
        )
    return from_epoch_us(us)


def _range(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    start_at, end_at = _query_time(start, "start"), _query_time(end, "end")
    if start_at is not None and end_at is not None and end_at <= start_at:
        raise ApiError(
            422,
            "validation_error",
            "end must be after start.",
            [{"index": None, "field": "end", "message": "must be after start"}],
        )
    return start_at, end_at


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # The API's own engine, without a ping before every checkout: that ping was one of five
    # round trips of a single-reading request. A connection that died (database restarted,
    # connection killed) now costs the request that meets it a 503, which devices retry, and
    # SQLAlchemy then replaces every connection of the pool that is older than the failure.
    engine = make_engine(settings.database_url, pool_pre_ping=False)
    cache = get_cache()
    verifier = CachedKeyVerifier(ttl_s=settings.key_cache_ttl_s, cache=cache)
    limiter = RateLimiter(
        limit=settings.rate_limit_requests, window_s=settings.rate_limit_window_s, cache=cache
    )
    bearer = HTTPBearer(
        auto_error=False,
        description="An API key: scope `ingest` to write readings, `read` to read them.",
    )

    singles = (
        SingleReadingWriter(settings.database_url, default_gap_s=settings.max_gap_s)
        if engine.dialect.name == "postgresql"
        else None
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if singles is not None:
            await singles.close()
        engine.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="Home energy monitor — device API",
        version=__version__,
        description="Devices post power readings; analysts and integrations read them back. "
        'Errors always have the shape {"error": {"code", "message", "details"}}. '
        "Authenticate with `Authorization: Bearer <api key>`.",
    )
    app.state.key_verifier = verifier
    app.state.single_writer = singles
    app.state.rate_limiter = limiter
    # Writers run in worker threads, but never more at once than the engine keeps connections:
    # beyond that, each request would open and close an overflow connection to PostgreSQL, which
    # costs the server more than the request itself and made 16 concurrent clients slower than 8.
    pool_size = getattr(engine.pool, "size", lambda: 10)()
    writers = anyio.CapacityLimiter(max(1, pool_size))

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(IngestRejected)
    async def _rejected(_request: Request, exc: IngestRejected) -> Response:
        return error_response(exc.status, exc.code, str(exc), [p.as_dict() for p in exc.problems])

    @app.exception_handler(NotFoundError)
    async def _not_found(_request: Request, exc: NotFoundError) -> Response:
        return error_response(404, "not_found", str(exc))

    @app.exception_handler(telemetry.InvalidCursor)
    async def _bad_cursor(_request: Request, exc: telemetry.InvalidCursor) -> Response:
        return error_response(
            422,
            "validation_error",
            str(exc),
            [{"index": None, "field": "cursor", "message": "start again without a cursor"}],
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        details = [
            {
                "index": None,
                "field": ".".join(str(p) for p in e.get("loc", ())[1:]) or "request",
                "message": e.get("msg", ""),
            }
            for e in exc.errors()[:100]
        ]
        return error_response(422, "validation_error", "The request is invalid.", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return error_response(
            exc.status_code,
            codes.get(exc.status_code, "http_error"),
            str(exc.detail),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(DatabaseUnavailable)
    async def _database_down(_request: Request, exc: Exception) -> Response:
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        log.warning(
            "database unavailable (%s): %s", exc.__class__.__name__, cause[0] if cause else ""
        )
        return error_response(
            503,
            "database_unavailable",
            "The database is unavailable; retry later. Resending is safe: readings that were "
            "stored after all count as duplicates.",
            headers={"Retry-After": RETRY_AFTER_S},
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        return error_response(500, "internal_error", "Something went wrong on our side.")

    def check_key(
        principal: KeyPrincipal | None, scope: KeyScope, decision: RateDecision | None = None
    ) -> KeyPrincipal:
        """``principal`` if it may go ahead: a valid key of ``scope``, within its rate limit
        (``decision``, counted here unless the caller counted already)."""
        if principal is None:
            raise unauthorized()
        decision = decision or limiter.hit(key_id=principal.key_id)
        if not decision.allowed:
            raise ApiError(
                429,
                "rate_limited",
                f"This key made more than {decision.limit} requests in "
                f"{settings.rate_limit_window_s:g} s; retry in {decision.retry_after_s} s.",
                headers={"Retry-After": str(decision.retry_after_s)},
            )
        if principal.scope is not scope:
            raise ApiError(
                403,
                "wrong_scope",
                f"This key has scope {principal.scope.value!r}; this needs a {scope.value!r} key.",
            )
        return principal

    def bearer_key(credentials: HTTPAuthorizationCredentials | None) -> str:
        return credentials.credentials.strip() if credentials is not None else ""

    def authorize(
        credentials: HTTPAuthorizationCredentials | None, scope: KeyScope
    ) -> KeyPrincipal:
        """The principal of the request's key, counted against its rate limit. Blocking."""
        key = bearer_key(credentials)
        principal = verifier.verify(lambda: session_scope(engine), key) if key else None
        return check_key(principal, scope)

    Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]

    def reader(credentials: Credentials) -> KeyPrincipal:
        return authorize(credentials, KeyScope.read)

    Reader = Annotated[KeyPrincipal, Depends(reader)]

    def too_large() -> ApiError:
        return ApiError(
            413,
            "payload_too_large",
            f"The body is larger than {settings.max_body_bytes} bytes; send smaller batches.",
        )

    async def read_body(request: Request) -> bytes:
        """The raw body, refused before it is parsed when it is no JSON or too large."""
        media_type, _, params = request.headers.get("content-type", "").partition(";")
        charset = params.strip().lower().removeprefix("charset=").strip('"')
        if media_type.strip().lower() != JSON or charset not in ("", "utf-8"):
            raise ApiError(
                415, "unsupported_media_type", "Send the body as application/json (UTF-8)."
            )
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > settings.max_body_bytes:
            raise too_large()
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > settings.max_body_bytes:
                raise too_large()  # chunked or lying about its length
        if not body.strip():
            raise ApiError(400, "empty_body", "The request body is empty; send JSON.")
        return bytes(body)

    def admit(
        credentials: HTTPAuthorizationCredentials | None, body: bytes, *, batch: bool
    ) -> tuple[KeyPrincipal, ReadingColumns]:
        """The request's ingest key and readings, or the error that refuses them. Blocking."""
        return authorize(credentials, KeyScope.ingest), readings_of(body, batch=batch)

    def readings_of(body: bytes, *, batch: bool) -> ReadingColumns:
        return parse_readings_columns(
            decode_json_body(body), batch=batch, max_readings=settings.max_batch_readings
        )

    async def admit_one(
        credentials: HTTPAuthorizationCredentials | None, body: bytes
    ) -> tuple[KeyPrincipal, ReadingColumns]:
        """``admit`` for one reading, on the event loop while the key is in the cache (memory,
        or Redis asked without blocking); a worker thread asks the database otherwise."""
        key = bearer_key(credentials)
        if not key:
            raise unauthorized()
        principal = await verifier.acached(key)
        if principal is None:
            return await anyio.to_thread.run_sync(
                partial(admit, credentials, body, batch=False), limiter=writers
            )
        decision = await limiter.ahit(key_id=principal.key_id)
        return check_key(principal, KeyScope.ingest, decision), readings_of(body, batch=False)

    def store(principal: KeyPrincipal, columns: ReadingColumns, *, batch: bool) -> Response:
        """Store admitted readings in one transaction and say so; or refuse them all. Blocking."""
        try:
            with session_scope(engine) as session:
                result = record_reading_columns(
                    session,
                    user_id=principal.user_id,
                    columns=columns,
                    device_pk_scope=principal.device_pk,
                    settings=settings,
                )
        except IngestRejected as exc:
            if not batch:  # one reading has no position to report
                exc.problems = [replace(p, index=None) for p in exc.problems]
            raise
        # Only here, after the commit, does the device hear that its readings are safe.
        return accepted(result.accepted, result.duplicates)

    def ingest(credentials: HTTPAuthorizationCredentials | None, body: bytes, *, batch: bool):  # noqa: ANN202
        principal, columns = admit(credentials, body, batch=batch)
        return store(principal, columns, batch=batch)

    async def ingest_one(credentials: HTTPAuthorizationCredentials | None, body: bytes):  # noqa: ANN202
        """One reading: through the shared writer when the database is PostgreSQL and the reading
        needs no explaining, through ``ingest`` otherwise."""
        if singles is None:
            return await anyio.to_thread.run_sync(
                partial(ingest, credentials, body, batch=False), limiter=writers
            )
        principal, columns = await admit_one(credentials, body)
        reading = single_reading(
            columns,
            user_id=principal.user_id,
            device_pk_scope=principal.device_pk,
            settings=settings,
        )
        if reading is not None:
            outcome = await singles.write(reading)
            if outcome.stored:
                return accepted(int(outcome.inserted), int(not outcome.inserted))
        return await anyio.to_thread.run_sync(
            partial(store, principal, columns, batch=False), limiter=writers
        )

    write_responses: dict[int | str, dict] = {
        201: {"model": schemas.IngestAccepted, "description": "Stored (some readings were new)."},
        200: {
            "model": schemas.IngestAccepted,
            "description": "Nothing new: every reading was already stored.",
        },
        **_errors(400, 401, 403, 404, 413, 415, 422, 429, 503),
    }

    @app.post(
        SINGLE_PATH,
        summary="Record one reading",
        description="One reading. Re-sending it is safe: it is stored once and counted as a "
        "duplicate. A 2xx means committed.",
        tags=["ingest"],
        status_code=201,
        response_model=None,
        responses=write_responses,
        openapi_extra=_request_body(
            _READING_SCHEMA,
            {
                "iso": schemas.READING_EXAMPLE,
                "epoch_and_alias": {"device_id": "fridge", "timestamp": 1777636800, "power_w": 3},
                "device_key": {"timestamp": "2026-05-01T12:00:00+02:00", "energy_watts": 96.0},
            },
        ),
    )
    async def post_reading(request: Request, credentials: Credentials) -> Response:
        # Served by SingleReadingRoute below, which takes this path before FastAPI's routing;
        # declared here for the OpenAPI document, and the same handler if it is ever reached.
        return await ingest_one(credentials, await read_body(request))

    @app.post(
        "/api/v1/telemetry/batch",
        summary="Record a batch of readings (all or nothing)",
        description=f"Up to {settings.max_batch_readings} readings. If any reading is invalid "
        "the whole batch is rejected, with the index, field and reason of each problem.",
        tags=["ingest"],
        status_code=201,
        response_model=None,
        responses=write_responses,
        openapi_extra=_request_body(
            {
                "type": "object",
                "required": ["readings"],
                "additionalProperties": False,
                "properties": {
                    "readings": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": settings.max_batch_readings,
                        "items": _READING_SCHEMA,
                    }
                },
            },
            {"batch": schemas.BATCH_EXAMPLE},
        ),
    )
    async def post_batch(request: Request, credentials: Credentials) -> Response:
        body = await read_body(request)
        return await anyio.to_thread.run_sync(
            partial(ingest, credentials, body, batch=True), limiter=writers
        )

    read_errors = _errors(401, 403, 404, 422, 429, 503)

    def read_session(work: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            with session_scope(engine, read_only=True) as session:
                return work(session, settings=settings, **kwargs)
        except telemetry.InvalidRange as exc:  # e.g. a start in the future and no end
            raise ApiError(
                422,
                "validation_error",
                str(exc),
                [{"index": None, "field": "start", "message": str(exc)}],
            ) from exc

    @app.get(
        "/api/v1/telemetry",
        summary="List readings",
        description="Readings of the key's user in [start, end), device by device and in time "
        "order; follow next_cursor for the next page.",
        tags=["read"],
        response_model=schemas.ReadingsPage,
        responses=read_errors,
    )
    def get_readings(
        principal: Reader,
        device_id: DeviceParam = None,
        start: TimeParam = None,
        end: TimeParam = None,
        cursor: CursorParam = None,
        limit: LimitParam = 1000,
    ) -> schemas.ReadingsPage:
        start_at, end_at = _range(start, end)
        page = read_session(
            telemetry.list_readings,
            user_id=principal.user_id,
            device_id=device_id,
            start=start_at,
            end=end_at,
            cursor=cursor,
            limit=limit,
        )
        return schemas.ReadingsPage(
            items=[
                schemas.ReadingItem(device_id=r.device_id, timestamp=r.ts, energy_watts=r.power_w)
                for r in page.items
            ],
            next_cursor=page.next_cursor,
        )

    @app.get(
        "/api/v1/telemetry/aggregates/hourly",
        summary="Hourly statistics",
        description="Per device and UTC hour: energy, average, min and max power, sample count "
        "and coverage (DESIGN.md section 3) over the hours [start, end) touches; default the "
        "last 24 hours. Hours without data are left out.",
        tags=["read"],
        response_model=schemas.HourlyPage,
        responses=read_errors,
    )
    def get_hourly(
        principal: Reader,
        device_id: DeviceParam = None,
        start: TimeParam = None,
        end: TimeParam = None,
        cursor: CursorParam = None,
        limit: LimitParam = 1000,
    ) -> schemas.HourlyPage:
        start_at, end_at = _range(start, end)
        page = read_session(
            telemetry.hourly_stats,
            user_id=principal.user_id,
            device_id=device_id,
            start=start_at,
            end=end_at,
            cursor=cursor,
            limit=limit,
        )
        return schemas.HourlyPage(
            items=[schemas.HourlyItem(**vars(item)) for item in page.items],
            next_cursor=page.next_cursor,
        )

    @app.get(
        "/api/v1/telemetry/stats/{device_id}",
        summary="Statistics of one device",
        description="Energy, power and coverage of one device over [start, end) (default the "
        "last 24 hours), with its latest reading.",
        tags=["read"],
        response_model=schemas.DeviceStatsOut,
        responses=read_errors,
    )
    def get_stats(
        principal: Reader,
        device_id: Annotated[str, Path(max_length=128, examples=["fridge"])],
        start: TimeParam = None,
        end: TimeParam = None,
    ) -> schemas.DeviceStatsOut:
        start_at, end_at = _range(start, end)
        stats = read_session(
            telemetry.device_stats,
            user_id=principal.user_id,
            device_id=device_id,
            start=start_at,
            end=end_at,
        )
        return schemas.DeviceStatsOut(**vars(stats))

    @app.get(
        "/api/v1/telemetry/summary",
        summary="Household summary",
        description="Net energy, cost and each device's share over [start, end) (default the "
        "last 24 hours).",
        tags=["read"],
        response_model=schemas.SummaryOut,
        responses=read_errors,
    )
    def get_summary(
        principal: Reader, start: TimeParam = None, end: TimeParam = None
    ) -> schemas.SummaryOut:
        start_at, end_at = _range(start, end)
        summary = read_session(
            telemetry.household_summary, user_id=principal.user_id, start=start_at, end=end_at
        )
        return schemas.SummaryOut(
            **{**vars(summary), "devices": [vars(d) for d in summary.devices]}
        )

    @app.get(
        "/api/v1/telemetry/realtime",
        summary="Current power of every device",
        tags=["read"],
        response_model=schemas.RealtimeOut,
        responses=read_errors,
    )
    def get_realtime(principal: Reader) -> schemas.RealtimeOut:
        now = read_session(telemetry.realtime, user_id=principal.user_id)
        return schemas.RealtimeOut(**{**vars(now), "devices": [vars(d) for d in now.devices]})

    @app.get(
        "/api/v1/telemetry/devices",
        summary="The key's user's devices",
        tags=["read"],
        response_model=schemas.DevicesOut,
        responses=read_errors,
    )
    def get_devices(principal: Reader) -> schemas.DevicesOut:
        with session_scope(engine, read_only=True) as session:
            devices = telemetry.user_devices(session, user_id=principal.user_id)
            items = [schemas.DeviceOut.model_validate(d, from_attributes=True) for d in devices]
        return schemas.DevicesOut(items=items)

    @app.get("/health", summary="Liveness: the process answers", tags=["service"])
    def health() -> dict:
        return {"status": "ok", "version": __version__}

    @app.get(
        "/ready",
        summary="Readiness: the database answers",
        tags=["service"],
        responses=_errors(503),
    )
    def ready() -> Response:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except DBAPIError:
            return error_response(
                503,
                "database_unavailable",
                "The database does not answer.",
                headers={"Retry-After": RETRY_AFTER_S},
            )
        return json_response({"status": "ready"})

    async def single_reading_route(request: Request) -> Response:
        return await ingest_one(await bearer(request), await read_body(request))

    app.add_middleware(SingleReadingRoute, handler=single_reading_route)
    return app


class SingleReadingRoute:
    """``POST /api/v1/telemetry`` straight to its handler, past FastAPI's routing and dependency
    resolution: the busiest endpoint, where they cost about as much CPU as the rest of the request.
    Errors get the app's own exception handlers, so answers are the same as through FastAPI."""

    def __init__(self, app: ASGIApp, handler: Callable[[Request], Awaitable[Response]]):
        self.app = app
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, root = scope.get("path", ""), scope.get("root_path", "")
        if root and path.startswith(root):  # behind a prefix (uvicorn --root-path, a mount)
            path = path[len(root) :]
        if not (scope["type"] == "http" and scope["method"] == "POST" and path == SINGLE_PATH):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self.handler(request)
        except Exception as exc:
            response = await self._handled(request, exc)
        await response(scope, receive, send)

    @staticmethod
    async def _handled(request: Request, exc: Exception) -> Response:
        handlers = request.app.exception_handlers
        handler = next(handlers[kind] for kind in type(exc).__mro__ if kind in handlers)
        return await handler(request, exc)

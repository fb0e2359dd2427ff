"""The ingest API: devices post readings over HTTP; everything else happens in energy_core."""

import logging
from typing import Annotated

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from energy_core import __version__
from energy_core.accounts import CachedKeyVerifier, KeyPrincipal
from energy_core.cache import get_cache
from energy_core.db import get_engine, session_scope
from energy_core.ingest import IngestRejected, parse_readings_payload, record_readings
from energy_core.models import KeyScope
from energy_core.settings import get_settings

log = logging.getLogger(__name__)

RETRY_AFTER_S = "5"


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


def error_response(
    status: int, code: str, message: str, details=None, headers=None
) -> JSONResponse:  # noqa: ANN001
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details or []}},
        status_code=status,
        headers=headers,
    )


def unauthorized() -> ApiError:
    # One answer for a missing, malformed, unknown or revoked key: nothing to enumerate.
    return ApiError(
        401,
        "unauthorized",
        "A valid API key is required: send 'Authorization: Bearer <key>'.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def create_app() -> FastAPI:
    settings = get_settings()
    verifier = CachedKeyVerifier(ttl_s=settings.key_cache_ttl_s, cache=get_cache())
    app = FastAPI(
        title="Home energy monitor — ingest API",
        version=__version__,
        description="Devices post power readings; analysts read them back. Errors always have the "
        'shape {"error": {"code", "message", "details"}}.',
    )
    app.state.key_verifier = verifier

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(IngestRejected)
    async def _rejected(_request: Request, exc: IngestRejected) -> JSONResponse:
        return error_response(exc.status, exc.code, str(exc), [p.as_dict() for p in exc.problems])

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()[:100]
        ]
        return error_response(422, "validation_error", "The request is invalid.", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return error_response(
            exc.status_code,
            codes.get(exc.status_code, "http_error"),
            str(exc.detail),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def _database_down(_request: Request, exc: DBAPIError) -> JSONResponse:
        log.warning("database unavailable: %s", exc.__class__.__name__)
        return error_response(
            503,
            "database_unavailable",
            "The database is unavailable; nothing was stored. Retry later.",
            headers={"Retry-After": RETRY_AFTER_S},
        )

    def principal(request: Request) -> KeyPrincipal:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise unauthorized()
        found = verifier.verify(session_scope, key.strip())
        if found is None:
            raise unauthorized()
        return found

    Principal = Annotated[KeyPrincipal, Depends(principal)]

    async def json_body(request: Request) -> object:
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > settings.max_body_bytes:
            raise _too_large()
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > settings.max_body_bytes:
                raise _too_large()
        if not body:
            raise ApiError(400, "empty_body", "The request body is empty; send JSON.")
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "invalid_json", f"The body is not valid JSON: {exc}.") from exc

    def _too_large() -> ApiError:
        return ApiError(
            413,
            "payload_too_large",
            f"The body is larger than {settings.max_body_bytes} bytes; send smaller batches.",
        )

    def ingest(found: KeyPrincipal, payload: object, *, batch: bool) -> JSONResponse:
        if found.scope is not KeyScope.ingest:
            raise ApiError(403, "wrong_scope", "This key cannot write readings: use an ingest key.")
        readings = parse_readings_payload(
            payload, batch=batch, max_readings=settings.max_batch_readings
        )
        with session_scope() as session:
            result = record_readings(
                session,
                user_id=found.user_id,
                readings=readings,
                device_pk_scope=found.device_pk,
                settings=settings,
            )
        status = 201 if result.accepted else 200
        return JSONResponse(
            {"accepted": result.accepted, "duplicates": result.duplicates}, status_code=status
        )

    @app.post(
        "/api/v1/telemetry",
        summary="Record one reading",
        responses={201: {"description": "Stored"}, 200: {"description": "Already stored"}},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "example": {
                            "device_id": "fridge",
                            "timestamp": "2026-05-01T12:00:00Z",
                            "energy_watts": 112.5,
                        }
                    }
                },
            }
        },
    )
    async def post_reading(request: Request, found: Principal) -> JSONResponse:
        payload = await json_body(request)
        return await _in_thread(ingest, found, payload, batch=False)

    @app.post(
        "/api/v1/telemetry/batch",
        summary="Record a batch of readings (all or nothing)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "example": {
                            "readings": [
                                {
                                    "device_id": "fridge",
                                    "timestamp": "2026-05-01T12:00:00Z",
                                    "energy_watts": 112.5,
                                },
                                {
                                    "device_id": "fridge",
                                    "timestamp": 1777636860,
                                    "energy_watts": 0.8,
                                },
                            ]
                        }
                    }
                },
            }
        },
    )
    async def post_batch(request: Request, found: Principal) -> JSONResponse:
        payload = await json_body(request)
        return await _in_thread(ingest, found, payload, batch=True)

    @app.get("/health", summary="Liveness: the process answers")
    def health() -> dict:
        return {"status": "ok", "version": __version__}

    @app.get("/ready", summary="Readiness: the database answers")
    def ready() -> Response:
        try:
            with get_engine().connect() as conn:
                conn.execute(text("SELECT 1"))
        except DBAPIError:
            return error_response(
                503,
                "database_unavailable",
                "The database does not answer.",
                headers={"Retry-After": RETRY_AFTER_S},
            )
        return JSONResponse({"status": "ready"})

    return app


async def _in_thread(func, *args, **kwargs):  # noqa: ANN001, ANN202
    # Database work is blocking; keep it off the event loop.
    return await run_in_threadpool(func, *args, **kwargs)

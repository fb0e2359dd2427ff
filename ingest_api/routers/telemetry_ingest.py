"""Devices post readings: ``POST /api/v1/telemetry`` (one) and ``/api/v1/telemetry/batch``.

The single-reading route is the busiest of the API: ``SingleReadingRoute`` serves it before
FastAPI's routing; the route declared here documents it (and serves it if it is ever reached).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import anyio
import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from energy_core.accounts import KeyPrincipal
from energy_core.db import run_transaction, session_scope
from energy_core.errors import ErrorKind
from energy_core.ingest import (
    IngestRejected,
    IngestResult,
    ReadingColumns,
    decode_json_body,
    from_short_names,
    parse_readings_columns,
    record_reading_columns,
    single_reading,
)
from energy_core.models import KeyScope
from energy_core.settings import Settings
from ingest_api import schemas
from ingest_api.deps import (
    AnyCredentials,
    Api,
    ApiDep,
    BearerCredentials,
    Credentials,
    authorize,
    bearer_key,
    check_key,
    client_address,
)
from ingest_api.errors import JSON, ApiError, documented, json_response, unauthorized
from ingest_api.headers import SecurityHeaders, raw_security_headers, request_path
from ingest_api.metrics import note_accepted

SINGLE_PATH = "/api/v1/telemetry"

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


_SHORT_READING_SCHEMA = {
    "type": "object",
    "description": "A reading with the short names templates use; the telemetry names work too.",
    "properties": {
        "device": {"type": "string", "description": "Alias of device_id."},
        "watts": {"type": "number", "description": "Alias of energy_watts."},
        "ts": {"description": "Alias of timestamp: ISO 8601 with an offset or Z, or epoch s."},
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


def accepted(new: int, duplicates: int) -> Response:
    """The answer to stored readings: 201 if any was new, 200 if all were already stored."""
    note_accepted(new, duplicates)
    return json_response({"accepted": new, "duplicates": duplicates}, 201 if new else 200)


def _too_large(settings: Settings) -> ApiError:
    return ApiError(
        ErrorKind.too_large,
        "payload_too_large",
        f"The body is larger than {settings.max_body_bytes} bytes; send smaller batches.",
    )


def check_media_type(content_type: str) -> None:
    """Refuse a body that is not JSON in UTF-8, from its Content-Type (``""`` when none)."""
    media_type, _, params = content_type.partition(";")
    charset = params.strip().lower().removeprefix("charset=").strip('"')
    if media_type.strip().lower() != JSON or charset not in ("", "utf-8"):
        raise ApiError(
            ErrorKind.unsupported_media_type,
            "unsupported_media_type",
            "Send the body as application/json (UTF-8).",
        )


def check_not_empty(body: bytes) -> bytes:
    if not body.strip():
        raise ApiError(ErrorKind.malformed, "empty_body", "The request body is empty; send JSON.")
    return body


async def read_body(api: Api, request: Request) -> bytes:
    """The raw body, refused before it is parsed when it is no JSON or too large."""
    check_media_type(request.headers.get("content-type", ""))
    return check_not_empty(await read_raw_body(api, request))


async def read_raw_body(api: Api, request: Request) -> bytes:
    """The body as sent (possibly empty), refused once it is larger than the limit."""
    return await receive_body(api, request.receive, request.headers.get("content-length"))


async def receive_body(api: Api, receive: Receive, declared: str | None) -> bytes:
    """The body of a request from its ASGI ``receive``, refused once it is larger than the limit
    (at once when its declared Content-Length says so)."""
    limit = api.settings.max_body_bytes
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(api.settings)
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        body += message.get("body", b"")
        if len(body) > limit:
            raise _too_large(api.settings)  # chunked or lying about its length
        if not message.get("more_body", False):
            return body


def _readings_of(api: Api, body: bytes, *, batch: bool) -> ReadingColumns:
    return parse_readings_columns(
        decode_json_body(body), batch=batch, max_readings=api.settings.max_batch_readings
    )


def _admit(
    api: Api,
    credentials: AnyCredentials,
    body: bytes,
    *,
    batch: bool,
    client: str,
) -> tuple[KeyPrincipal, ReadingColumns]:
    """The request's ingest key and readings, or the error that refuses them. Blocking."""
    principal = authorize(api, credentials, KeyScope.ingest, client)
    return principal, _readings_of(api, body, batch=batch)


async def _admit_one(
    api: Api, credentials: AnyCredentials, body: bytes, client: str
) -> tuple[KeyPrincipal, ReadingColumns]:
    """``_admit`` for one reading, on the event loop while the key is in the cache (memory,
    or Redis asked without blocking); a worker thread asks the database otherwise."""
    key = bearer_key(credentials)
    if not key:
        raise unauthorized()
    principal = await api.verifier.acached(key)
    if principal is None:
        return await anyio.to_thread.run_sync(
            partial(_admit, api, credentials, body, batch=False, client=client),
            limiter=api.writers,
        )
    decision = await api.limiter.ahit(key_id=principal.key_id)
    return (
        check_key(api, principal, KeyScope.ingest, decision),
        _readings_of(api, body, batch=False),
    )


def _store(
    api: Api, principal: KeyPrincipal, columns: ReadingColumns, *, batch: bool
) -> tuple[int, int]:
    """Store admitted readings in one transaction: (new, duplicates); or refuse them all.
    Blocking."""

    def write() -> IngestResult:
        with session_scope(api.engine, household=principal.user_id) as session:
            return record_reading_columns(
                session,
                user_id=principal.user_id,
                columns=columns,
                device_pk_scope=principal.device_pk,
                settings=api.settings,
            )

    try:
        # A batch that overlaps another writer's may be rolled back to break a deadlock: it wrote
        # nothing, so it runs again rather than answering the device with an error.
        result = run_transaction(write)
    except IngestRejected as exc:
        if not batch:  # one reading has no position to report
            exc.problems = [replace(p, index=None) for p in exc.problems]
        raise
    # Only after the commit does the device hear that its readings are safe.
    return result.accepted, result.duplicates


def _ingest(
    api: Api,
    credentials: AnyCredentials,
    body: bytes,
    *,
    batch: bool,
    client: str,
) -> tuple[int, int]:
    principal, columns = _admit(api, credentials, body, batch=batch, client=client)
    return _store(api, principal, columns, batch=batch)


async def ingest_one(api: Api, credentials: AnyCredentials, body: bytes, client: str) -> Response:
    return accepted(*await store_one(api, credentials, body, client))


async def store_one(
    api: Api, credentials: AnyCredentials, body: bytes, client: str
) -> tuple[int, int]:
    """One reading, (new, duplicates) once committed: through the shared writer when the
    database is PostgreSQL and the reading needs no explaining, through ``_ingest`` otherwise."""
    if api.singles is None:
        return await anyio.to_thread.run_sync(
            partial(_ingest, api, credentials, body, batch=False, client=client),
            limiter=api.writers,
        )
    principal, columns = await _admit_one(api, credentials, body, client)
    reading = single_reading(
        columns,
        user_id=principal.user_id,
        device_pk_scope=principal.device_pk,
        settings=api.settings,
    )
    if reading is not None:
        outcome = await api.singles.write(reading)
        if outcome.stored:
            return int(outcome.inserted), int(not outcome.inserted)
    return await anyio.to_thread.run_sync(
        partial(_store, api, principal, columns, batch=False), limiter=api.writers
    )


def bearer_credentials(request: Request) -> BearerCredentials | None:
    """What ``bearer`` answers for ``request``, without a model (validating one took a third of
    what the single-reading route spent on itself)."""
    return parse_bearer(request.headers.get("authorization"))


def parse_bearer(authorization: str | None) -> BearerCredentials | None:
    """The scheme and key of an Authorization header, as ``bearer`` reads it."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.partition(" ")
    credentials = credentials.strip()
    if not (scheme and credentials) or scheme.lower() != "bearer":
        return None
    return BearerCredentials(scheme, credentials)


def router(settings: Settings) -> APIRouter:
    """The ingest routes; their documentation states this app's batch limit."""
    routes = APIRouter(prefix="/api/v1/telemetry", tags=["ingest"])
    responses: dict[int | str, dict] = {
        201: {"model": schemas.IngestAccepted, "description": "Stored (some readings were new)."},
        200: {
            "model": schemas.IngestAccepted,
            "description": "Nothing new: every reading was already stored.",
        },
        **documented(400, 401, 403, 404, 413, 415, 422, 429, 503),
    }

    @routes.post(
        "",
        summary="Record one reading",
        description="One reading. Re-sending it is safe: it is stored once and counted as a "
        "duplicate. A 2xx means committed.",
        status_code=201,
        response_model=None,
        responses=responses,
        openapi_extra=_request_body(
            _READING_SCHEMA,
            {
                "iso": schemas.READING_EXAMPLE,
                "epoch_and_alias": {"device_id": "fridge", "timestamp": 1777636800, "power_w": 3},
                "device_key": {"timestamp": "2026-05-01T12:00:00+02:00", "energy_watts": 96.0},
            },
        ),
    )
    async def post_reading(request: Request, api: ApiDep, credentials: Credentials) -> Response:
        body = await read_body(api, request)
        return await ingest_one(api, credentials, body, client_address(request))

    @routes.post(
        "/batch",
        summary="Record a batch of readings (all or nothing)",
        description=f"Up to {settings.max_batch_readings} readings. If any reading is invalid "
        "the whole batch is rejected, with the index, field and reason of each problem.",
        status_code=201,
        response_model=None,
        responses=responses,
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
    async def post_batch(request: Request, api: ApiDep, credentials: Credentials) -> Response:
        body = await read_body(api, request)
        client = client_address(request)
        return accepted(
            *await anyio.to_thread.run_sync(
                partial(_ingest, api, credentials, body, batch=True, client=client),
                limiter=api.writers,
            )
        )

    return routes


def short_names_router() -> APIRouter:
    """``POST /api/v1/readings``: the telemetry routes for hand-written templates."""
    routes = APIRouter(prefix="/api/v1/readings", tags=["ingest"])

    @routes.post(
        "",
        summary="Record readings written with short names (templates)",
        description="For hand-written templates such as Home Assistant's rest_command: one "
        'reading `{"device": "plug", "watts": 96.5, "ts": "2026-05-01T12:00:00Z"}` (the '
        "telemetry names device_id, energy_watts and timestamp work too), or a JSON list of "
        "them, stored all or nothing as a batch. Same keys, validation and answers as "
        "/api/v1/telemetry.",
        status_code=201,
        response_model=None,
        responses={
            201: {"model": schemas.IngestAccepted, "description": "Stored."},
            200: {"model": schemas.IngestAccepted, "description": "Already stored."},
            **documented(400, 401, 403, 404, 413, 415, 422, 429, 503),
        },
        openapi_extra=_request_body(
            _SHORT_READING_SCHEMA,
            {"one": {"device": "plug", "watts": 96.5, "ts": "2026-05-01T12:00:00Z"}},
        ),
    )
    async def post_short_readings(
        request: Request, api: ApiDep, credentials: Credentials
    ) -> Response:
        payload = from_short_names(decode_json_body(await read_body(api, request)))
        body = orjson.dumps(payload)
        client = client_address(request)
        if isinstance(payload, dict) and isinstance(payload.get("readings"), list):
            return accepted(
                *await anyio.to_thread.run_sync(
                    partial(_ingest, api, credentials, body, batch=True, client=client),
                    limiter=api.writers,
                )
            )
        return await ingest_one(api, credentials, body, client)

    return routes


class SingleReadingRoute:
    """``POST /api/v1/telemetry``, the busiest endpoint, served as a bare ASGI app: the app
    (``app.IngestApp``) hands it these requests ahead of FastAPI's middleware, routing and
    dependency resolution, which cost about as much CPU as the rest of the request. It reads the
    headers it needs from the ASGI scope, the body from ``receive``, and sends its answer with the
    security headers every answer carries. Errors get the app's own exception handlers, so
    answers are the same as through FastAPI."""

    def __init__(self, app: FastAPI):
        self.app = app

    @staticmethod
    def matches(scope: Scope) -> bool:
        return (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and request_path(scope) == SINGLE_PATH
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        api: Api = self.app.state.api
        authorization = content_type = length = None
        for name, value in scope["headers"]:  # the first of each, as Starlette's Headers.get
            if name == b"authorization" and authorization is None:
                authorization = value.decode("latin-1")
            elif name == b"content-type" and content_type is None:
                content_type = value.decode("latin-1")
            elif name == b"content-length" and length is None:
                length = value.decode("latin-1")
        client = scope.get("client")
        try:
            check_media_type(content_type or "")
            body = check_not_empty(await receive_body(api, receive, length))
            counts = await store_one(
                api, parse_bearer(authorization), body, client[0] if client else "unknown"
            )
        except Exception as exc:
            request = Request(scope, receive)
            response = await self._handled(request, exc)
            await SecurityHeaders(response)(scope, receive, send)
            return
        note_accepted(*counts)
        answer = orjson.dumps({"accepted": counts[0], "duplicates": counts[1]})
        await send(
            {
                "type": "http.response.start",
                "status": 201 if counts[0] else 200,
                "headers": [
                    (b"content-length", b"%d" % len(answer)),
                    (b"content-type", b"application/json"),
                    *raw_security_headers(SINGLE_PATH, https=scope.get("scheme") == "https"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    async def _handled(self, request: Request, exc: Exception) -> Response:
        handlers = self.app.exception_handlers
        handler = next(handlers[kind] for kind in type(exc).__mro__ if kind in handlers)
        return await handler(request, exc)

"""The API's one error shape, ``{"error": {"code", "message", "details"}}``, and the one table
from the core's error kinds to HTTP statuses. Every error answer goes through here, FastAPI's own
validation errors, unknown routes and wrong methods included."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from energy_core.db import DatabaseUnavailable
from energy_core.errors import CoreError, ErrorKind
from ingest_api import schemas
from ingest_api.metrics import note_error

log = logging.getLogger(__name__)

JSON = "application/json"
RETRY_AFTER_S = "5"

STATUS: dict[ErrorKind, int] = {
    ErrorKind.malformed: 400,
    ErrorKind.unauthorized: 401,
    ErrorKind.forbidden: 403,
    ErrorKind.not_found: 404,
    ErrorKind.conflict: 409,
    ErrorKind.too_large: 413,
    ErrorKind.unsupported_media_type: 415,
    ErrorKind.invalid: 422,
    ErrorKind.rate_limited: 429,
    ErrorKind.unavailable: 503,
}

# What each status means on this API, for the OpenAPI document.
_MEANING = {
    400: "The body is not JSON (or not UTF-8, or empty).",
    401: "Missing, malformed, unknown or revoked API key (WWW-Authenticate: Bearer).",
    403: "The key may not do this (wrong scope, or another device than the key's).",
    404: "No such device for this key's user.",
    413: "The body is larger than the configured limit.",
    415: "The body is not sent as application/json.",
    422: "The request breaks a rule; details name each problem (index, field, reason).",
    429: "Too many requests for this key, or too many invalid keys from this address; see "
    "Retry-After.",
    503: "The database is unavailable; nothing was stored. See Retry-After.",
}


class ApiError(CoreError):
    """An error the HTTP shell finds itself (the body, the key, the rate limit), in the core's
    kinds, with the headers its answer needs."""

    def __init__(
        self,
        kind: ErrorKind,
        code: str,
        message: str,
        details: Sequence[Mapping] = (),
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message, details)
        self.kind, self.code = kind, code
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
    note_error(code)
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return json_response(body, status, headers)


def unauthorized() -> ApiError:
    # One answer for a missing, malformed, unknown or revoked key: nothing to enumerate.
    return ApiError(
        ErrorKind.unauthorized,
        "unauthorized",
        "A valid API key is required: send 'Authorization: Bearer <key>'.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def invalid_parameter(field: str, message: str, reason: str) -> ApiError:
    return ApiError(
        ErrorKind.invalid,
        "validation_error",
        message,
        [{"index": None, "field": field, "message": reason}],
    )


def documented(*statuses: int) -> dict[int | str, dict]:
    """The ``responses`` of an operation for these error statuses, for the OpenAPI document."""
    return {s: {"model": schemas.ErrorBody, "description": _MEANING[s]} for s in statuses}


async def _core_error(_request: Request, exc: CoreError) -> Response:
    headers = getattr(exc, "headers", None)
    return error_response(STATUS[exc.kind], exc.code, str(exc), exc.details, headers)


async def _validation(_request: Request, exc: RequestValidationError) -> Response:
    details = [
        {
            "index": None,
            "field": ".".join(str(p) for p in e.get("loc", ())[1:]) or "request",
            "message": e.get("msg", ""),
        }
        for e in exc.errors()[:100]
    ]
    return error_response(
        STATUS[ErrorKind.invalid], "validation_error", "The request is invalid.", details
    )


async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
    codes = {404: "not_found", 405: "method_not_allowed"}
    return error_response(
        exc.status_code,
        codes.get(exc.status_code, "http_error"),
        str(exc.detail),
        headers=getattr(exc, "headers", None),
    )


def database_unavailable(message: str) -> Response:
    return error_response(
        STATUS[ErrorKind.unavailable],
        "database_unavailable",
        message,
        headers={"Retry-After": RETRY_AFTER_S},
    )


async def _database_down(_request: Request, exc: Exception) -> Response:
    cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    log.warning("database unavailable (%s): %s", exc.__class__.__name__, cause[0] if cause else "")
    return database_unavailable(
        "The database is unavailable; retry later. Resending is safe: readings that were "
        "stored after all count as duplicates."
    )


async def _unexpected(_request: Request, exc: Exception) -> Response:
    log.exception("unexpected error", exc_info=exc)
    return error_response(500, "internal_error", "Something went wrong on our side.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CoreError, _core_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    for outage in (DBAPIError, PoolTimeout, DatabaseUnavailable):
        app.add_exception_handler(outage, _database_down)
    app.add_exception_handler(Exception, _unexpected)

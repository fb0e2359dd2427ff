"""The InfluxDB write API, for Telegraf, emonhub, IoTaWatt, Home Assistant's ``influxdb``
integration and every InfluxDB client library: v2 ``/api/v2/write`` (``Authorization: Token``)
and v1 ``/write`` (``u``/``p`` or Basic auth), line protocol in any precision, gzip bodies.

Success is ``204 No Content`` (the v1 client raises on 200); an empty body, Home Assistant's
connection test, is 204 too. Errors use InfluxDB's own JSON shapes (v2 ``{"code", "message"}``,
v1 ``{"error"}``). A request is stored whole or not at all. The bucket, database and org name
nothing here: the key says whose readings they are.
"""

from __future__ import annotations

import base64
import binascii
import time
from functools import partial

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response

from energy_core.accounts import KeyPrincipal
from energy_core.errors import CoreError, ErrorKind
from energy_core.models import KeyScope
from energy_core.protocols.emoncms import decompress
from energy_core.protocols.line_protocol import (
    PRECISION_NS,
    LineProtocolError,
    PointMapping,
    parse_lines,
    power_values,
)
from ingest_api.deps import Api, check_key, client_address, store_inputs, verify_key
from ingest_api.errors import STATUS, ApiError, json_response
from ingest_api.routers.telemetry_ingest import read_raw_body

router = APIRouter(tags=["influxdb"])

V1, V2 = "v1", "v2"
# The code InfluxDB v2 puts in its error body for each status.
_V2_CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    413: "request too large",
    422: "unprocessable entity",
    429: "too many requests",
    503: "unavailable",
}
_VERSION_HEADERS = {"X-Influxdb-Version": "v2.7-compatible"}


def influx_error(
    version: str,
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    line: int | None = None,
) -> Response:
    if version == V1:
        body: dict = {"error": message}
    else:
        body = {"code": _V2_CODES.get(status, "internal error"), "message": message}
        if line:
            body["line"] = line
    return json_response(body, status, {**_VERSION_HEADERS, **(headers or {})})


def _key(request: Request, version: str) -> str:
    """``Authorization: Token K`` (or Bearer), Basic auth's password, or v1's ``p=``."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    scheme = scheme.lower()
    if scheme in ("token", "bearer"):
        return credentials.strip()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    return request.query_params.get("p", "") if version == V1 else ""


def _precision(request: Request, version: str) -> int:
    name = request.query_params.get("precision") or "ns"
    allowed = PRECISION_NS if version == V1 else {"ns", "us", "ms", "s"}
    if name not in allowed:
        raise LineProtocolError(
            f"precision must be one of {', '.join(sorted(allowed))}, not {name[:16]!r}.",
            [],
            line=0,
        )
    return PRECISION_NS[name]


def _writer(api: Api, request: Request, version: str) -> KeyPrincipal | None:
    key = _key(request, version)
    principal = verify_key(api, key, client_address(request)) if key else None
    if principal is None:
        return None
    check_key(api, principal, KeyScope.ingest)
    if principal.device_pk is not None:
        raise ApiError(
            ErrorKind.forbidden,
            "wrong_scope",
            "This key writes one device only; InfluxDB clients need a household ingest key.",
        )
    return principal


def _write(api: Api, request: Request, body: bytes, version: str) -> Response:
    """Blocking: the key, the lines, one transaction."""
    principal = _writer(api, request, version)
    if principal is None:
        message = "authorization failed" if version == V1 else "unauthorized access"
        return influx_error(version, 401, message)
    precision_ns = _precision(request, version)
    if request.headers.get("content-encoding", "").strip().lower() == "gzip":
        body = decompress(body, limit=api.settings.max_body_bytes, wbits=31)
    if body.strip():
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LineProtocolError("The body is not UTF-8 line protocol.", [], line=0) from exc
        settings = api.settings
        mapping = PointMapping(
            device_tags=[t.strip() for t in settings.influx_device_tags.split(",") if t.strip()],
            power_fields=[f.strip() for f in settings.influx_power_fields.split(",") if f.strip()],
        )
        values = power_values(
            parse_lines(text), now_ns=time.time_ns(), precision_ns=precision_ns, mapping=mapping
        )
        if values:
            store_inputs(api, principal, values)
    return Response(status_code=204, headers=_VERSION_HEADERS)


async def _serve(request: Request, version: str) -> Response:
    api: Api = request.app.state.api
    try:
        body = await read_raw_body(api, request)
        return await anyio.to_thread.run_sync(
            partial(_write, api, request, body, version), limiter=api.writers
        )
    except LineProtocolError as exc:
        return influx_error(version, 400, str(exc), line=exc.line)
    except CoreError as exc:
        return influx_error(version, STATUS[exc.kind], str(exc), getattr(exc, "headers", None))


_RESPONSES = {
    204: {"description": "Written (or nothing to write)."},
    400: {"description": "A line cannot be read; nothing was written."},
    401: {"description": "No valid key."},
    422: {"description": "A value breaks a rule (too old, negative...); nothing was written."},
    429: {"description": "Too many requests for this key; see Retry-After."},
}


@router.post(
    "/api/v2/write",
    status_code=204,
    summary="InfluxDB v2 write (line protocol)",
    description="`?org=&bucket=&precision=ns|us|ms|s`, `Authorization: Token <ingest key>`; "
    "gzip bodies with `Content-Encoding: gzip`. The mapping from points to devices is in the "
    "README (Connect your devices).",
    responses=_RESPONSES,
)
async def influx_v2_write(request: Request) -> Response:
    return await _serve(request, V2)


@router.post(
    "/write",
    status_code=204,
    summary="InfluxDB v1 write (line protocol)",
    description="`?db=&precision=n|u|ms|s|m|h`, the ingest key as `p=` or the Basic auth "
    "password (or `Authorization: Token`).",
    responses=_RESPONSES,
)
async def influx_v1_write(request: Request) -> Response:
    return await _serve(request, V1)


@router.api_route("/ping", methods=["GET", "HEAD"], status_code=204, summary="InfluxDB ping")
async def influx_ping() -> Response:
    return Response(status_code=204, headers=_VERSION_HEADERS)

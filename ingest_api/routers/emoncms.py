"""The Emoncms input API, for the hubs and integrations that speak it (emonhub, IoTaWatt,
EmonESP, Home Assistant's ``emoncms_history``): ``input/post``, ``input/bulk`` and ``input/get``,
with or without ``.json``, at ``/input/...`` and under any base path (``/emoncms/input/...``:
clients append ``/input/...`` to the URL they are given).

Keys come as ``?apikey=``, a form field ``apikey`` or ``Authorization: Bearer``. Replies are the
ones the clients check: exactly ``ok`` (``{"success": true}`` for ``fulljson``), and 401
``Invalid API key``; a request that breaks a rule gets the API's JSON error.
"""

from __future__ import annotations

import time
from functools import partial
from urllib.parse import parse_qsl

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from energy_core.accounts import KeyPrincipal
from energy_core.db import session_scope
from energy_core.errors import ErrorKind
from energy_core.inputs import list_inputs
from energy_core.models import KeyScope
from energy_core.protocols.emoncms import decompress, parse_bulk, parse_post, unhex
from ingest_api.deps import Api, check_key, client_address, store_inputs, verify_key
from ingest_api.errors import ApiError, json_response
from ingest_api.routers.telemetry_ingest import read_raw_body

router = APIRouter(tags=["emoncms"])

FORM = "application/x-www-form-urlencoded"
OK = "ok"
ACTIONS = {"post", "bulk", "get"}


def invalid_key() -> Response:
    return PlainTextResponse("Invalid API key", status_code=401)


class _InvalidKey(Exception):
    """No valid key: answered as Emoncms does, not in the API's JSON error shape."""


def _params(request: Request, body: bytes) -> dict[str, str]:
    """Query and form parameters, the form's winning (PHP's ``$_REQUEST``); ``+`` is a space."""
    params = dict(parse_qsl(request.url.query, keep_blank_values=True))
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type == FORM and body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(
                ErrorKind.malformed, "invalid_form", "The form body is not UTF-8."
            ) from exc
        params.update(parse_qsl(text, keep_blank_values=True))
    return params


def _principal(api: Api, request: Request, params: dict[str, str]) -> KeyPrincipal:
    """The caller of ``apikey`` or the bearer key, within its rate limit. Blocking."""
    key = params.get("apikey", "").strip()
    if not key:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        key = credentials.strip() if scheme.lower() == "bearer" else ""
    principal = verify_key(api, key, client_address(request)) if key else None
    if principal is None:
        raise _InvalidKey
    return check_key(api, principal, principal.scope)


def _writer(api: Api, request: Request, params: dict[str, str]) -> KeyPrincipal:
    principal = _principal(api, request, params)
    if principal.scope is not KeyScope.ingest:
        raise ApiError(ErrorKind.forbidden, "wrong_scope", "Writing inputs needs an ingest key.")
    if principal.device_pk is not None:
        raise ApiError(
            ErrorKind.forbidden,
            "wrong_scope",
            "This key writes one device only; Emoncms clients need a household key "
            "(energy-monitor keys add --scope ingest --emoncms).",
        )
    return principal


def _post(api: Api, request: Request, body: bytes, node: str | None) -> Response:
    params = _params(request, body)
    principal = _writer(api, request, params)
    parsed = parse_post(params, node_segment=node, now_s=time.time())
    store_inputs(api, principal, parsed.values)
    return json_response({"success": True}) if parsed.full_json else PlainTextResponse(OK)


def _bulk(api: Api, request: Request, body: bytes) -> Response:
    params = _params(request, body)
    principal = _writer(api, request, params)
    limit = api.settings.max_body_bytes
    if params.get("cb") == "1" and "data" not in params:
        data: bytes | str = decompress(body, limit=limit)
    elif params.get("c") == "1":
        data = decompress(unhex(params.get("data", "")), limit=limit)
    elif "data" in params:
        data = params["data"]
    else:
        raise ApiError(
            ErrorKind.invalid,
            "validation_error",
            "Send the rows in data= (a form field or the query), or a zlib body with cb=1.",
            [{"index": None, "field": "data", "message": "is required"}],
        )
    store_inputs(api, principal, parse_bulk(data, params, now_s=time.time()))
    return PlainTextResponse(OK)


def _get(api: Api, request: Request, body: bytes) -> Response:
    params = _params(request, body)
    principal = _principal(api, request, params)
    node = params.get("node", "").strip()
    with session_scope(api.engine, read_only=True, household=principal.user_id) as session:
        inputs = list_inputs(session, user_id=principal.user_id, prefix=f"{node}:" if node else "")
    latest: dict[str, dict] = {}
    for info in inputs:
        node_name, _, name = info.input_id.partition(":")
        if not name:
            continue  # an InfluxDB series, not an Emoncms input
        entry = {
            "time": int(info.last_at.timestamp()) if info.last_at else None,
            "value": info.last_value,
        }
        latest.setdefault(node_name, {})[name] = entry
    if node:
        return json_response(latest.get(node, "Node does not exist"))
    return json_response(latest)


_HANDLERS = {"post": _post, "bulk": _bulk, "get": _get}


async def _serve(request: Request, action: str, node: str | None = None) -> Response:
    api: Api = request.app.state.api
    action = action.removesuffix(".json")
    if node is not None:
        node = node.removesuffix(".json")
    if action not in ACTIONS or (node is not None and action != "post"):
        raise ApiError(ErrorKind.not_found, "not_found", f"No Emoncms input action {action!r}.")
    body = await read_raw_body(api, request)
    handler = _HANDLERS[action]
    call = (
        partial(handler, api, request, body, node)
        if action == "post"
        else partial(handler, api, request, body)
    )
    try:
        return await anyio.to_thread.run_sync(call, limiter=api.writers)
    except _InvalidKey:
        return invalid_key()


_DOC = {
    "summary": "Emoncms input API (post, bulk, get)",
    "description": "input/post (fulljson, json, csv, data), input/bulk (rows [t, node, v...]; "
    "sentat, offset, time or legacy times; cb=1 zlib body, c=1 hex zlib) and input/get?node=. "
    'Success is the text `ok` (`{"success": true}` for fulljson).',
}


@router.api_route("/input/{action}", methods=["GET", "POST"], **_DOC)
async def emoncms_input(request: Request, action: str) -> Response:
    return await _serve(request, action)


@router.api_route(
    "/input/{action}/{node}",
    methods=["GET", "POST"],
    summary="Emoncms input/post with the node as a path segment",
)
async def emoncms_input_node(request: Request, action: str, node: str) -> Response:
    return await _serve(request, action, node)


@router.api_route(
    "/{base:path}/input/{action}",
    methods=["GET", "POST"],
    summary="Emoncms input API under a base path (e.g. /emoncms/input/bulk.json)",
)
async def emoncms_input_under(request: Request, base: str, action: str) -> Response:
    return await _serve(request, action)


@router.api_route(
    "/{base:path}/input/{action}/{node}",
    methods=["GET", "POST"],
    summary="Emoncms input/post under a base path, with the node as a path segment",
)
async def emoncms_input_node_under(request: Request, base: str, action: str, node: str) -> Response:
    return await _serve(request, action, node)

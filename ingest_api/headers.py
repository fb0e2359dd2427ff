"""Security headers on every answer of the API, including those of the single-reading route that
bypasses FastAPI's routing and the error answers.

The API serves JSON, so its answers forbid everything a browser could do with them: no content
sniffing, no framing, no loading of anything (``default-src 'none'``), no referrer. The
documentation pages load Swagger UI and ReDoc from their CDN with inline scripts; they keep the
framing ban only. Answers to a request that carries an API key (every ``/api/`` route) must not be
stored by a browser or a shared cache. Over HTTPS (directly, or through a trusted proxy's
``X-Forwarded-Proto``) browsers are told to stay on HTTPS.
"""

from __future__ import annotations

from functools import lru_cache

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_CSP = "frame-ancestors 'none'"
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
HSTS = "max-age=31536000"

_ALWAYS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)


def security_headers(path: str, *, https: bool) -> tuple[tuple[str, str], ...]:
    """The headers every answer to ``path`` carries (a request over HTTPS when ``https``)."""
    return _headers_for(path in DOCS_PATHS, path.startswith("/api/"), https)


@lru_cache(maxsize=8)
def _headers_for(docs: bool, private: bool, https: bool) -> tuple[tuple[str, str], ...]:
    headers = [*_ALWAYS, ("Content-Security-Policy", DOCS_CSP if docs else API_CSP)]
    if private:
        headers.append(("Cache-Control", "no-store"))
    if https:
        headers.append(("Strict-Transport-Security", HSTS))
    return tuple(headers)


@lru_cache(maxsize=8)
def raw_security_headers(path: str, *, https: bool) -> tuple[tuple[bytes, bytes], ...]:
    """``security_headers`` as an ASGI answer lists them (lower-case names, bytes)."""
    return tuple(
        (name.lower().encode(), value.encode())
        for name, value in security_headers(path, https=https)
    )


def request_path(scope: Scope) -> str:
    """The path of a request as the app's routes see it (without a ``root_path`` prefix)."""
    path = scope.get("path", "")
    root = scope.get("root_path", "")
    if root and path.startswith(root):  # behind a prefix (uvicorn --root-path, a mount)
        path = path[len(root) :]
    return path


class SecurityHeaders:
    """Pure ASGI middleware (no per-request task or body copy, unlike ``BaseHTTPMiddleware``):
    it adds the headers to the start of each answer. Cache-Control is always ``no-store`` under
    ``/api/``; the others are added where the answer has none of its own."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = security_headers(request_path(scope), https=scope.get("scheme") == "https")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted:
                    if name == "Cache-Control":
                        headers[name] = value
                    else:
                        headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)

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


class SecurityHeaders:
    """Pure ASGI middleware (no per-request task or body copy, unlike ``BaseHTTPMiddleware``):
    it adds the headers to the start of each answer."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        csp = DOCS_CSP if path in DOCS_PATHS else API_CSP
        private = path.startswith("/api/")
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _ALWAYS:
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", csp)
                if private:
                    headers["Cache-Control"] = "no-store"
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)

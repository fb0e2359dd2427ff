"""A tiny OpenAI-compatible server for tests: a real HTTP server on 127.0.0.1 in a thread that
speaks ``POST /v1/chat/completions`` (plain JSON and streamed server-sent events) and plays a
script of replies: text, tool calls, HTTP errors, delays or a broken stream.

It is the only fake in the chat tests: the engine talks to it through the real ``openai`` SDK.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted reply. ``tool_calls`` are (name, arguments as sent, i.e. a JSON string)."""

    content: str | None = None
    tool_calls: list[tuple[str, str]] = field(default_factory=list)
    status: int = 200
    delay_s: float = 0.0
    raw: bytes | None = None  # sent as the body as-is (a broken stream)


Script = list[Reply] | Callable[[dict[str, Any], int], Reply]


def text(content: str) -> Reply:
    return Reply(content=content)


def call(name: str, arguments: dict[str, Any] | str) -> Reply:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return Reply(tool_calls=[(name, raw)])


class FakeOpenAI:
    """``with FakeOpenAI(script) as server:`` then point the SDK at ``server.base_url``."""

    def __init__(self, script: Script):
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def tool_messages(self) -> list[dict[str, Any]]:
        """Every tool result the engine sent back, over all requests (deduplicated)."""
        seen, out = set(), []
        for request in self.requests:
            for message in request["messages"]:
                if message["role"] == "tool" and message["tool_call_id"] not in seen:
                    seen.add(message["tool_call_id"])
                    out.append(message)
        return out

    def _next(self, body: dict[str, Any]) -> Reply:
        n = len(self.requests) - 1
        if callable(self.script):
            return self.script(body, n)
        return self.script[min(n, len(self.script) - 1)]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(body)
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._json(404, {"error": {"message": "not found"}})
                    return
                reply = fake._next(body)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.status != 200:
                    self._json(reply.status, {"error": {"message": "scripted failure"}})
                    return
                if reply.raw is not None:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    self.wfile.write(reply.raw)
                    return
                if body.get("stream"):
                    self._stream(reply, body)
                else:
                    self._json(200, _completion(reply, body))

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, reply: Reply, body: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                for chunk in _chunks(reply, body):
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        return Handler


def _chunk(body: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _chunks(reply: Reply, body: dict[str, Any]) -> list[dict[str, Any]]:
    out = [_chunk(body, {"role": "assistant", "content": ""})]
    if reply.content:
        # A few characters per event, as real servers stream.
        for i in range(0, len(reply.content), 7):
            out.append(_chunk(body, {"content": reply.content[i : i + 7]}))
    for index, (name, arguments) in enumerate(reply.tool_calls):
        out.append(
            _chunk(
                body,
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": f"call_{len(body['messages'])}_{index}",
                            "type": "function",
                            "function": {"name": name, "arguments": ""},
                        }
                    ]
                },
            )
        )
        for i in range(0, len(arguments), 10):
            out.append(
                _chunk(
                    body,
                    {
                        "tool_calls": [
                            {"index": index, "function": {"arguments": arguments[i : i + 10]}}
                        ]
                    },
                )
            )
    out.append(_chunk(body, {}, "tool_calls" if reply.tool_calls else "stop"))
    return out


def _completion(reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{len(body['messages'])}_{i}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
            for i, (name, arguments) in enumerate(reply.tool_calls)
        ]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
            }
        ],
    }

"""Requests captured from real clients (``tests/fixtures/real_clients/``, see its README), replayed
with keys of ours: the placeholder keys and tokens in them are swapped, the rest is sent as it
was."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import httpx

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "real_clients"

EMONCMS_PLACEHOLDER = "0123456789abcdef0123456789abcdef"
INFLUX_PLACEHOLDERS = ("ha-influx-token", "my-token", "tok3")
BEARER_PLACEHOLDER = "test-token-123"  # Home Assistant's rest_command
# Headers the replay's HTTP client sets itself.
_SET_BY_CLIENT = {"host", "content-length", "connection"}


@dataclass(frozen=True)
class Captured:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def send(self, client: httpx.Client) -> httpx.Response:
        return client.request(self.method, self.path, headers=self.headers, content=self.body)


def captured(
    name: str, *, emoncms_key: str = "", influx_key: str = "", bearer_key: str = ""
) -> list[Captured]:
    """The requests of ``name``.jsonl with our keys in place of the placeholders."""
    requests = []
    for line in (FIXTURES / f"{name}.jsonl").read_text().splitlines():
        raw = json.loads(line)
        body = bytes.fromhex(raw["body_hex"]) if "body_hex" in raw else raw["body"].encode()
        path = raw["path"]
        headers = {k: v for k, v in raw["headers"].items() if k.lower() not in _SET_BY_CLIENT}
        if emoncms_key:
            path = path.replace(EMONCMS_PLACEHOLDER, emoncms_key)
            body = body.replace(EMONCMS_PLACEHOLDER.encode(), emoncms_key.encode())
            headers = {k: v.replace(EMONCMS_PLACEHOLDER, emoncms_key) for k, v in headers.items()}
        if influx_key:
            path = path.replace("p=secret", f"p={influx_key}")
            for token in INFLUX_PLACEHOLDERS:
                headers = {k: v.replace(token, influx_key) for k, v in headers.items()}
            basic = base64.b64encode(f"u:{influx_key}".encode()).decode()
            headers = {k: v.replace("Basic dTpw", f"Basic {basic}") for k, v in headers.items()}
        if bearer_key:
            headers = {k: v.replace(BEARER_PLACEHOLDER, bearer_key) for k, v in headers.items()}
        requests.append(Captured(raw["method"], path, headers, body))
    return requests

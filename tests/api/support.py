"""What the API tests share: a household of two users with keys, request helpers, row counts and a
real uvicorn server in a thread for tests that need concurrent HTTP clients."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import uvicorn
from sqlmodel import func, select

from energy_core.db import session_scope
from energy_core.models import Device, DirtyHour, KeyScope, Reading, User
from energy_core.types import utcnow
from tests.factories import make_device, make_key, make_user


@dataclass
class Household:
    """User A (fridge, solar, heater) with every kind of key, and user B with devices of its own."""

    user_id: int
    household_key: str
    fridge_key: str
    read_key: str
    other_user_id: int
    other_key: str
    other_fridge_key: str
    other_read_key: str


# The read API's routes for one device or the household (the stats route reads the fridge).
READ_PATHS = (
    "/api/v1/telemetry",
    "/api/v1/telemetry/aggregates/hourly",
    "/api/v1/telemetry/stats/fridge",
    "/api/v1/telemetry/summary",
    "/api/v1/telemetry/realtime",
    "/api/v1/telemetry/devices",
)


def make_household(engine) -> Household:
    with session_scope(engine) as s:
        user = make_user(s)
        fridge = make_device(s, user=user, device_id="fridge", location="kitchen")
        make_device(s, user=user, device_id="solar", bidirectional=True, location="roof")
        make_device(s, user=user, device_id="heater", location="cellar")
        other = make_user(s)
        theirs = make_device(s, user=other, device_id="theirs", location="garage")
        make_device(s, user=other, device_id="their-meter")
        return Household(
            user_id=user.id,
            household_key=make_key(s, user=user).key,
            fridge_key=make_key(s, user=user, device=fridge).key,
            read_key=make_key(s, user=user, scope=KeyScope.read).key,
            other_user_id=other.id,
            other_key=make_key(s, user=other).key,
            other_fridge_key=make_key(s, user=other, device=theirs).key,
            other_read_key=make_key(s, user=other, scope=KeyScope.read).key,
        )


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def post_reading(client, key: str, reading: dict) -> httpx.Response:
    """One ``reading`` sent with ``key``."""
    return client.post("/api/v1/telemetry", json=reading, headers=auth(key))


def post_batch(client, key: str, *readings: dict) -> httpx.Response:
    """``readings`` sent as one batch with ``key``."""
    return client.post(
        "/api/v1/telemetry/batch", json={"readings": list(readings)}, headers=auth(key)
    )


def json_headers(key: str) -> dict[str, str]:
    return {**auth(key), "Content-Type": "application/json"}


def iso(offset_s: float = 0) -> str:
    """A timestamp ``offset_s`` seconds before now, as devices send it."""
    return (utcnow() - timedelta(seconds=offset_s)).isoformat().replace("+00:00", "Z")


def stored_readings(engine) -> list[tuple[str, datetime, float]]:
    """Every stored reading as (device id, instant, watts), by device id and time."""
    with session_scope(engine, read_only=True) as s:
        return [
            tuple(row)
            for row in s.exec(
                select(Device.device_id, Reading.ts, Reading.power_w)
                .join(Device, Device.id == Reading.device_pk)
                .order_by(Device.device_id, Reading.ts)
            )
        ]


def reading_count(engine) -> int:
    with session_scope(engine, read_only=True) as s:
        return s.exec(select(func.count()).select_from(Reading)).one()


def dirty_count(engine) -> int:
    with session_scope(engine, read_only=True) as s:
        return s.exec(select(func.count()).select_from(DirtyHour)).one()


def device_count(engine) -> int:
    with session_scope(engine, read_only=True) as s:
        return s.exec(select(func.count()).select_from(Device)).one()


def enable_auto_registration(engine, user_id: int) -> None:
    with session_scope(engine) as s:
        user = s.get(User, user_id)
        user.auto_register_devices = True
        s.add(user)


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """The response is an error of the documented shape; returns its ``error`` object."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    if code is not None:
        assert error["code"] == code, error
    return error


class LiveServer:
    """The app under a real uvicorn server in a thread of this process, on a free port."""

    def __init__(self, app):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 10 s")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

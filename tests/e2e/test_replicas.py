"""Two real API replicas behind a real nginx (Debian's package), configured by deploy/nginx.conf:
readings go through either replica, client addresses reach the rate limits only through the
trusted proxy, the replicas share the failed-key count in Redis, and killing one replica mid-run
loses no reading. Loopback only: clients bind 127.0.0.x source addresses to be told apart."""

from __future__ import annotations

import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from energy_core.db import session_scope
from energy_core.models import Reading
from energy_core.types import utcnow
from tests.e2e.support import ROOT, free_port, running, user_with_a_device, wait_until

pytestmark = pytest.mark.e2e

FAILURE_LIMIT = 3


def nginx_config(tmp: Path, port: int, replicas: list[int]) -> str:
    """deploy/nginx.conf with loopback addresses and paths of this test."""
    conf = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    conf = conf.replace("server ingest:8000", f"server 127.0.0.1:{replicas[0]}")
    conf = conf.replace("server ingest-2:8000", f"server 127.0.0.1:{replicas[1]}")
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{port};")
    head = f"pid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\n"
    if os.geteuid() == 0:
        head = "user root;\n" + head  # its workers write the temporary files below
    temp = "".join(
        f"    {kind}_temp_path {tmp}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = conf.replace("events {", head + "events {", 1)
    return conf.replace("http {\n", "http {\n    access_log off;\n" + temp, 1)


@dataclass
class Replicas:
    proxy: str  # nginx's address
    ports: list[int]  # the replicas' own ports
    first: subprocess.Popen  # the first replica's process


@contextmanager
def replicas_behind_nginx(env: dict[str, str], tmp: Path) -> Iterator[Replicas]:
    """Two ``energy-monitor api`` replicas on loopback behind Debian's nginx configured by
    deploy/nginx.conf, each answering /ready through the proxy; logs and nginx's files in
    ``tmp``. Stopped on leaving."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    ports = [free_port(), free_port()]
    proxy_port = free_port()
    (tmp / "nginx.conf").write_text(nginx_config(tmp, proxy_port, ports))
    logs = [tmp / "api-1.log", tmp / "api-2.log", tmp / "nginx.log"]
    api = [sys.executable, "-m", "energy_cli", "api", "--port"]
    nginx_argv = [nginx, "-p", str(tmp), "-c", str(tmp / "nginx.conf")]
    with (
        running([*api, str(ports[0])], env, logs[0]) as first,
        running([*api, str(ports[1])], env, logs[1]),
        running([*nginx_argv, "-g", "daemon off;"], env, logs[2]),
    ):
        proxy = f"http://127.0.0.1:{proxy_port}"
        for port in ports:
            wait_until(
                lambda p=port: httpx.get(f"http://127.0.0.1:{p}/ready", timeout=2).is_success,
                timeout_s=60,
                what=f"the replica on {port} answering /ready",
                logs=logs,
            )
        wait_until(
            lambda: httpx.get(f"{proxy}/ready", timeout=2).is_success,
            timeout_s=20,
            what="nginx answering /ready",
            logs=[*logs, tmp / "error.log"],
        )
        yield Replicas(proxy=proxy, ports=ports, first=first)


def client_from(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def requests_served(port: int) -> int:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(int(n) for n in re.findall(r"^energy_api_requests_total\{[^}]*\} (\d+)", text, re.M))


def answers_to_a_fleet(proxy: str, clients: int, *, within_s: float = 30.0) -> list[int]:
    """``clients`` connections to the proxy held open at once, as devices that keep theirs between
    readings do, each asking for /health: the status each one got (0: none in time)."""
    host, port = proxy.removeprefix("http://").rsplit(":", 1)
    selector = selectors.DefaultSelector()
    sockets: list[socket.socket] = []
    replies: dict[int, bytes] = {}
    try:
        for _ in range(clients):
            sock = socket.create_connection((host, int(port)), timeout=10)
            sockets.append(sock)
        for sock in sockets:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: proxy\r\n\r\n")
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        deadline = time.monotonic() + within_s
        while len(replies) < clients and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=1):
                sock = key.fileobj
                try:
                    data = sock.recv(4096)
                except OSError:  # reset: turned away
                    data = b""
                replies[sock.fileno()] = replies.get(sock.fileno(), b"") + data
                if not data or b"\r\n" in replies[sock.fileno()]:
                    selector.unregister(sock)
                    replies.setdefault(sock.fileno(), b"")
        statuses = []
        for sock in sockets:
            head = replies.get(sock.fileno(), b"").split(b"\r\n", 1)[0].split()
            statuses.append(int(head[1]) if len(head) > 1 and head[1].isdigit() else 0)
        return statuses
    finally:
        selector.close()
        for sock in sockets:
            sock.close()


def test_two_replicas_behind_nginx(engine, redis_url, tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "this test needs Debian's nginx: apt-get install nginx-light"
    env = {
        **os.environ,
        "ENERGY_DATABASE_URL": str(engine.url.render_as_string(hide_password=False)),
        "ENERGY_REDIS_URL": redis_url,
        "ENERGY_TRUSTED_PROXIES": "127.0.0.1",
        "ENERGY_AUTH_FAILURE_LIMIT": str(FAILURE_LIMIT),
        "ENERGY_METRICS": "true",
        "ENERGY_LOG_LEVEL": "WARNING",
    }
    key = user_with_a_device(
        env, "proxy@example.com", "proxy-password-1", "--device-id", "meter", "--name", "Meter"
    )

    with replicas_behind_nginx(env, tmp_path) as replicas:
        proxy, ports, first = replicas.proxy, replicas.ports, replicas.first
        start = utcnow() - timedelta(minutes=30)
        stamps = [(start + timedelta(seconds=10 * i)).isoformat() for i in range(40)]

        def post(client: httpx.Client, i: int) -> httpx.Response:
            return client.post(
                f"{proxy}/api/v1/telemetry",
                json={"timestamp": stamps[i], "energy_watts": 100 + i},
                headers={"Authorization": f"Bearer {key}"},
            )

        # Readings through the proxy reach both replicas.
        with client_from("127.0.0.2") as device:
            for i in range(20):
                assert post(device, i).status_code == 201
        assert all(requests_served(port) > 0 for port in ports)

        # A fleet larger than nginx's default of 512 connections, each keeping its own open.
        statuses = answers_to_a_fleet(proxy, 1_200)
        assert statuses.count(200) == len(statuses), sorted(set(statuses))

        def wrong(client: httpx.Client, base: str, i: int, **headers: str) -> int:
            headers["Authorization"] = f"Bearer emk_{i:08x}_guessed-secret-{i}"
            return client.get(f"{base}/api/v1/telemetry/devices", headers=headers).status_code

        # Through the trusted proxy each client address counts on its own, across replicas.
        with client_from("127.0.0.3") as guesser, client_from("127.0.0.4") as neighbour:
            assert [wrong(guesser, proxy, i) for i in range(FAILURE_LIMIT)] == [401] * FAILURE_LIMIT
            assert wrong(guesser, proxy, 99) == 429
            assert wrong(neighbour, proxy, 99) == 401

        # Straight to a replica from an untrusted peer, X-Forwarded-For is ignored: a new
        # forged address each time buys nothing.
        direct = f"http://127.0.0.1:{ports[1]}"
        with client_from("127.0.0.5") as forger:
            for i in range(FAILURE_LIMIT):
                assert wrong(forger, direct, i, **{"X-Forwarded-For": f"198.51.100.{i}"}) == 401
            assert wrong(forger, direct, 99, **{"X-Forwarded-For": "198.51.100.200"}) == 429

        # One replica dies; nginx sends everything to the other and nothing is lost.
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        with client_from("127.0.0.2") as device:
            for i in range(20, 40):
                assert post(device, i).status_code == 201
    with session_scope(engine, read_only=True) as s:
        assert s.exec(select(func.count()).select_from(Reading)).one() == 40

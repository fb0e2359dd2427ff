"""Idempotency under concurrency, through a real uvicorn server: identical posts racing each other
store one row, and overlapping batches in different orders neither deadlock nor double-store.
On SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import httpx
import pytest

from energy_core.accounts import delete_device
from energy_core.db import session_scope
from energy_core.integrity import find_orphans
from tests.api.support import LiveServer, auth, iso, reading_count


def race(url: str, n: int, make_request) -> list[httpx.Response]:  # noqa: ANN001
    """Send ``n`` requests at once from ``n`` threads (each its own connection)."""
    barrier = threading.Barrier(n)
    responses: list[httpx.Response | Exception] = [None] * n

    def worker(i: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            barrier.wait()
            try:
                responses[i] = make_request(c, i)
            except httpx.HTTPError as exc:
                responses[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, httpx.Response) for r in responses), responses
    return responses


@pytest.fixture
def server(engine, make_app):
    with LiveServer(make_app()) as live:
        yield live


def test_50_concurrent_identical_posts_store_one_row(server, engine, household):
    body = {"device_id": "fridge", "timestamp": iso(30), "energy_watts": 42.0}
    responses = race(
        server.url,
        50,
        lambda c, _: c.post("/api/v1/telemetry", json=body, headers=auth(household.household_key)),
    )
    outcomes = Counter((r.status_code, r.text) for r in responses)
    assert outcomes == {
        (201, '{"accepted":1,"duplicates":0}'): 1,
        (200, '{"accepted":0,"duplicates":1}'): 49,
    }
    assert reading_count(engine) == 1


def test_concurrent_identical_batches_store_each_reading_once(server, engine, household):
    readings = [
        {"device_id": d, "timestamp": iso(600 - i), "energy_watts": i}
        for i in range(100)
        for d in ("fridge", "heater")
    ]
    responses = race(
        server.url,
        20,
        lambda c, _: c.post(
            "/api/v1/telemetry/batch",
            json={"readings": readings},
            headers=auth(household.household_key),
        ),
    )
    assert {r.status_code for r in responses} <= {200, 201}, [r.text for r in responses]
    counts = [r.json() for r in responses]
    assert sum(c["accepted"] for c in counts) == 200
    assert all(c["accepted"] + c["duplicates"] == 200 for c in counts)
    assert reading_count(engine) == 200


def test_overlapping_batches_in_different_orders_do_not_deadlock(server, engine, household):
    readings = [
        {"device_id": d, "timestamp": iso(900 - i), "energy_watts": i}
        for i in range(150)
        for d in ("fridge", "heater", "solar")
    ]

    def post_shuffled(c: httpx.Client, i: int) -> httpx.Response:
        mine = readings[:]
        random.Random(i).shuffle(mine)
        return c.post(
            "/api/v1/telemetry/batch",
            json={"readings": mine},
            headers=auth(household.household_key),
        )

    responses = race(server.url, 16, post_shuffled)
    assert {r.status_code for r in responses} <= {200, 201}, [r.text for r in responses]
    assert reading_count(engine) == len(readings)
    assert sum(r.json()["accepted"] for r in responses) == len(readings)


def test_deleting_a_device_while_readings_stream_in_leaves_none_behind(server, engine, household):
    """Readings have no foreign key to their device: the writers' lock on the device row is what
    makes a deletion wait for them and a writer after it find no device."""
    stop = threading.Event()
    statuses: Counter = Counter()
    lock = threading.Lock()

    def stream(client: int, batch: bool) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            n = 0
            while not stop.is_set():
                n += 1
                readings = [
                    {
                        "device_id": "fridge",
                        "timestamp": iso(client * 5_000 + n * 10 + i),
                        "energy_watts": 1.0,
                    }
                    for i in range(20 if batch else 1)
                ]
                r = (
                    c.post(
                        "/api/v1/telemetry/batch",
                        json={"readings": readings},
                        headers=auth(household.household_key),
                    )
                    if batch
                    else c.post(
                        "/api/v1/telemetry", json=readings[0], headers=auth(household.household_key)
                    )
                )
                with lock:
                    statuses[r.status_code] += 1

    threads = [threading.Thread(target=stream, args=(k, k < 3)) for k in range(8)]
    for t in threads:
        t.start()
    while sum(statuses.values()) < 60:
        time.sleep(0.01)
    with session_scope(engine) as s:
        delete_device(s, user_id=household.user_id, device_id="fridge")
    seen = sum(statuses.values())
    while sum(statuses.values()) < seen + 60:
        time.sleep(0.01)
    stop.set()
    for t in threads:
        t.join()
    assert set(statuses) <= {201, 404} and statuses[201] >= 60 and statuses[404] >= 60, statuses
    with session_scope(engine, read_only=True) as s:
        assert find_orphans(s).ok
        assert reading_count(engine) == 0

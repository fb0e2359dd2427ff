"""A database failover kills the API's idle pooled connections: the next read and the next batch
must succeed on new connections instead of answering 503 (PostgreSQL only: SQLite has no
connections to lose)."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from tests.api.support import auth, iso, reading_count
from tests.api.test_faults import admin_connection

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def kill_idle_connections(database_url: str) -> int:
    """Terminate every connection to the database under test that is idle, and wait until each
    is gone (as a failover or an administrator would leave them)."""
    database = make_url(database_url).database
    with admin_connection(database_url) as admin:
        return len(
            admin.execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid() AND state = 'idle'",
                (database,),
            ).fetchall()
        )


def batch(offset_s: float) -> dict:
    return {"readings": [{"device_id": "fridge", "timestamp": iso(offset_s), "power_w": 42}]}


def test_after_idle_connections_are_killed_the_next_requests_succeed(
    make_app, engine, database_url, household, caplog
):
    caplog.set_level(logging.INFO)
    read, ingest = auth(household.read_key), auth(household.household_key)
    with TestClient(make_app()) as client:
        # Every kind of request once, so the pool holds connections and the keys are known.
        assert client.get("/api/v1/telemetry", headers=read).status_code == 200
        r = client.post("/api/v1/telemetry/batch", json=batch(300), headers=ingest)
        assert r.status_code == 201, r.text
        engine.dispose()  # the test's own connections are not the subject

        assert kill_idle_connections(database_url) > 0
        r = client.get("/api/v1/telemetry", headers=read)
        assert r.status_code == 200, r.text
        assert len(r.json()["items"]) == 1

        assert kill_idle_connections(database_url) > 0
        r = client.post("/api/v1/telemetry/batch", json=batch(200), headers=ingest)
        assert (r.status_code, r.json()) == (201, {"accepted": 1, "duplicates": 0})

        assert kill_idle_connections(database_url) > 0
        r = client.get("/api/v1/telemetry/stats/fridge", headers=read)
        assert r.status_code == 200, r.text

        # A single reading: on PostgreSQL through the writer's own connection, killed as well.
        single = {"device_id": "fridge", "timestamp": iso(100), "power_w": 42}
        assert client.post("/api/v1/telemetry", json=single, headers=ingest).status_code == 201
        assert kill_idle_connections(database_url) > 0
        single["timestamp"] = iso(50)
        r = client.post("/api/v1/telemetry", json=single, headers=ingest)
        assert (r.status_code, r.json()) == (201, {"accepted": 1, "duplicates": 0})
        assert client.app.state.api.singles.reconnects == 1
    assert reading_count(engine) == 4
    assert not [rec for rec in caplog.records if "database unavailable" in rec.getMessage()]
    assert any("died while idle" in rec.getMessage() for rec in caplog.records)

"""The device contract of the ingest API (DESIGN.md section 4), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from energy_core.db import session_scope
from energy_core.models import DirtyHour, KeyScope, Reading
from energy_core.types import utcnow
from ingest_api.app import create_app
from tests.factories import make_device, make_key, make_user


@pytest.fixture
def household(engine):
    with session_scope(engine) as s:
        user = make_user(s)
        fridge = make_device(s, user=user, device_id="fridge")
        solar = make_device(s, user=user, device_id="solar", bidirectional=True)
        household_key = make_key(s, user=user).key
        fridge_key = make_key(s, user=user, device=fridge).key
        read_key = make_key(s, user=user, scope=KeyScope.read).key
        other = make_user(s)
        make_device(s, user=other, device_id="theirs")
        other_key = make_key(s, user=other).key
    return {
        "user": user,
        "fridge": fridge,
        "solar": solar,
        "household_key": household_key,
        "fridge_key": fridge_key,
        "read_key": read_key,
        "other_key": other_key,
    }


@pytest.fixture
def client(engine):
    with TestClient(create_app()) as c:
        yield c


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def reading_count(engine) -> int:
    with session_scope(engine, read_only=True) as s:
        return s.exec(select(func.count()).select_from(Reading)).one()


def now_iso(offset_s: float = 0) -> str:
    return (utcnow() - timedelta(seconds=offset_s)).isoformat().replace("+00:00", "Z")


def test_single_reading_is_stored_and_marks_its_hour_dirty(client, engine, household):
    r = client.post(
        "/api/v1/telemetry",
        json={"device_id": "fridge", "timestamp": now_iso(5), "energy_watts": 95.5},
        headers=auth(household["household_key"]),
    )
    assert r.status_code == 201, r.text
    assert r.json() == {"accepted": 1, "duplicates": 0}
    assert reading_count(engine) == 1
    with session_scope(engine, read_only=True) as s:
        assert s.exec(select(func.count()).select_from(DirtyHour)).one() >= 1


def test_batch_with_epoch_seconds_and_power_w_alias_is_stored_whole(client, engine, household):
    base = int(utcnow().timestamp()) - 120
    body = {
        "readings": [
            {"device_id": "fridge", "timestamp": base, "energy_watts": 100},
            {"device_id": "fridge", "timestamp": base + 60, "power_w": 0.5},
            {"device_id": "solar", "timestamp": now_iso(30), "energy_watts": -2500.0},
        ]
    }
    r = client.post("/api/v1/telemetry/batch", json=body, headers=auth(household["household_key"]))
    assert r.status_code == 201, r.text
    assert r.json() == {"accepted": 3, "duplicates": 0}
    with session_scope(engine, read_only=True) as s:
        stored = s.exec(select(Reading.ts).order_by(Reading.ts)).all()
    assert stored[0] == datetime.fromtimestamp(base, UTC)


def test_resending_the_same_reading_counts_a_duplicate_and_stores_once(client, engine, household):
    body = {"device_id": "fridge", "timestamp": now_iso(10), "energy_watts": 80.0}
    first = client.post("/api/v1/telemetry", json=body, headers=auth(household["household_key"]))
    again = client.post(
        "/api/v1/telemetry",
        json={**body, "energy_watts": 999.0},
        headers=auth(household["household_key"]),
    )
    assert first.json() == {"accepted": 1, "duplicates": 0}
    assert again.status_code == 200
    assert again.json() == {"accepted": 0, "duplicates": 1}
    with session_scope(engine, read_only=True) as s:
        assert s.exec(select(Reading.power_w)).all() == [80.0]


def test_device_key_may_omit_device_id_but_not_write_another_device(client, engine, household):
    ok = client.post(
        "/api/v1/telemetry",
        json={"timestamp": now_iso(3), "energy_watts": 60},
        headers=auth(household["fridge_key"]),
    )
    assert ok.status_code == 201
    denied = client.post(
        "/api/v1/telemetry",
        json={"device_id": "solar", "timestamp": now_iso(2), "energy_watts": 60},
        headers=auth(household["fridge_key"]),
    )
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "device_not_allowed"
    assert reading_count(engine) == 1


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Basic abc", "Bearer emk_nope_nope", "Bearer not-a-key", "bearer   "],
)
def test_missing_or_bad_keys_get_the_same_401(client, engine, household, header):
    headers = {"Authorization": header} if header else {}
    r = client.post(
        "/api/v1/telemetry",
        json={"device_id": "fridge", "timestamp": now_iso(), "energy_watts": 1},
        headers=headers,
    )
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert r.json()["error"]["code"] == "unauthorized"
    assert reading_count(engine) == 0


def test_another_households_key_cannot_write_my_device(client, engine, household):
    r = client.post(
        "/api/v1/telemetry",
        json={"device_id": "fridge", "timestamp": now_iso(), "energy_watts": 1},
        headers=auth(household["other_key"]),
    )
    assert r.status_code == 404
    assert "fridge" in r.json()["error"]["message"]
    assert reading_count(engine) == 0


def test_read_key_cannot_write(client, engine, household):
    r = client.post(
        "/api/v1/telemetry",
        json={"device_id": "fridge", "timestamp": now_iso(), "energy_watts": 1},
        headers=auth(household["read_key"]),
    )
    assert r.status_code == 403
    assert reading_count(engine) == 0


@pytest.mark.parametrize(
    ("reading", "field"),
    [
        (
            {"device_id": "fridge", "timestamp": "2026-01-01T00:00:00", "energy_watts": 1},
            "timestamp",
        ),
        ({"device_id": "fridge", "timestamp": "yesterday", "energy_watts": 1}, "timestamp"),
        ({"device_id": "fridge", "energy_watts": 1}, "timestamp"),
        ({"device_id": "fridge", "timestamp": 1e15, "energy_watts": 1}, "timestamp"),
        ({"device_id": "fridge", "timestamp": "NOW", "energy_watts": "12.5"}, "energy_watts"),
        ({"device_id": "fridge", "timestamp": "NOW", "energy_watts": True}, "energy_watts"),
        ({"device_id": "fridge", "timestamp": "NOW", "energy_watts": None}, "energy_watts"),
        ({"device_id": "fridge", "timestamp": "NOW", "energy_watts": 1e9}, "energy_watts"),
        ({"device_id": "fridge", "timestamp": "NOW", "energy_watts": -5}, "energy_watts"),
        ({"device_id": "fridge", "timestamp": "NOW", "energy_watts": 5, "user_id": 2}, "user_id"),
        ({"device_id": "fridge", "timestamp": "FUTURE", "energy_watts": 5}, "timestamp"),
        ({"device_id": "fridge", "timestamp": "ANCIENT", "energy_watts": 5}, "timestamp"),
    ],
)
def test_invalid_reading_in_a_batch_rejects_the_whole_batch(
    client, engine, household, reading, field
):
    stamps = {"NOW": now_iso(1), "FUTURE": now_iso(-3600), "ANCIENT": now_iso(86400 * 40)}
    reading = {k: stamps.get(v, v) if isinstance(v, str) else v for k, v in reading.items()}
    good = {"device_id": "fridge", "timestamp": now_iso(100), "energy_watts": 10}
    r = client.post(
        "/api/v1/telemetry/batch",
        json={"readings": [good, reading]},
        headers=auth(household["household_key"]),
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert {"index": 1, "field": field} == {k: error["details"][0][k] for k in ("index", "field")}
    assert reading_count(engine) == 0


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"", "application/json", 400),
        (b'{"readings": []}', "application/json", 422),
        (b'{"readings": 5}', "application/json", 422),
        (b"device_id=fridge", "application/x-www-form-urlencoded", 415),
        (b"\xff\xfe{}", "application/json", 400),
    ],
)
def test_malformed_bodies_get_a_clear_4xx(client, engine, household, body, content_type, status):
    r = client.post(
        "/api/v1/telemetry/batch",
        content=body,
        headers={**auth(household["household_key"]), "Content-Type": content_type},
    )
    assert r.status_code == status, r.text
    assert set(r.json()["error"]) == {"code", "message", "details"}
    assert reading_count(engine) == 0


def test_body_over_the_size_limit_is_413(client, engine, household):
    big = b'{"readings": [' + b" " * 3_000_000 + b"]}"
    r = client.post(
        "/api/v1/telemetry/batch",
        content=big,
        headers={**auth(household["household_key"]), "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


def test_unknown_route_and_method_use_the_error_shape(client):
    assert client.get("/api/v1/nope").json()["error"]["code"] == "not_found"
    r = client.get("/api/v1/telemetry/batch")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"


def test_health_and_ready(client):
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/ready").json() == {"status": "ready"}

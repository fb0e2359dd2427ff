"""POST /api/v1/readings: readings written by hand-made templates with short names (device, watts,
ts), as Home Assistant's rest_command sends them (captured in tests/fixtures/real_clients/)."""

from __future__ import annotations

import pytest

from energy_core.accounts import issue_api_key
from energy_core.db import session_scope
from energy_core.models import KeyScope
from tests.api.real_clients import captured
from tests.api.support import assert_error, auth, iso, reading_count, stored_readings
from tests.factories import make_device, make_user


@pytest.fixture
def household_key(engine) -> str:
    with session_scope(engine) as s:
        user = make_user(s)
        make_device(s, user=user, device_id="sensor.plug_power")
        make_device(s, user=user, device_id="fridge")
        return issue_api_key(s, user_id=user.id, scope=KeyScope.ingest).key


def powers(engine, device_id: str) -> list[float]:
    return [power_w for d, _, power_w in stored_readings(engine) if d == device_id]


def test_home_assistant_rest_command_captures_are_stored_once(
    old_times_client, engine, household_key
):
    sent = [
        r
        for r in captured("homeassistant_2024_3_3", bearer_key=household_key)
        if r.path == "/api/v1/readings"
    ]
    assert len(sent) == 5
    replies = [r.send(old_times_client) for r in sent]
    assert [r.status_code for r in replies] == [201] * 5, replies[0].text
    assert powers(engine, "sensor.plug_power") == [614.6, 1708.0, 801.5, 1098.3, 454.3]
    again = [r.send(old_times_client) for r in sent]  # a retry stores nothing twice
    assert [r.status_code for r in again] == [200] * 5
    assert reading_count(engine) == 5


def test_a_list_is_one_batch_and_telemetry_names_work_too(client, engine, household_key):
    body = [
        {"device": "fridge", "watts": 90.5, "ts": iso(20)},
        {"device_id": "fridge", "energy_watts": 91.5, "timestamp": iso(10)},
    ]
    reply = client.post("/api/v1/readings", json=body, headers=auth(household_key))
    assert reply.status_code == 201, reply.text
    assert reply.json()["accepted"] == 2
    assert powers(engine, "fridge") == [90.5, 91.5]


def test_a_bad_reading_in_a_list_stores_nothing_and_says_which(client, engine, household_key):
    body = [
        {"device": "fridge", "watts": 90.5, "ts": iso(20)},
        {"device": "fridge", "watts": "lots", "ts": iso(10)},
    ]
    reply = client.post("/api/v1/readings", json=body, headers=auth(household_key))
    error = assert_error(reply, 422)
    assert "1" in str(error["details"]) and "energy_watts" in str(error["details"])
    assert reading_count(engine) == 0


@pytest.mark.parametrize(
    "body, status",
    [
        (b"not json", 400),
        (b"42", 422),
        (b'{"device": "fridge", "watts": 5, "device_id": "fridge", "ts": "2026-01-01"}', 422),
    ],
)
def test_bad_bodies_get_the_json_error_shape(client, engine, household_key, body, status):
    headers = {**auth(household_key), "Content-Type": "application/json"}
    reply = client.post("/api/v1/readings", content=body, headers=headers)
    assert_error(reply, status)
    assert reading_count(engine) == 0


def test_a_bad_key_is_refused(client, engine):
    reply = client.post(
        "/api/v1/readings",
        json={"device": "fridge", "watts": 1.0, "ts": iso(5)},
        headers=auth("not-a-key"),
    )
    assert_error(reply, 401)
    assert reading_count(engine) == 0

"""Object-level authorization: user A's keys against user B's devices, on every endpoint. B's
objects are answered exactly like objects that do not exist, and nothing of B's leaks into A's
listings or totals."""

from __future__ import annotations

import base64

import orjson
import pytest
from sqlmodel import select

from energy_core.db import session_scope
from energy_core.models import Device, Reading
from tests.api.support import (
    READ_PATHS,
    assert_error,
    auth,
    enable_auto_registration,
    iso,
    post_batch,
)


@pytest.fixture
def b_has_data(client, household):
    """User B's devices carry readings with a power no device of A ever shows."""
    r = post_batch(
        client,
        household.other_key,
        {"device_id": "theirs", "timestamp": iso(60), "energy_watts": 98_765.4},
        {"device_id": "their-meter", "timestamp": iso(60), "energy_watts": 98_765.4},
    )
    assert r.status_code == 201, r.text
    r = client.post(
        "/api/v1/telemetry",
        json={"device_id": "fridge", "timestamp": iso(60), "energy_watts": 10},
        headers=auth(household.household_key),
    )
    assert r.status_code == 201, r.text


def b_readings(engine, household) -> list[float]:
    with session_scope(engine, read_only=True) as s:
        return s.exec(
            select(Reading.power_w).where(Reading.user_id == household.other_user_id)
        ).all()


def same_answer_as_for_a_missing_device(theirs, missing) -> None:
    """No enumeration: B's device and a device that exists nowhere get the same answer."""
    assert theirs.status_code == missing.status_code
    a, b = theirs.json()["error"], missing.json()["error"]
    assert a["code"] == b["code"]
    assert a["message"].replace("their-meter", "X").replace("theirs", "X") == b["message"].replace(
        "no-such", "X"
    )


@pytest.mark.parametrize("path", ["/api/v1/telemetry", "/api/v1/telemetry/batch"])
def test_a_household_key_cannot_write_another_users_device(
    client, engine, household, b_has_data, path
):
    def post(device_id):
        reading = {"device_id": device_id, "timestamp": iso(5), "energy_watts": 1}
        body = {"readings": [reading]} if path.endswith("batch") else reading
        return client.post(path, json=body, headers=auth(household.household_key))

    theirs, missing = post("theirs"), post("no-such")
    assert_error(theirs, 404, "unknown_device")
    same_answer_as_for_a_missing_device(theirs, missing)
    assert b_readings(engine, household) == [98_765.4, 98_765.4]


def test_auto_registration_creates_a_device_of_the_writer_not_a_write_to_the_owner(
    client, engine, household, b_has_data
):
    enable_auto_registration(engine, household.user_id)
    r = client.post(
        "/api/v1/telemetry",
        json={"device_id": "theirs", "timestamp": iso(5), "energy_watts": 1},
        headers=auth(household.household_key),
    )
    assert r.status_code == 201
    with session_scope(engine, read_only=True) as s:
        owners = sorted(s.exec(select(Device.user_id).where(Device.device_id == "theirs")).all())
    assert owners == sorted([household.user_id, household.other_user_id])
    assert b_readings(engine, household) == [98_765.4, 98_765.4]


@pytest.mark.parametrize("path", ["/api/v1/telemetry", "/api/v1/telemetry/batch"])
def test_a_device_key_cannot_write_another_users_device(
    client, engine, household, b_has_data, path
):
    reading = {"device_id": "theirs", "timestamp": iso(5), "energy_watts": 1}
    body = {"readings": [reading]} if path.endswith("batch") else reading
    r = client.post(path, json=body, headers=auth(household.fridge_key))
    assert_error(r, 403, "device_not_allowed")
    assert b_readings(engine, household) == [98_765.4, 98_765.4]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/telemetry?device_id={}",
        "/api/v1/telemetry/aggregates/hourly?device_id={}",
        "/api/v1/telemetry/stats/{}",
    ],
)
@pytest.mark.parametrize("device", ["theirs", "their-meter"])
def test_a_read_key_gets_404_for_another_users_device(client, household, b_has_data, path, device):
    theirs = client.get(path.format(device), headers=auth(household.read_key))
    missing = client.get(path.format("no-such"), headers=auth(household.read_key))
    assert_error(theirs, 404, "not_found")
    same_answer_as_for_a_missing_device(theirs, missing)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/telemetry",
        "/api/v1/telemetry/aggregates/hourly",
        "/api/v1/telemetry/summary",
        "/api/v1/telemetry/realtime",
        "/api/v1/telemetry/devices",
    ],
)
def test_listings_and_totals_hold_nothing_of_another_user(client, household, b_has_data, path):
    r = client.get(path, headers=auth(household.read_key))
    assert r.status_code == 200, r.text
    text = r.text
    assert "theirs" not in text and "their-meter" not in text
    assert "98765.4" not in text  # B's power
    # And B's own key sees B's data, so the check above is not vacuous.
    r = client.get(path, headers=auth(household.other_read_key))
    assert "theirs" in r.text


def test_totals_count_only_this_users_devices(client, household, b_has_data):
    summary = client.get("/api/v1/telemetry/summary", headers=auth(household.read_key)).json()
    assert summary["energy_wh"] < 1  # 10 W for about a minute; B's 98.8 kW are not in it
    now = client.get("/api/v1/telemetry/realtime", headers=auth(household.read_key)).json()
    assert now["total_power_w"] == 10.0


def test_a_forged_cursor_pointing_at_another_users_device_reveals_nothing(
    client, engine, household, b_has_data
):
    with session_scope(engine, read_only=True) as s:
        their_pk = s.exec(select(Device.id).where(Device.device_id == "theirs")).one()
    forged = (
        base64.urlsafe_b64encode(orjson.dumps({"k": "readings", "d": their_pk - 1, "t": 0}))
        .decode()
        .rstrip("=")
    )
    r = client.get(f"/api/v1/telemetry?cursor={forged}", headers=auth(household.read_key))
    assert r.status_code == 200
    assert "theirs" not in r.text and "98765.4" not in r.text


@pytest.mark.parametrize("path", READ_PATHS)
def test_ingest_keys_of_either_user_cannot_read(client, household, path):
    for key in (household.household_key, household.fridge_key, household.other_key):
        assert_error(client.get(path, headers=auth(key)), 403, "wrong_scope")


@pytest.mark.parametrize("path", ["/api/v1/telemetry", "/api/v1/telemetry/batch"])
def test_read_keys_of_either_user_cannot_write(client, engine, household, path):
    reading = {"device_id": "theirs", "timestamp": iso(5), "energy_watts": 1}
    body = {"readings": [reading]} if path.endswith("batch") else reading
    for key in (household.read_key, household.other_read_key):
        assert_error(client.post(path, json=body, headers=auth(key)), 403, "wrong_scope")
    assert b_readings(engine, household) == []

"""The device contract of the ingest API (DESIGN.md section 4), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from energy_core.accounts import revoke_api_key
from energy_core.db import session_scope
from energy_core.models import ApiKey, Device, DirtyHour
from energy_core.security import key_prefix
from energy_core.types import utcnow
from tests.api.support import (
    assert_error,
    auth,
    device_count,
    dirty_count,
    enable_auto_registration,
    iso,
    post_batch,
    post_reading,
    reading_count,
    stored_readings,
)


def test_single_reading_is_stored_marks_its_hour_dirty_and_moves_last_seen(
    client, engine, household
):
    at = utcnow().replace(microsecond=123456) - timedelta(seconds=5)
    r = post_reading(
        client,
        household.household_key,
        {"device_id": "fridge", "timestamp": at.isoformat(), "energy_watts": 95.5},
    )
    assert r.status_code == 201, r.text
    assert r.json() == {"accepted": 1, "duplicates": 0}
    assert stored_readings(engine) == [("fridge", at, 95.5)]
    with session_scope(engine, read_only=True) as s:
        hours = s.exec(select(DirtyHour.hour_start)).all()
        fridge = s.exec(select(Device).where(Device.device_id == "fridge")).one()
    assert at.replace(minute=0, second=0, microsecond=0) in hours
    assert fridge.last_seen_at == at


def test_batch_with_iso_offsets_epoch_seconds_and_the_power_w_alias_is_stored_as_utc(
    client, engine, household
):
    base = int(utcnow().timestamp()) - 120
    solar_at = (utcnow() - timedelta(seconds=30)).replace(microsecond=0)
    body = {
        "readings": [
            {"device_id": "fridge", "timestamp": base, "energy_watts": 100},
            {"device_id": "fridge", "timestamp": base + 60.25, "power_w": 0.5},
            {"device_id": "solar", "timestamp": solar_at.isoformat(), "energy_watts": -2500.0},
        ]
    }
    r = client.post("/api/v1/telemetry/batch", json=body, headers=auth(household.household_key))
    assert r.status_code == 201, r.text
    assert r.json() == {"accepted": 3, "duplicates": 0}
    rows = stored_readings(engine)
    assert rows[0] == ("fridge", datetime.fromtimestamp(base, UTC), 100.0)
    assert rows[1] == ("fridge", datetime.fromtimestamp(base + 60.25, UTC), 0.5)
    assert rows[2] == ("solar", solar_at, -2500.0)
    assert all(ts.tzinfo is not None and ts.utcoffset() == timedelta(0) for _, ts, _ in rows)


def test_the_same_instant_with_another_offset_is_the_same_reading(client, engine, household):
    at = (utcnow() - timedelta(minutes=3)).replace(microsecond=0)
    in_plus_two = (at + timedelta(hours=2)).replace(tzinfo=None).isoformat() + "+02:00"
    r = post_batch(
        client,
        household.household_key,
        {"device_id": "fridge", "timestamp": at.isoformat(), "energy_watts": 1},
        {"device_id": "fridge", "timestamp": in_plus_two, "energy_watts": 2},
        {"device_id": "fridge", "timestamp": at.timestamp(), "energy_watts": 3},
    )
    assert r.json() == {"accepted": 1, "duplicates": 2}
    assert stored_readings(engine) == [("fridge", at, 1.0)]


def test_resending_the_same_reading_counts_a_duplicate_and_the_first_value_wins(
    client, engine, household
):
    body = {"device_id": "fridge", "timestamp": iso(10), "energy_watts": 80.0}
    first = post_reading(client, household.household_key, body)
    again = post_reading(client, household.household_key, {**body, "energy_watts": 999.0})
    assert (first.status_code, first.json()) == (201, {"accepted": 1, "duplicates": 0})
    assert (again.status_code, again.json()) == (200, {"accepted": 0, "duplicates": 1})
    assert [p for _, _, p in stored_readings(engine)] == [80.0]


def test_duplicates_inside_one_batch_are_stored_once_with_the_first_value(
    client, engine, household
):
    at = iso(20)
    readings = [
        {"device_id": "fridge", "timestamp": at, "energy_watts": 1.0},
        {"device_id": "heater", "timestamp": at, "energy_watts": 7.0},
        {"device_id": "fridge", "timestamp": at, "energy_watts": 2.0},
        {"device_id": "fridge", "timestamp": at, "power_w": 3.0},
    ]
    r = client.post(
        "/api/v1/telemetry/batch",
        json={"readings": readings},
        headers=auth(household.household_key),
    )
    assert r.json() == {"accepted": 2, "duplicates": 2}
    assert [(d, p) for d, _, p in stored_readings(engine)] == [("fridge", 1.0), ("heater", 7.0)]


def test_a_batch_that_repeats_part_of_an_earlier_one_stores_the_rest_once(
    client, engine, household
):
    """On PostgreSQL the second batch fails its plain insert on the repeated reading and is
    stored by the statement that skips stored readings: nothing of the failed try remains, and
    it moves the last-seen times (the newest reading is more than a minute past the stored one)."""
    at = [iso(240), iso(170), iso(100)]
    first = post_batch(
        client,
        household.household_key,
        {"device_id": "fridge", "timestamp": at[1], "energy_watts": 1.0},
    )
    again = post_batch(
        client,
        household.household_key,
        {"device_id": "fridge", "timestamp": at[0], "energy_watts": 5.0},
        {"device_id": "fridge", "timestamp": at[1], "energy_watts": 9.0},
        {"device_id": "fridge", "timestamp": at[2], "energy_watts": 6.0},
        {"device_id": "heater", "timestamp": at[1], "energy_watts": 7.0},
    )
    assert (first.status_code, first.json()) == (201, {"accepted": 1, "duplicates": 0})
    assert (again.status_code, again.json()) == (201, {"accepted": 3, "duplicates": 1})
    assert [(d, p) for d, _, p in stored_readings(engine)] == [
        ("fridge", 5.0),
        ("fridge", 1.0),
        ("fridge", 6.0),
        ("heater", 7.0),
    ]
    with session_scope(engine, read_only=True) as s:
        seen = dict(s.exec(select(Device.device_id, Device.last_seen_at)).all())
    assert seen["fridge"] == datetime.fromisoformat(at[2])
    assert seen["heater"] == datetime.fromisoformat(at[1])


def test_a_batch_of_only_known_readings_changes_nothing_but_is_answered_200(
    client, engine, household
):
    body = {"readings": [{"device_id": "fridge", "timestamp": iso(60), "energy_watts": 5}]}
    client.post("/api/v1/telemetry/batch", json=body, headers=auth(household.household_key))
    with session_scope(engine) as s:
        for mark in s.exec(select(DirtyHour)).all():
            s.delete(mark)
    r = client.post("/api/v1/telemetry/batch", json=body, headers=auth(household.household_key))
    assert (r.status_code, r.json()) == (200, {"accepted": 0, "duplicates": 1})
    assert dirty_count(engine) == 0


def test_device_key_may_omit_device_id_but_not_write_another_device(client, engine, household):
    ok = post_reading(client, household.fridge_key, {"timestamp": iso(3), "energy_watts": 60})
    assert ok.status_code == 201
    same = post_reading(
        client,
        household.fridge_key,
        {"device_id": "fridge", "timestamp": iso(2), "energy_watts": 61},
    )
    assert same.status_code == 201
    denied = post_batch(
        client,
        household.fridge_key,
        {"timestamp": iso(1), "energy_watts": 60},
        {"device_id": "solar", "timestamp": iso(1), "energy_watts": 60},
    )
    error = assert_error(denied, 403, "device_not_allowed")
    assert "solar" in error["message"]
    assert reading_count(engine) == 2


def test_household_key_must_name_the_device(client, engine, household):
    r = post_reading(client, household.household_key, {"timestamp": iso(3), "energy_watts": 60})
    error = assert_error(r, 422, "validation_error")
    assert error["details"][0]["field"] == "device_id"
    assert reading_count(engine) == 0


def test_unknown_device_is_a_404_that_names_it_and_stores_nothing(client, engine, household):
    r = post_batch(
        client,
        household.household_key,
        {"device_id": "fridge", "timestamp": iso(3), "energy_watts": 60},
        {"device_id": "garage-freezer", "timestamp": iso(3), "energy_watts": 60},
    )
    error = assert_error(r, 404, "unknown_device")
    assert "garage-freezer" in error["message"]
    assert error["details"] == [
        {"index": None, "field": "device_id", "message": "unknown device 'garage-freezer'"}
    ]
    assert reading_count(engine) == 0


def post_auto_registered(client, engine, household, *watts: tuple[str, float]):
    """A batch of ``(device id, watts)`` posted with auto-registration on: the response and the
    number of devices before it."""
    enable_auto_registration(engine, household.user_id)
    before = device_count(engine)
    readings = [{"device_id": d, "timestamp": iso(3), "energy_watts": w} for d, w in watts]
    return post_batch(client, household.household_key, *readings), before


def test_with_auto_registration_an_unknown_device_is_created_for_this_user(
    client, engine, household
):
    r, before = post_auto_registered(
        client, engine, household, ("garage-freezer", 60), ("fridge", 60)
    )
    assert r.status_code == 201, r.text
    assert device_count(engine) == before + 1
    with session_scope(engine, read_only=True) as s:
        created = s.exec(select(Device).where(Device.device_id == "garage-freezer")).one()
    assert created.user_id == household.user_id
    assert created.last_seen_at is not None
    assert reading_count(engine) == 2


def test_auto_registration_still_validates_the_batch_and_creates_nothing_on_rejection(
    client, engine, household
):
    r, before = post_auto_registered(client, engine, household, ("new-one", 60), ("fridge", -60))
    assert_error(r, 422, "validation_error")
    assert device_count(engine) == before
    assert reading_count(engine) == 0


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic abc",
        "Token emk_12345678_abc",
        "Bearer emk_nope_nope",
        "Bearer not-a-key",
        "bearer   ",
        "Bearer emk_00000000_" + "A" * 43,
    ],
)
def test_missing_malformed_or_unknown_keys_get_the_same_401(client, engine, household, header):
    headers = {"Authorization": header} if header is not None else {}
    r = client.post(
        "/api/v1/telemetry",
        json={"device_id": "fridge", "timestamp": iso(), "energy_watts": 1},
        headers=headers,
    )
    error = assert_error(r, 401, "unauthorized")
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert error["message"] == "A valid API key is required: send 'Authorization: Bearer <key>'."
    assert reading_count(engine) == 0


def test_a_revoked_key_gets_the_same_401(client, engine, household):
    with session_scope(engine) as s:
        key_id = s.exec(select(ApiKey.id).where(ApiKey.user_id == household.user_id)).first()
        revoked = s.get(ApiKey, key_id)
        revoke_api_key(s, user_id=household.user_id, key_id=revoked.id)
    keys = [household.household_key, household.fridge_key, household.read_key]
    revoked_key = next(k for k in keys if key_prefix(k) == revoked.prefix)
    r = post_reading(
        client, revoked_key, {"device_id": "fridge", "timestamp": iso(), "energy_watts": 1}
    )
    assert_error(r, 401, "unauthorized")
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_a_key_revoked_while_cached_stops_working_at_once_with_the_shared_cache(
    client, engine, household
):
    body = {"device_id": "fridge", "timestamp": iso(9), "energy_watts": 1}
    first = post_reading(client, household.household_key, body)
    assert first.status_code == 201
    with session_scope(engine) as s:
        for key in s.exec(select(ApiKey).where(ApiKey.user_id == household.user_id)).all():
            revoke_api_key(s, user_id=household.user_id, key_id=key.id)
    r = post_reading(client, household.household_key, {**body, "timestamp": iso(8)})
    assert_error(r, 401, "unauthorized")


def test_read_key_cannot_write(client, engine, household):
    r = post_reading(
        client, household.read_key, {"device_id": "fridge", "timestamp": iso(), "energy_watts": 1}
    )
    assert_error(r, 403, "wrong_scope")
    assert reading_count(engine) == 0


def test_ingest_key_cannot_read(client, household):
    assert_error(
        client.get("/api/v1/telemetry", headers=auth(household.household_key)), 403, "wrong_scope"
    )


def test_a_deactivated_device_is_refused(client, engine, household):
    with session_scope(engine) as s:
        heater = s.exec(select(Device).where(Device.device_id == "heater")).one()
        heater.is_active = False
        s.add(heater)
    r = post_reading(
        client,
        household.household_key,
        {"device_id": "heater", "timestamp": iso(), "energy_watts": 1},
    )
    error = assert_error(r, 422, "validation_error")
    assert error["details"][0]["field"] == "device_id"
    assert "deactivated" in error["details"][0]["message"]
    assert reading_count(engine) == 0


def test_a_reading_near_the_end_of_an_hour_marks_the_next_hour_dirty_too(client, engine, household):
    hour = (utcnow() - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    at = hour + timedelta(minutes=55)
    r = post_reading(
        client,
        household.household_key,
        {"device_id": "fridge", "timestamp": at.isoformat(), "energy_watts": 10},
    )
    assert r.status_code == 201
    with session_scope(engine, read_only=True) as s:
        hours = sorted(s.exec(select(DirtyHour.hour_start)).all())
    assert hours == [hour, hour + timedelta(hours=1)]


def test_unknown_route_and_method_use_the_error_shape(client):
    assert_error(client.get("/api/v1/nope"), 404, "not_found")
    r = client.get("/api/v1/telemetry/batch")
    assert_error(r, 405, "method_not_allowed")
    assert "POST" in r.headers["allow"]
    assert_error(client.delete("/api/v1/telemetry"), 405, "method_not_allowed")


def test_health_and_ready(client):
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/ready").json() == {"status": "ready"}

"""Hostile input on the read routes: control characters in a device id are the caller's mistake
(a 4xx in the error shape), never a database outage."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest

from tests.api.support import assert_error, auth

CONTROL_IDS = ["\x00", "fridge\x00", "\x1b[2J", "a\nb", "\x7f"]


@pytest.mark.parametrize("device_id", CONTROL_IDS)
@pytest.mark.parametrize(
    "path", ["/api/v1/telemetry", "/api/v1/telemetry/aggregates/hourly", "stats"]
)
def test_control_characters_in_a_device_id_are_refused_without_an_outage(
    client, household, caplog, path, device_id
):
    caplog.set_level(logging.WARNING)
    if path == "stats":
        r = client.get(
            "/api/v1/telemetry/stats/" + quote(device_id, safe=""),
            headers=auth(household.read_key),
        )
    else:
        r = client.get(path, params={"device_id": device_id}, headers=auth(household.read_key))
    error = assert_error(r, 422, "validation_error")
    assert error["details"][0]["field"] == "device_id"
    assert not [rec for rec in caplog.records if "unavailable" in rec.getMessage()]
    # The database still answers the same key afterwards.
    ok = client.get("/api/v1/telemetry", headers=auth(household.read_key))
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("name", ["start", "end"])
def test_a_control_character_in_a_time_parameter_is_refused(client, household, name):
    r = client.get(
        "/api/v1/telemetry",
        params={name: "2026-01-01T00:00:00\x00Z"},
        headers=auth(household.read_key),
    )
    error = assert_error(r, 422, "validation_error")
    assert error["details"][0]["field"] == name

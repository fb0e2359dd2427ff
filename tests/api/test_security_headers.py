"""Every answer of the API carries the browser security headers; authenticated reads are never
stored by a cache; HTTPS answers ask browsers to stay on HTTPS."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.support import auth, iso


def answers(client, household) -> dict[str, object]:
    read = auth(household.read_key)
    return {
        "health": client.get("/health"),
        "openapi": client.get("/openapi.json"),
        "readings": client.get("/api/v1/telemetry", headers=read),
        "stats": client.get("/api/v1/telemetry/stats/fridge", headers=read),
        "single": client.post(
            "/api/v1/telemetry",
            json={"device_id": "fridge", "timestamp": iso(), "power_w": 5},
            headers=auth(household.household_key),
        ),
        "batch": client.post(
            "/api/v1/telemetry/batch",
            json={"readings": [{"device_id": "fridge", "timestamp": iso(1), "power_w": 5}]},
            headers=auth(household.household_key),
        ),
        "unauthorized": client.get("/api/v1/telemetry", headers=auth("em_wrong")),
        "invalid": client.get("/api/v1/telemetry", params={"limit": 0}, headers=read),
        "no_route": client.get("/nowhere"),
    }


def test_every_answer_forbids_sniffing_framing_and_loading(client, household):
    for name, r in answers(client, household).items():
        assert r.headers["x-content-type-options"] == "nosniff", name
        assert r.headers["x-frame-options"] == "DENY", name
        assert r.headers["referrer-policy"] == "no-referrer", name
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, name
        assert "strict-transport-security" not in r.headers, name


def test_answers_to_api_keys_are_never_stored(client, household):
    for name, r in answers(client, household).items():
        if name in {"health", "openapi", "no_route"}:
            assert r.headers.get("cache-control") != "no-store", name
        else:
            assert r.headers["cache-control"] == "no-store", name


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_documentation_pages_may_load_their_scripts_but_not_be_framed(client, path):
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_https_answers_ask_browsers_to_stay_on_https(make_app, configured, household):
    with TestClient(make_app(), base_url="https://testserver") as client:
        r = client.get("/api/v1/telemetry", headers=auth(household.read_key))
    assert r.status_code == 200
    assert r.headers["strict-transport-security"].startswith("max-age=")

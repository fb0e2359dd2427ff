"""Guessing API keys is throttled per client address (429 with Retry-After) and every failure is
logged without the key; counted in Redis when configured, so replicas share the count; behind a
trusted proxy the forwarded address counts, and nobody else can choose their address by header."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from energy_core import cache as cache_module
from energy_core.settings import get_settings
from tests.api.support import assert_error, auth, iso, reading_count

LIMIT = 4
PROXY = ("10.1.2.3", 40000)


@pytest.fixture
def app_with(make_app):
    def build(**overrides):
        settings = {"auth_failure_limit": LIMIT, "auth_failure_window_s": 300, **overrides}
        return make_app(get_settings().model_copy(update=settings))

    return build


def wrong_key(i: int) -> str:
    return f"emk_{i:08x}_guessed-secret-{i}"


def read(client, key: str, **headers):
    return client.get("/api/v1/telemetry", headers={**auth(key), **headers})


def ingest(client, key: str, **headers):
    reading = {"device_id": "fridge", "timestamp": iso(30), "power_w": 7}
    return client.post("/api/v1/telemetry", json=reading, headers={**auth(key), **headers})


@pytest.mark.parametrize("route", [read, ingest], ids=["read", "ingest"])
def test_an_address_that_keeps_guessing_gets_429_with_retry_after(
    app_with, engine, household, route
):
    with TestClient(app_with()) as client:
        for i in range(LIMIT):
            assert_error(route(client, wrong_key(i)), 401, "unauthorized")
        r = route(client, wrong_key(LIMIT))
        assert_error(r, 429, "too_many_failed_authentications")
        assert int(r.headers["retry-after"]) in range(1, 301)  # whole seconds, within the window
        # Even a right key is not looked up from there until the window ends...
        assert_error(route(client, household.household_key), 429)
    assert reading_count(engine) == 0


def test_a_key_already_in_use_keeps_working_beside_a_guesser(app_with, engine, household):
    with TestClient(app_with()) as client:
        assert ingest(client, household.household_key).status_code == 201
        for i in range(LIMIT + 3):
            read(client, wrong_key(i))
        # ...but a device whose key was verified moments ago is not locked out by a neighbour.
        assert ingest(client, household.household_key).status_code in {200, 201}


def test_each_failure_is_logged_with_a_fingerprint_never_the_key(
    app_with, engine, household, caplog
):
    caplog.set_level(logging.DEBUG)
    keys = [wrong_key(i) for i in range(LIMIT)]
    with TestClient(app_with()) as client:
        for key in keys:
            read(client, key)
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == LIMIT
    assert all(r.levelno == logging.WARNING for r in refused)
    text = "\n".join(r.getMessage() for r in caplog.records)
    for key in keys:
        assert key not in text
        assert key.split("_", 2)[2] not in text  # the secret, which may hold an underscore
    assert "testclient" in refused[0].getMessage()


def test_forwarded_addresses_are_ignored_unless_the_proxy_is_trusted(app_with, engine, household):
    with TestClient(app_with(), client=PROXY) as client:
        for i in range(LIMIT):
            read(client, wrong_key(i), **{"X-Forwarded-For": f"203.0.113.{i}"})
        # A new forwarded address each time bought nothing: the peer is the one counted.
        r = read(client, wrong_key(99), **{"X-Forwarded-For": "203.0.113.200"})
        assert_error(r, 429)


def test_behind_a_trusted_proxy_each_client_address_counts_on_its_own(app_with, engine, household):
    with TestClient(app_with(trusted_proxies="10.0.0.0/8"), client=PROXY) as client:
        for i in range(LIMIT):
            read(client, wrong_key(i), **{"X-Forwarded-For": "203.0.113.7"})
        assert_error(read(client, wrong_key(9), **{"X-Forwarded-For": "203.0.113.7"}), 429)
        # Another household behind the same proxy is not punished for it.
        assert_error(read(client, wrong_key(9), **{"X-Forwarded-For": "198.51.100.4"}), 401)
        ok = read(client, household.read_key, **{"X-Forwarded-For": "198.51.100.4"})
        assert ok.status_code == 200, ok.text


def test_replicas_share_the_count_in_redis(app_with, engine, household, redis_url, monkeypatch):
    monkeypatch.setenv("ENERGY_REDIS_URL", redis_url)
    get_settings.cache_clear()
    cache_module.get_cache.cache_clear()
    assert get_settings().redis_url == redis_url
    first_app = app_with()
    # A replica of its own: another cache client, whose memory knows nothing of the first's.
    cache_module.get_cache.cache_clear()
    second_app = app_with()
    assert first_app.state.api.auth_failures.cache is not second_app.state.api.auth_failures.cache
    with TestClient(first_app) as first, TestClient(second_app) as second:
        for i in range(LIMIT // 2):
            assert_error(read(first, wrong_key(i)), 401)
        for i in range(LIMIT // 2, LIMIT):
            assert_error(read(second, wrong_key(i)), 401)
        assert_error(read(second, wrong_key(LIMIT)), 429)
        assert_error(read(first, wrong_key(LIMIT)), 429)


def test_limit_zero_turns_the_throttle_off(app_with, engine, household):
    with TestClient(app_with(auth_failure_limit=0)) as client:
        for i in range(LIMIT * 3):
            assert_error(read(client, wrong_key(i)), 401)


def test_trusted_proxies_must_be_addresses_or_networks(monkeypatch):
    monkeypatch.setenv("ENERGY_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="proxy.internal"):
        get_settings()
    get_settings.cache_clear()


def test_emoncms_keys_in_the_query_are_throttled_too(app_with, engine, household):
    with TestClient(app_with()) as client:
        for i in range(LIMIT):
            r = client.get(f'/input/post?node=1&fulljson={{"p":1}}&apikey={i:032x}')
            assert (r.status_code, r.text) == (401, "Invalid API key")
        r = client.get(f'/input/post?node=1&fulljson={{"p":1}}&apikey={LIMIT:032x}')
        assert_error(r, 429, "too_many_failed_authentications")
        assert r.headers["retry-after"]

"""Rate limits per API key: 429 with Retry-After, counted in the real Redis when configured (shared
by replicas), in process memory otherwise, and ingest keeps working when Redis is down."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pytest
from fastapi.testclient import TestClient

from energy_core import cache as cache_module
from energy_core.cache import MemoryCache, RedisCache, make_cache
from energy_core.ratelimit import RateLimiter
from energy_core.settings import get_settings
from tests.api.support import assert_error, auth, iso, reading_count

T = TypeVar("T")

DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def app_with(make_app):
    def build(**overrides):
        return make_app(get_settings().model_copy(update=overrides))

    return build


def post(client, key: str, offset_s: float = 30):
    return client.post(
        "/api/v1/telemetry",
        json={"device_id": "fridge", "timestamp": iso(offset_s), "energy_watts": 1},
        headers=auth(key),
    )


@pytest.fixture
def use_redis(monkeypatch):
    def use(url: str) -> None:
        monkeypatch.setenv("ENERGY_REDIS_URL", url)
        get_settings.cache_clear()
        cache_module.get_cache.cache_clear()

    return use


def test_a_key_over_its_limit_gets_429_with_retry_after_and_nothing_stored(
    app_with, engine, household
):
    with TestClient(app_with(rate_limit_requests=3, rate_limit_window_s=60)) as client:
        assert [post(client, household.household_key, 30 + i).status_code for i in range(3)] == [
            201,
            201,
            201,
        ]
        r = post(client, household.household_key, 40)
        error = assert_error(r, 429, "rate_limited")
        assert 0 < int(r.headers["Retry-After"]) <= 60
        assert "retry in" in error["message"]
        assert reading_count(engine) == 3
        # Limits are per key: another key of the same household is not affected.
        assert post(client, household.fridge_key, 41).status_code == 201


def test_read_keys_are_limited_too(app_with, engine, household):
    with TestClient(app_with(rate_limit_requests=2)) as client:
        for _ in range(2):
            assert (
                client.get("/api/v1/telemetry", headers=auth(household.read_key)).status_code == 200
            )
        assert_error(client.get("/api/v1/telemetry", headers=auth(household.read_key)), 429)


def test_the_window_resets(app_with, engine, household):
    with TestClient(app_with(rate_limit_requests=1, rate_limit_window_s=0.5)) as client:
        assert post(client, household.household_key, 30).status_code == 201
        assert post(client, household.household_key, 31).status_code == 429
        time.sleep(0.6)
        assert post(client, household.household_key, 32).status_code == 201


def test_zero_disables_the_limit(app_with, engine, household):
    with TestClient(app_with(rate_limit_requests=0)) as client:
        assert all(post(client, household.household_key, i).status_code == 201 for i in range(20))


def test_replicas_sharing_redis_share_the_count(app_with, engine, household, redis_url, use_redis):
    use_redis(redis_url)
    first, second = app_with(rate_limit_requests=3), app_with(rate_limit_requests=3)
    with TestClient(first) as a, TestClient(second) as b:
        assert post(a, household.household_key, 30).status_code == 201
        assert post(b, household.household_key, 31).status_code == 201
        assert post(a, household.household_key, 32).status_code == 201
        assert_error(post(b, household.household_key, 33), 429, "rate_limited")
    redis = RedisCache(redis_url).client
    keys = redis.keys("energy:rate:key:*")
    assert len(keys) == 1 and int(redis.get(keys[0])) == 4
    assert 0 < redis.pttl(keys[0]) <= 60_000


def test_with_redis_down_ingest_works_and_limits_apply_per_process(
    app_with, engine, household, use_redis
):
    use_redis(DEAD_REDIS)
    with TestClient(app_with(rate_limit_requests=2)) as client:
        assert post(client, household.household_key, 30).status_code == 201
        assert post(client, household.household_key, 31).status_code == 201
        assert_error(post(client, household.household_key, 32), 429, "rate_limited")
    assert reading_count(engine) == 2


def from_threads(work: Callable[[], T], *, threads: int, each: int) -> list[T]:
    """What ``work()`` returned when ``threads`` threads each called it ``each`` times at once."""
    results: list[T] = []
    lock = threading.Lock()

    def run() -> None:
        for _ in range(each):
            result = work()
            with lock:
                results.append(result)

    running = [threading.Thread(target=run) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    return results


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_the_counter_is_atomic_under_concurrency(backend, request):
    cache = (
        MemoryCache() if backend == "memory" else make_cache(request.getfixturevalue("redis_url"))
    )

    def count() -> int:
        hits, remaining_s = cache.count("rate:test", window_s=30)
        assert 0 < remaining_s <= 30
        return hits

    assert sorted(from_threads(count, threads=20, each=50)) == list(range(1, 1001))


def test_a_redis_that_failed_is_left_alone_for_a_while():
    cache = make_cache(DEAD_REDIS)
    started = time.monotonic()
    cache.set("k", b"v", ttl_s=30)
    assert cache.count("c", window_s=10) == (1, pytest.approx(10, abs=0.5))
    assert cache.get("k") == b"v"
    assert time.monotonic() - started < 1.0
    assert not cache.healthy()


def test_replicas_lease_from_redis_and_never_let_more_than_the_limit_through(redis_url):
    replicas = [RateLimiter(limit=50, window_s=60, cache=make_cache(redis_url)) for _ in range(3)]
    allowed = [replicas[i % 3].hit(key_id=7).allowed for i in range(300)]
    assert sum(allowed) == 50
    assert not any(allowed[-100:])
    # One Redis call counted a lease of requests, not one request.
    busy = RateLimiter(limit=6_400, window_s=60, cache=make_cache(redis_url))
    assert all(busy.hit(key_id=8).allowed for _ in range(10))
    assert int(RedisCache(redis_url).client.get("energy:rate:key:8")) == 64


def test_leases_are_counted_once_under_concurrency(redis_url):
    limiter = RateLimiter(limit=1_000, window_s=60, cache=make_cache(redis_url))
    allowed = from_threads(lambda: limiter.hit(key_id=9).allowed, threads=15, each=100)
    assert sum(allowed) == 1_000

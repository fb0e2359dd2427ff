"""The shared cache: real Redis when configured, process memory when not or when Redis is down."""

from __future__ import annotations

import asyncio
import time

import pytest

from energy_core.accounts import CachedKeyVerifier, revoke_api_key
from energy_core.cache import MemoryCache, RedisCache, get_cache, make_cache
from energy_core.db import session_scope
from tests.factories import make_key, make_user

DEAD_REDIS = "redis://127.0.0.1:1/0"


def test_without_redis_url_the_cache_lives_in_process_memory():
    cache = make_cache(None)
    assert isinstance(cache, MemoryCache)
    cache.set("a", b"1", ttl_s=60)
    assert cache.get("a") == b"1"


def test_values_expire_after_their_ttl():
    cache = MemoryCache()
    cache.set("a", b"1", ttl_s=0.05)
    time.sleep(0.1)
    assert cache.get("a") is None


def test_redis_cache_stores_values_in_redis(redis_url):
    cache = make_cache(redis_url)
    assert isinstance(cache, RedisCache) and cache.healthy()
    cache.set("k", b"v", ttl_s=30)
    assert cache.get("k") == b"v"
    assert cache.client.ttl("energy:k") > 0
    cache.delete("k")
    assert cache.get("k") is None


def test_redis_down_falls_back_to_memory_without_failing():
    cache = make_cache(DEAD_REDIS)
    assert not cache.healthy()
    cache.set("k", b"v", ttl_s=30)
    assert cache.get("k") == b"v"
    cache.delete("k")
    assert cache.get("k") is None


@pytest.mark.parametrize("backend", ["memory", "redis", "dead redis"])
def test_the_event_loop_api_sees_what_the_blocking_one_sees(backend, request):
    url = {"memory": None, "dead redis": DEAD_REDIS}.get(backend) or request.getfixturevalue(
        "redis_url"
    )
    cache = make_cache(url)
    name = f"loop-{time.monotonic_ns()}"
    cache.set(name, b"v", ttl_s=30)

    async def on_a_loop() -> tuple:
        counts = [await cache.acount(name + ":n", window_s=30) for _ in range(3)]
        return await cache.aget(name), await cache.aget(name + ":missing"), counts

    value, missing, counts = asyncio.run(on_a_loop())
    assert (value, missing) == (b"v", None)
    assert [hits for hits, _ in counts] == [1, 2, 3]
    assert all(0 < left <= 30 for _, left in counts)
    # The blocking API counts on in the same window: both reach the same store.
    assert cache.count(name + ":n", window_s=30)[0] == 4
    # A second event loop (a test client may run several in turn) works as well.
    assert asyncio.run(cache.aget(name)) == b"v"


def test_key_verifier_caches_in_redis_and_a_revoked_key_stops_working_within_the_ttl(
    engine, redis_url, monkeypatch
):
    monkeypatch.setenv("ENERGY_REDIS_URL", redis_url)
    from energy_core.settings import get_settings

    get_settings.cache_clear()
    get_cache.cache_clear()
    ttl_s = 0.5
    with session_scope(engine) as s:
        user = make_user(s)
        issued = make_key(s, user=user)
        spare = make_key(s, user=user)
    verifier = CachedKeyVerifier(ttl_s=ttl_s, cache=get_cache())
    principal = verifier.verify(lambda: session_scope(engine), issued.key)
    assert principal is not None and principal.user_id == user.id
    assert any(k.startswith(b"energy:apikey:") for k in get_cache().client.keys("energy:*"))
    # A second verifier (another API replica) sees the cached principal, and keeps it in its own
    # memory for as long as Redis keeps it.
    other = CachedKeyVerifier(ttl_s=ttl_s, cache=make_cache(redis_url))
    assert other.verify(lambda: session_scope(engine), issued.key) == principal
    for key in (issued, spare):
        verifier.verify(lambda: session_scope(engine), key.key)
        with session_scope(engine) as s:
            revoke_api_key(s, user_id=user.id, key_id=key.id)
    # The process that revoked forgets the key at once; a replica that never held it in memory
    # asks Redis, which forgot it too; the replica that held it stops within the ttl.
    assert verifier.verify(lambda: session_scope(engine), issued.key) is None
    assert other.verify(lambda: session_scope(engine), spare.key) is None
    time.sleep(ttl_s)
    assert other.verify(lambda: session_scope(engine), issued.key) is None


def test_a_value_read_near_lives_no_longer_than_in_redis(redis_url):
    cache, other = make_cache(redis_url), make_cache(redis_url)
    cache.set("k", b"v", ttl_s=0.3)
    assert other.get_near("k") == b"v"
    cache.client.set("energy:k", b"changed", keepttl=True)
    assert other.get_near("k") == b"v"  # from this process's memory, no Redis call
    assert asyncio.run(other.aget_near("k")) == b"v"
    time.sleep(0.35)
    assert other.get_near("k") is None and asyncio.run(other.aget_near("k")) is None


def test_a_keys_last_use_is_recorded_at_first_use_and_then_once_a_minute_at_most(engine):
    from datetime import timedelta

    from energy_core.accounts import touch_api_key
    from energy_core.accounts.keys import LAST_USED_STEP
    from energy_core.models import ApiKey
    from energy_core.types import utcnow

    with session_scope(engine) as s:
        user = make_user(s)
        issued = make_key(s, user=user)
    key_id = issued.id

    def last_used():  # noqa: ANN202
        with session_scope(engine, read_only=True, system=True) as s:
            return s.get(ApiKey, key_id).last_used_at

    assert last_used() is None
    verifier = CachedKeyVerifier(ttl_s=0, cache=MemoryCache())  # every check asks the database
    assert verifier.verify(lambda: session_scope(engine), issued.key) is not None
    first = last_used()
    assert first is not None and abs(utcnow() - first) < timedelta(seconds=30)
    # Used again within the step: the recorded time stays.
    for seconds in (1, 30, 59):
        with session_scope(engine) as s:
            touch_api_key(s, key_id=key_id, at=first + timedelta(seconds=seconds))
        assert last_used() == first
    # A step later it moves on.
    with session_scope(engine) as s:
        touch_api_key(s, key_id=key_id, at=first + LAST_USED_STEP)
    assert last_used() == first + LAST_USED_STEP

"""The Redis store of ``energy_core.cache``: shared by every process and replica, with a
memory fallback for every call that fails on Redis (see that module for the whole story)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import redis
import redis.asyncio
from redis.commands.core import AsyncScript

from energy_core.cache import NAMESPACE, MemoryCache

log = logging.getLogger(__name__)

# Seconds Redis is not asked again after it failed.
REDIS_RETRY_S = 5.0
# Connections of the asyncio client of one process.
ASYNC_CONNECTIONS = 16

# One round trip, atomic across every replica: count the hits (ARGV[2] of them) and start the
# window with the first.
_COUNT_SCRIPT = """
local hits = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {hits, ttl}
"""


def _count_call(key: str, window_s: float, hits: int) -> dict[str, list]:
    """The count script's keys and arguments, for the sync and the asyncio client alike."""
    return {"keys": [NAMESPACE + key], "args": [max(1, int(window_s * 1000)), hits]}


def _counted(reply: list) -> tuple[int, float]:
    """The count script's reply: the hits counted so far and the seconds until the window
    resets."""
    counted, ttl_ms = reply
    return int(counted), int(ttl_ms) / 1000.0


# A value and how long Redis keeps it, in one round trip.
_GET_SCRIPT = """
local value = redis.call('GET', KEYS[1])
if not value then
    return {false, 0}
end
return {value, redis.call('PTTL', KEYS[1])}
"""


@dataclass(frozen=True)
class _AsyncRedis:
    """The asyncio client of one event loop, its scripts, and the slots calls wait for."""

    loop: asyncio.AbstractEventLoop
    client: redis.asyncio.Redis
    count_script: AsyncScript
    get_script: AsyncScript
    slots: asyncio.Semaphore


class RedisCache:
    """Redis with a memory fallback: every call that fails on Redis is served from memory."""

    backend = "redis"

    def __init__(self, url: str):
        self.url = url
        self.client = redis.Redis.from_url(
            url, socket_connect_timeout=0.5, socket_timeout=0.5, health_check_interval=30
        )
        self.fallback = MemoryCache()
        # Copies of values read with get_near, each kept until its Redis expiry.
        self.near = MemoryCache()
        self._last_warning = 0.0
        self._down_until = 0.0
        # Calls that failed on Redis (and were served from memory), for the API's metrics.
        self.errors = 0
        self._count_script = self.client.register_script(_COUNT_SCRIPT)
        self._get_script = self.client.register_script(_GET_SCRIPT)
        # The asyncio client of the event loop that last used one (a server has one loop).
        self._async: _AsyncRedis | None = None

    def _up(self) -> bool:
        return time.monotonic() >= self._down_until

    @property
    def up(self) -> bool:
        """False while calls go to memory after a failure (for REDIS_RETRY_S)."""
        return self._up()

    def _warn(self, exc: Exception) -> None:
        self.errors += 1
        now = time.monotonic()
        self._down_until = now + REDIS_RETRY_S
        if now - self._last_warning > 60:
            self._last_warning = now
            log.warning(
                "Redis unavailable (%s); serving from process memory", exc.__class__.__name__
            )

    def get(self, key: str) -> bytes | None:
        if self._up():
            try:
                return self.client.get(NAMESPACE + key)
            except redis.RedisError as exc:
                self._warn(exc)
        return self.fallback.get(key)

    def set(self, key: str, value: bytes, *, ttl_s: float) -> None:
        if self._up():
            try:
                self.client.set(NAMESPACE + key, value, px=max(1, int(ttl_s * 1000)))
                return
            except redis.RedisError as exc:
                self._warn(exc)
        self.fallback.set(key, value, ttl_s=ttl_s)

    def get_near(self, key: str) -> bytes | None:
        """``get``, served from process memory while the value is there and Redis still keeps it."""
        value = self.near.get(key)
        if value is None and self._up():
            try:
                value, ttl_ms = self._get_script(keys=[NAMESPACE + key])
            except redis.RedisError as exc:
                self._warn(exc)
            else:
                return self._keep_near(key, value, ttl_ms)
        return value if value is not None else self.fallback.get(key)

    async def aget_near(self, key: str) -> bytes | None:
        """``get_near`` for a caller on an event loop."""
        value = self.near.get(key)
        if value is None and self._up():
            try:
                client = self._async_client()
                async with client.slots:
                    value, ttl_ms = await client.get_script(keys=[NAMESPACE + key])
            except redis.RedisError as exc:
                self._warn(exc)
            else:
                return self._keep_near(key, value, ttl_ms)
        return value if value is not None else self.fallback.get(key)

    def _keep_near(self, key: str, value: bytes | None, ttl_ms: int) -> bytes | None:
        if value is not None and ttl_ms > 0:
            self.near.set(key, value, ttl_s=ttl_ms / 1000.0)
        return value

    def delete(self, key: str) -> None:
        self.fallback.delete(key)
        self.near.delete(key)
        try:
            # Even while Redis counts as down: a revoked key must leave the shared cache.
            self.client.delete(NAMESPACE + key)
        except redis.RedisError as exc:
            self._warn(exc)

    def count(self, key: str, *, window_s: float, hits: int = 1) -> tuple[int, float]:
        """``MemoryCache.count`` shared by every process that uses this Redis."""
        if self._up():
            try:
                return _counted(self._count_script(**_count_call(key, window_s, hits)))
            except redis.RedisError as exc:
                self._warn(exc)
        return self.fallback.count(key, window_s=window_s, hits=hits)

    def _async_client(self) -> _AsyncRedis:
        loop = asyncio.get_running_loop()
        if self._async is None or self._async.loop is not loop:
            client = redis.asyncio.Redis.from_url(
                self.url, socket_connect_timeout=0.5, socket_timeout=0.5, health_check_interval=30
            )
            self._async = _AsyncRedis(
                loop,
                client,
                client.register_script(_COUNT_SCRIPT),
                client.register_script(_GET_SCRIPT),
                # The pool opens a connection per call in flight (and fails past its limit, which
                # would count as Redis being down): calls wait for one of a few slots instead.
                asyncio.Semaphore(ASYNC_CONNECTIONS),
            )
        return self._async

    async def aget(self, key: str) -> bytes | None:
        """``get`` for a caller on an event loop: it waits for Redis without blocking the loop."""
        if self._up():
            try:
                client = self._async_client()
                async with client.slots:
                    return await client.client.get(NAMESPACE + key)
            except redis.RedisError as exc:
                self._warn(exc)
        return self.fallback.get(key)

    async def acount(self, key: str, *, window_s: float, hits: int = 1) -> tuple[int, float]:
        """``count`` for a caller on an event loop."""
        if self._up():
            try:
                client = self._async_client()
                async with client.slots:
                    reply = await client.count_script(**_count_call(key, window_s, hits))
                return _counted(reply)
            except redis.RedisError as exc:
                self._warn(exc)
        return self.fallback.count(key, window_s=window_s, hits=hits)

    def healthy(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False


__all__ = ["RedisCache"]

"""Short-lived shared state: Redis when ``ENERGY_REDIS_URL`` is set, process memory otherwise.

Redis is never required. When it is unset, or stops answering, the in-process store serves and the
caller does not notice beyond a warning in the log (at most once a minute).
"""

from __future__ import annotations

import logging
import threading
import time
from functools import lru_cache

import redis

from energy_core.settings import get_settings

log = logging.getLogger(__name__)

NAMESPACE = "energy:"


class MemoryCache:
    """A bounded dict with expiry; thread-safe. The fallback, and the store without Redis."""

    backend = "memory"

    def __init__(self, max_entries: int = 50_000):
        self.max_entries = max_entries
        self._data: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is None:
                return None
            if hit[0] <= time.monotonic():
                del self._data[key]
                return None
            return hit[1]

    def set(self, key: str, value: bytes, *, ttl_s: float) -> None:
        with self._lock:
            if len(self._data) >= self.max_entries:
                self._evict_expired()
                if len(self._data) >= self.max_entries:
                    self._data.clear()
            self._data[key] = (time.monotonic() + ttl_s, value)

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def healthy(self) -> bool:
        return True

    def _evict_expired(self) -> None:
        now = time.monotonic()
        for key in [k for k, (expires, _) in self._data.items() if expires <= now]:
            del self._data[key]


class RedisCache:
    """Redis with a memory fallback: every call that fails on Redis is served from memory."""

    backend = "redis"

    def __init__(self, url: str):
        self.url = url
        self.client = redis.Redis.from_url(
            url, socket_connect_timeout=0.5, socket_timeout=0.5, health_check_interval=30
        )
        self.fallback = MemoryCache()
        self._last_warning = 0.0

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_warning > 60:
            self._last_warning = now
            log.warning(
                "Redis unavailable (%s); serving from process memory", exc.__class__.__name__
            )

    def get(self, key: str) -> bytes | None:
        try:
            return self.client.get(NAMESPACE + key)
        except redis.RedisError as exc:
            self._warn(exc)
            return self.fallback.get(key)

    def set(self, key: str, value: bytes, *, ttl_s: float) -> None:
        try:
            self.client.set(NAMESPACE + key, value, px=max(1, int(ttl_s * 1000)))
        except redis.RedisError as exc:
            self._warn(exc)
            self.fallback.set(key, value, ttl_s=ttl_s)

    def delete(self, key: str) -> None:
        self.fallback.delete(key)
        try:
            self.client.delete(NAMESPACE + key)
        except redis.RedisError as exc:
            self._warn(exc)

    def healthy(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False


Cache = MemoryCache | RedisCache


def make_cache(redis_url: str | None) -> Cache:
    return RedisCache(redis_url) if redis_url else MemoryCache()


@lru_cache
def get_cache() -> Cache:
    return make_cache(get_settings().redis_url)

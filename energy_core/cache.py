"""Short-lived shared state: Redis when ``ENERGY_REDIS_URL`` is set, process memory otherwise.

Redis is never required. When it is unset, or stops answering, the in-process store serves and the
caller does not notice beyond a warning in the log (at most once a minute). After a failure Redis is
left alone for a few seconds, so that a Redis that hangs costs one timeout, not one per call.

Values read with ``get_near`` are also kept in process memory for as long as Redis keeps them
(until their Redis expiry, at most): a busy caller asks Redis once per entry lifetime instead of
once per use, and a deletion still reaches every process by the time the entry would have expired.
"""

from __future__ import annotations

import threading
import time
from functools import lru_cache
from typing import TYPE_CHECKING, TypeAlias

from energy_core.settings import get_settings

if TYPE_CHECKING:
    from energy_core.redis_cache import RedisCache


NAMESPACE = "energy:"


class MemoryCache:
    """A bounded dict with expiry; thread-safe. The fallback, and the store without Redis."""

    backend = "memory"

    def __init__(self, max_entries: int = 50_000):
        self.max_entries = max_entries
        self._data: dict[str, tuple[float, bytes]] = {}
        self._counters: dict[str, tuple[float, int]] = {}
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

    def count(self, key: str, *, window_s: float, hits: int = 1) -> tuple[int, float]:
        """Count ``hits`` on ``key`` in a fixed window of ``window_s`` that starts with the first
        hit; return the hits so far in the window and the seconds until it ends."""
        now = time.monotonic()
        with self._lock:
            ends, counted = self._counters.get(key, (0.0, 0))
            if ends <= now:
                if len(self._counters) >= self.max_entries:
                    self._counters = {k: v for k, v in self._counters.items() if v[0] > now}
                ends, counted = now + window_s, 0
            counted += hits
            self._counters[key] = (ends, counted)
            # ``now + window_s - now`` can round to a hair over the window.
            return counted, min(ends - now, window_s)

    async def aget(self, key: str) -> bytes | None:
        """``get`` for a caller on an event loop (memory never blocks)."""
        return self.get(key)

    # Process memory is as near as it gets.
    get_near = get
    aget_near = aget

    async def acount(self, key: str, *, window_s: float, hits: int = 1) -> tuple[int, float]:
        """``count`` for a caller on an event loop (memory never blocks)."""
        return self.count(key, window_s=window_s, hits=hits)

    def healthy(self) -> bool:
        return True

    def _evict_expired(self) -> None:
        now = time.monotonic()
        for key in [k for k, (expires, _) in self._data.items() if expires <= now]:
            del self._data[key]


# Either store. The Redis one lives in energy_core.redis_cache, imported only when Redis is
# configured: the client library costs every command (`energy-monitor ask` too) a tenth of a second.
Cache: TypeAlias = "MemoryCache | RedisCache"


def make_cache(redis_url: str | None) -> Cache:
    if not redis_url:
        return MemoryCache()
    from energy_core.redis_cache import RedisCache

    return RedisCache(redis_url)


@lru_cache
def get_cache() -> Cache:
    return make_cache(get_settings().redis_url)


def __getattr__(name: str) -> object:
    if name == "RedisCache":
        from energy_core.redis_cache import RedisCache

        return RedisCache
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Request rate limits per API key, and failed authentications per client address: fixed windows
counted in the shared cache.

With Redis configured every replica of the API counts into the same window; without it (or while
Redis is down) each process counts on its own, which lets a key through a little more often but
never stops ingest.

A process counts into Redis ahead of time: it takes a few requests' worth of the window at once (a
lease) and spends them locally, so a busy key costs one Redis call per lease instead of one per
request. A lease is a share of what is left of the key's limit (a sixteenth, at most 64 requests),
so leases shrink to one request as the limit comes near and the limit is never exceeded across
replicas; requests another replica has leased but not used yet may be refused a little early.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from energy_core.cache import Cache

# A lease is at most this many requests, and at most this share of what is left of the limit.
MAX_LEASE = 64
LEASE_SHARE = 16
# Leases remembered at most; expired ones are dropped when there are more.
MAX_KEYS = 10_000


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_s: int


UNLIMITED = RateDecision(allowed=True, limit=0, remaining=0, retry_after_s=0)


@dataclass
class _Lease:
    """Requests of one key this process may still let through in the current window."""

    left: int = 0
    counted: int = 0  # the key's count in the shared window when the lease was taken
    ends_at: float = 0.0  # time.monotonic() at which the window ends


class RateLimiter:
    """At most ``limit`` requests per key in each window of ``window_s`` seconds; 0 = no limit."""

    def __init__(self, *, limit: int, window_s: float, cache: Cache):
        self.limit = limit
        self.window_s = window_s
        self.cache = cache
        # Only a shared count is worth leasing: process memory is as cheap to count as a lease.
        self._leasing = cache.backend == "redis"
        self._leases: dict[int, _Lease] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def _before_counting(self, key_id: int) -> RateDecision | int:
        """The decision when no shared count is needed (no limit, or a lease still has room),
        else how many hits to count at once (the lease to take)."""
        if not self.enabled:
            return UNLIMITED
        decision = self._from_lease(key_id)
        return decision if decision is not None else self._lease_size(key_id)

    def hit(self, *, key_id: int) -> RateDecision:
        """Count one request of API key ``key_id`` and say whether it may go ahead."""
        size = self._before_counting(key_id)
        if isinstance(size, RateDecision):
            return size
        counted = self.cache.count(f"rate:key:{key_id}", window_s=self.window_s, hits=size)
        return self._decide(key_id, size, *counted)

    async def ahit(self, *, key_id: int) -> RateDecision:
        """``hit`` for a caller on an event loop: it never blocks the loop."""
        size = self._before_counting(key_id)
        if isinstance(size, RateDecision):
            return size
        counted = await self.cache.acount(f"rate:key:{key_id}", window_s=self.window_s, hits=size)
        return self._decide(key_id, size, *counted)

    def _from_lease(self, key_id: int) -> RateDecision | None:
        """An allowed request taken from this process's lease of the window, if it has one."""
        if not self._leasing:
            return None
        with self._lock:
            lease = self._leases.get(key_id)
            now = time.monotonic()
            if lease is None or lease.left <= 0 or lease.ends_at <= now:
                return None
            lease.left -= 1
            return RateDecision(
                allowed=True,
                limit=self.limit,
                remaining=max(0, self.limit - lease.counted),
                retry_after_s=max(1, math.ceil(lease.ends_at - now)),
            )

    def _lease_size(self, key_id: int) -> int:
        if not self._leasing:
            return 1
        with self._lock:
            lease = self._leases.get(key_id)
            counted = lease.counted if lease and lease.ends_at > time.monotonic() else 0
        return max(1, min(MAX_LEASE, (self.limit - counted) // LEASE_SHARE))

    def _decide(self, key_id: int, size: int, counted: int, resets_in_s: float) -> RateDecision:
        """The decision for the first of ``size`` requests counted up to ``counted``; the ones
        within the limit after it become this process's lease."""
        granted = min(size, self.limit - (counted - size))
        if self._leasing:
            with self._lock:
                now = time.monotonic()
                if len(self._leases) > MAX_KEYS:
                    self._leases = {k: v for k, v in self._leases.items() if v.ends_at > now}
                lease = self._leases.get(key_id)
                # Another thread may have taken a lease meanwhile: what is left of it stays.
                kept = lease.left if lease is not None and lease.ends_at > now else 0
                self._leases[key_id] = _Lease(
                    left=kept + max(0, granted - 1),
                    counted=max(counted, lease.counted if kept else 0),
                    ends_at=now + resets_in_s,
                )
        return RateDecision(
            allowed=granted > 0,
            limit=self.limit,
            remaining=max(0, self.limit - counted),
            retry_after_s=max(1, math.ceil(resets_in_s)),
        )


class FailedAuthThrottle:
    """At most ``limit`` failed authentications per client address in each window of
    ``window_s`` seconds; past that, the address is refused without a key lookup until the window
    ends. 0 = no limit. Counted in the shared cache, so with Redis every replica sees the same
    count (without it, each process counts its own).

    Only failures are counted: a device that knows its key is never slowed by a neighbour behind
    the same address who does not.
    """

    def __init__(self, *, limit: int, window_s: float, cache: Cache):
        self.limit = limit
        self.window_s = window_s
        self.cache = cache

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def _name(self, address: str) -> str:
        return f"authfail:{address}"

    def check(self, address: str) -> RateDecision:
        """Whether ``address`` may try a key now (counts nothing)."""
        if not self.enabled:
            return UNLIMITED
        counted, resets_in_s = self.cache.count(self._name(address), window_s=self.window_s, hits=0)
        return self._decision(counted, resets_in_s)

    def failed(self, address: str) -> RateDecision:
        """Count one failed authentication of ``address``; the decision for its next try."""
        if not self.enabled:
            return UNLIMITED
        counted, resets_in_s = self.cache.count(self._name(address), window_s=self.window_s)
        return self._decision(counted, resets_in_s)

    def _decision(self, counted: int, resets_in_s: float) -> RateDecision:
        return RateDecision(
            allowed=counted < self.limit,
            limit=self.limit,
            remaining=max(0, self.limit - counted),
            retry_after_s=max(1, math.ceil(resets_in_s)),
        )

"""Request rate limits per API key: a fixed window counted in the shared cache.

With Redis configured every replica of the API counts into the same window; without it (or while
Redis is down) each process counts on its own, which lets a key through a little more often but
never stops ingest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from energy_core.cache import Cache


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_s: int


UNLIMITED = RateDecision(allowed=True, limit=0, remaining=0, retry_after_s=0)


class RateLimiter:
    """At most ``limit`` requests per key in each window of ``window_s`` seconds; 0 = no limit."""

    def __init__(self, *, limit: int, window_s: float, cache: Cache):
        self.limit = limit
        self.window_s = window_s
        self.cache = cache

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def hit(self, *, key_id: int) -> RateDecision:
        """Count one request of API key ``key_id`` and say whether it may go ahead."""
        if not self.enabled:
            return UNLIMITED
        return self._decide(*self.cache.count(f"rate:key:{key_id}", window_s=self.window_s))

    async def ahit(self, *, key_id: int) -> RateDecision:
        """``hit`` for a caller on an event loop: it never blocks the loop."""
        if not self.enabled:
            return UNLIMITED
        return self._decide(*await self.cache.acount(f"rate:key:{key_id}", window_s=self.window_s))

    def _decide(self, hits: int, resets_in_s: float) -> RateDecision:
        return RateDecision(
            allowed=hits <= self.limit,
            limit=self.limit,
            remaining=max(0, self.limit - hits),
            retry_after_s=max(1, math.ceil(resets_in_s)),
        )

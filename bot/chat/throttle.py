"""A per-person token bucket: a burst of clicks is fine, a flood is refused before it reaches the database.

One bucket per (platform, workspace, user), refilled continuously; the oldest idle buckets are dropped so the
table stays bounded however many people click.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

__all__ = ["Throttle"]


class Throttle:
    def __init__(self, burst: float = 30, per_second: float = 5, *, limit: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.burst, self.per_second, self.limit, self.clock = burst, per_second, limit, clock
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()  # key → (tokens, when)

    def allow(self, key: Hashable) -> bool:
        """Take one token for `key`; False when its bucket is empty (nothing else changes)."""
        now = self.clock()
        tokens, when = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - when) * self.per_second)
        allowed = tokens >= 1
        self._buckets[key] = (tokens - 1 if allowed else tokens, now)
        if len(self._buckets) > self.limit:
            self._buckets.popitem(last=False)
        return allowed

"""Per-person rate limits: a token bucket each, with the clock injected. Pure bookkeeping."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from jobs.clock import Clock


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: datetime
    warned: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    warn: bool = False  # first refusal in a burst: tell the person once, then stay quiet
    retry_after: float = 0.0


class RateLimiter:
    """`burst` messages at once, refilled at `per_minute`; remembers at most `max_people`."""

    def __init__(
        self, *, clock: Clock, per_minute: float = 6, burst: int = 10, max_people: int = 10_000
    ) -> None:
        self._clock = clock
        self._rate = per_minute / 60
        self._burst = burst
        self._max = max_people
        self._buckets: OrderedDict[int, _Bucket] = OrderedDict()

    def check(self, person_id: int) -> Verdict:
        now = self._clock()
        bucket = self._buckets.pop(person_id, None) or _Bucket(float(self._burst), now)
        elapsed = max(0.0, (now - bucket.updated).total_seconds())
        bucket.tokens = min(float(self._burst), bucket.tokens + elapsed * self._rate)
        bucket.updated = now
        self._buckets[person_id] = bucket
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return Verdict(allowed=True)
        warn = not bucket.warned
        bucket.warned = True
        return Verdict(allowed=False, warn=warn, retry_after=(1 - bucket.tokens) / self._rate)

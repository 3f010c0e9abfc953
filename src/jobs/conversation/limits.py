"""Rate limits: a token bucket per person and one shared by everyone else (the owner is never
limited), with the clock injected. Pure bookkeeping."""

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

    def refill(self, now: datetime, rate: float, burst: int) -> None:
        elapsed = max(0.0, (now - self.updated).total_seconds())
        self.tokens = min(float(burst), self.tokens + elapsed * rate)
        self.updated = now


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    warn: bool = False  # first refusal in a burst: tell the person once, then stay quiet
    retry_after: float = 0.0
    busy: bool = False
    """Refused by the global budget (everyone together sends too much), not the person's own."""


class RateLimiter:
    """`burst` messages at once per person, refilled at `per_minute`; remembers at most
    `max_people`. All people together get `global_burst` at once, refilled at
    `global_per_minute`: a crowd of strangers cannot start more turns than that, however many
    they are. A message refused by the global budget does not use the person's own."""

    def __init__(
        self,
        *,
        clock: Clock,
        per_minute: float = 6,
        burst: int = 10,
        max_people: int = 10_000,
        global_per_minute: float = 30,
        global_burst: int = 20,
    ) -> None:
        self._clock = clock
        self._rate = per_minute / 60
        self._burst = burst
        self._max = max_people
        self._buckets: OrderedDict[int, _Bucket] = OrderedDict()
        self._global_rate = global_per_minute / 60
        self._global_burst = global_burst
        self._global = _Bucket(float(global_burst), clock())

    def check(self, person_id: int) -> Verdict:
        now = self._clock()
        bucket = self._buckets.pop(person_id, None) or _Bucket(float(self._burst), now)
        bucket.refill(now, self._rate, self._burst)
        self._buckets[person_id] = bucket
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        if bucket.tokens < 1:
            return self._refuse(bucket, (1 - bucket.tokens) / self._rate)
        self._global.refill(now, self._global_rate, self._global_burst)
        if self._global.tokens < 1:
            wait = (1 - self._global.tokens) / self._global_rate
            return self._refuse(bucket, wait, busy=True)
        bucket.tokens -= 1
        self._global.tokens -= 1
        bucket.warned = False
        return Verdict(allowed=True)

    def muted(self, person_id: int) -> bool:
        """True when `check` would refuse this person again without telling them (they were
        told already): the caller may drop the message without any other work."""
        bucket = self._buckets.get(person_id)
        if bucket is None or not bucket.warned:
            return False
        now = self._clock()
        bucket.refill(now, self._rate, self._burst)
        self._global.refill(now, self._global_rate, self._global_burst)
        return bucket.tokens < 1 or self._global.tokens < 1

    @staticmethod
    def _refuse(bucket: _Bucket, retry_after: float, *, busy: bool = False) -> Verdict:
        warn = not bucket.warned
        bucket.warned = True
        return Verdict(allowed=False, warn=warn, retry_after=retry_after, busy=busy)

"""RateLimiter: a bucket per person and one for everyone, on an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobs.conversation.limits import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_per_person_burst_then_refill_and_one_warning() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock, per_minute=6, burst=3, global_burst=100)
    assert [limiter.check(1).allowed for _ in range(3)] == [True] * 3
    first, second = limiter.check(1), limiter.check(1)
    assert (first.allowed, first.warn, first.busy) == (False, True, False)
    assert (second.allowed, second.warn) == (False, False)
    assert limiter.check(2).allowed  # others are not affected
    clock.now += timedelta(seconds=10)  # 6/min: one message back
    assert limiter.check(1).allowed and not limiter.check(1).allowed


def test_global_budget_holds_for_a_crowd_and_keeps_their_own() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock, burst=10, global_per_minute=30, global_burst=5)
    allowed = [p for p in range(50) for _ in range(3) if limiter.check(p).allowed]
    assert len(allowed) == 5
    refused = limiter.check(99)
    assert (refused.allowed, refused.busy, refused.warn) == (False, True, True)
    assert 0 < refused.retry_after <= 2
    clock.now += timedelta(seconds=2)  # 30/min: one turn back; person 49 still has its own
    assert limiter.check(49).allowed and not limiter.check(48).allowed


def test_remembers_at_most_max_people() -> None:
    limiter = RateLimiter(clock=Clock(), burst=1, max_people=10, global_burst=10**6)
    for person in range(1000):
        assert limiter.check(person).allowed
    assert len(limiter._buckets) == 10
    assert limiter.check(0).allowed  # forgotten, so a fresh bucket


def test_muted_once_told_until_a_token_is_back() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock, per_minute=6, burst=1, global_burst=100)
    assert not limiter.muted(1)  # never seen
    assert limiter.check(1).allowed and not limiter.muted(1)
    assert limiter.check(1).warn and limiter.muted(1)  # told once: now muted
    clock.now += timedelta(seconds=10)
    assert not limiter.muted(1) and limiter.check(1).allowed

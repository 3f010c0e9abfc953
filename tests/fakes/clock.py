"""FakeClock: a `jobs.clock.Clock` that only moves when a test moves it."""

from __future__ import annotations

from datetime import datetime, timedelta


class FakeClock:
    """Starts at `start` (timezone-aware) and stays there until `advance` or `set`."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)

    def set(self, moment: datetime) -> None:
        self.current = moment

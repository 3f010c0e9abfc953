"""Time as a value that can be injected: the clock type and the real one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware. Tests pass a fake one."""


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)

"""Fixtures for the trigger tests: a clock that moves only when told, a real database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.fakes.clock import FakeClock as FakeClock  # re-exported for the tests here

START = datetime(2026, 11, 27, 7, 30, tzinfo=UTC)  # a Friday; 08:30 in Berlin


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)

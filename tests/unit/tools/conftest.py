"""Fixtures for the tool tests: a real database in tmp_path and a clock that moves when told."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.fakes.clock import FakeClock as FakeClock  # re-exported for the tests here

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)

"""Shared fixtures for the storage tests: a fake clock and a real database in tmp_path."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.fakes.clock import FakeClock as FakeClock  # re-exported for the tests here

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)

"""Fixtures for the trigger tests: a clock that moves only when told, a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobs.storage import Database
from tests.fakes.clock import FakeClock as FakeClock  # re-exported for the tests here

START = datetime(2026, 11, 27, 7, 30, tzinfo=UTC)  # a Friday; 08:30 in Berlin


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def db(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "data" / "db.sqlite", clock=clock)
    try:
        yield database
    finally:
        await database.close()

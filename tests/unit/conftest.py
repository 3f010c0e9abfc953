"""Fixtures every unit package shares: a real SQLite database on the package's `clock`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jobs.storage import Database
from tests.fakes.clock import FakeClock


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "db.sqlite"


@pytest.fixture
async def db(db_path: Path, clock: FakeClock) -> AsyncIterator[Database]:
    """Migrated and open; `clock` is the one the test's package defines."""
    database = await Database.open(db_path, clock=clock)
    try:
        yield database
    finally:
        await database.close()

"""Fixtures every unit package shares: a real SQLite database on the package's `clock`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobs.storage import AuditRepo, Database
from tests.fakes.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """A package's own conftest may start its clock elsewhere."""
    return FakeClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))


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


@pytest.fixture
async def quick_db(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Database]:
    """A database with a short busy timeout: another program's lock makes a write give up
    (StorageBusy) at once."""
    database = await Database.open(tmp_path / "db.sqlite", clock=clock, busy_timeout=0.05)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def audit(db: Database) -> AuditRepo:
    return AuditRepo(db)

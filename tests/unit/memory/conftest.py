"""Fixtures for the memory tests: a real database, a workspace in tmp_path, a settable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobs.memory import MemoryFiles, MemoryStore, open_memory
from jobs.memory.embeddings import Embedder
from jobs.storage import Database
from tests.fakes.clock import FakeClock as FakeClock  # re-exported for the tests here
from tests.fakes.embeddings import FakeEmbedder

START = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "workspace"
    folder.mkdir()
    return folder


@pytest.fixture
def files(workspace: Path, clock: FakeClock) -> MemoryFiles:
    return MemoryFiles(workspace=workspace, zone=UTC, clock=clock)


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


StoreFactory = Callable[[Embedder | None], MemoryStore]


@pytest.fixture
def make_store(db: Database, workspace: Path, clock: FakeClock) -> StoreFactory:
    def make(embedder: Embedder | None) -> MemoryStore:
        return open_memory(db=db, workspace=workspace, zone=UTC, embedder=embedder, clock=clock)

    return make


@pytest.fixture
async def store(make_store: StoreFactory, embedder: FakeEmbedder) -> AsyncIterator[MemoryStore]:
    made = make_store(embedder)
    await made.start()
    yield made
    await made.aclose()

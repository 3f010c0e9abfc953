"""Memory on a full disk (nothing changed, said plainly) and with the database locked by
another program (the files are saved, the index catches up, searching still works)."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from collections.abc import AsyncIterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from jobs.errors import DiskFull
from jobs.memory import MemoryStore, open_memory
from jobs.storage import Database
from jobs.tools.memory import MemoryTools
from tests.chaos.conftest import wait_until
from tests.unit.db_locks import locked
from tests.unit.memory.conftest import FakeClock

OLD = "# Memory\n\n## Notes\n\n- the old entry\n"


def text(result: dict[str, Any]) -> str:
    return "\n".join(part["text"] for part in result["content"])


@pytest.fixture
async def memory(
    quick_db: Database, workspace: Path, clock: FakeClock
) -> AsyncIterator[MemoryStore]:
    (workspace / "MEMORY.md").write_text(OLD)
    made = open_memory(db=quick_db, workspace=workspace, zone=UTC, embedder=None, clock=clock)
    await made.start()
    yield made
    await made.aclose()


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file write fails as on a full disk (at the fsync, where NFS and quotas say so)."""

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)


def leftovers(workspace: Path) -> list[str]:
    return [p.name for p in workspace.rglob("*.tmp")]


def days(workspace: Path) -> list[str]:
    return [p.name for p in workspace.glob("memory/*.md")]


@pytest.mark.usefixtures("full_disk")
async def test_memory_write_on_a_full_disk_changes_nothing_and_says_so(
    memory: MemoryStore, workspace: Path, caplog: pytest.LogCaptureFixture
) -> None:
    result = await MemoryTools(store=memory).write({"action": "add", "text": "dentist Friday"})
    assert result.get("is_error")
    said = text(result)
    assert said.startswith("MEMORY.md was not changed: The disk is full, so MEMORY.md could")
    assert "Free some space" in said
    assert (workspace / "MEMORY.md").read_text() == OLD
    assert leftovers(workspace) == []
    assert all(r.exc_info is None for r in caplog.records)  # a plain warning, no traceback


@pytest.mark.usefixtures("full_disk")
async def test_daily_log_on_a_full_disk_adds_nothing_and_says_so(
    memory: MemoryStore, workspace: Path
) -> None:
    result = await MemoryTools(store=memory).log({"text": "called the bank"})
    assert result.get("is_error")
    assert text(result).startswith("Nothing was added to the log: The disk is full")
    assert leftovers(workspace) == [] and days(workspace) == []


@pytest.mark.usefixtures("full_disk")
async def test_a_conversation_not_recorded_on_a_full_disk_is_a_warning(
    memory: MemoryStore, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    assert not await memory.record_exchange("owner", "hi", "hello", clock())
    [warning] = [r for r in caplog.records if r.name == "jobs.memory.store"]
    assert warning.levelname == "WARNING" and warning.exc_info is None
    assert "the owner exchange was not recorded: The disk is full" in warning.getMessage()


def test_disk_full_knows_enospc_and_quota() -> None:
    assert DiskFull.caused(OSError(errno.ENOSPC, "No space left on device"))
    assert DiskFull.caused(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not DiskFull.caused(OSError(errno.EACCES, "Permission denied"))
    assert not DiskFull.caused(ValueError("no"))


async def test_a_write_while_the_database_is_locked_is_saved_and_indexed_later(
    memory: MemoryStore, quick_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    tools = MemoryTools(store=memory)
    with locked(quick_db.path):
        result = await tools.write({"action": "add", "text": "the dentist moved to Monday"})
        assert not result.get("is_error") and "MEMORY.md updated" in text(result)
        memory.index._synced_at = float("-inf")  # as if the last sync were long ago
        found = text(await tools.search({"query": "dentist Monday"}))  # reads still work
        assert "Nothing in memory matches" in found  # not indexed yet
    assert "- the dentist moved to Monday" in memory.files.memory_path.read_text()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(
        w.startswith("memory: MEMORY.md saved, indexed later: The database") for w in warnings
    )
    assert any(w.startswith("memory: searching without the newest edits") for w in warnings)
    assert all(r.exc_info is None for r in caplog.records)
    await memory.index.sync()  # what the periodic update (run) does
    assert "dentist moved to Monday" in text(await tools.search({"query": "dentist Monday"}))


async def test_the_periodic_update_waits_out_a_lock_quietly(
    memory: MemoryStore, quick_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    memory.files.memory_path.write_text(OLD + "- edited by hand\n")
    with locked(quick_db.path):
        running = asyncio.create_task(memory.run(every=0.01))
        try:
            await wait_until(
                lambda: any("the index update waits" in r.getMessage() for r in caplog.records),
                what="the warning",
            )
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
    assert all(r.exc_info is None for r in caplog.records)
    caplog.set_level(logging.INFO)
    await memory.index.sync()
    assert "edited by hand" in text(await MemoryTools(store=memory).search({"query": "hand"}))

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from jobs.memory import MemoryStore, PathRefused, open_memory
from jobs.storage import Database
from tests.unit.memory.conftest import FakeClock


async def test_record_exchange_logs_the_day_and_keeps_the_conversation(store: MemoryStore) -> None:
    at = datetime(2026, 11, 27, 14, 2, tzinfo=UTC)
    prompt = "When is my dentist appointment?\n# not a heading"
    assert await store.record_exchange("owner", prompt, "Thursday at 3 pm, Dr. Molar.", at)
    log = (store.files.memory_dir / "2026-11-27.md").read_text()
    assert log == (
        "# 2026-11-27\n\n- 14:02 "
        '"When is my dentist appointment? # not a heading" → "Thursday at 3 pm, Dr. Molar."\n'
    )
    talk = (store.files.memory_dir / "conversations" / "2026-11-27.md").read_text()
    assert (
        "## 14:02 owner\n\n**Owner:**\n> When is my dentist appointment?\n> # not a heading" in talk
    )
    hits = (await store.search("Molar")).hits
    assert {h.path for h in hits} == {"memory/2026-11-27.md", "memory/conversations/2026-11-27.md"}


async def test_long_exchanges_are_short_in_the_log(store: MemoryStore) -> None:
    at = datetime(2026, 11, 27, 23, 59, tzinfo=UTC)
    await store.record_exchange("task:7", "word " * 500, "answer " * 2000, at)
    line = (store.files.memory_dir / "2026-11-27.md").read_text().splitlines()[-1]
    assert line.startswith("- 23:59 [task:7] ") and len(line) < 330
    talk = (store.files.memory_dir / "conversations" / "2026-11-27.md").read_text()
    assert 4000 < len(talk) < 9000


async def test_days_follow_the_owner_time_zone(db: Database, workspace: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 27, 23, 30, tzinfo=UTC))
    store = open_memory(
        db=db, workspace=workspace, zone=ZoneInfo("Asia/Tokyo"), embedder=None, clock=clock
    )
    await store.start()
    added = await store.append_daily("Late call with the Tokyo office")
    assert added.path == "memory/2026-11-28.md"
    assert (
        (workspace / added.path).read_text().endswith("- 08:30 Late call with the Tokyo office\n")
    )
    await store.aclose()


async def test_append_to_an_earlier_day_has_no_time(store: MemoryStore) -> None:
    added = await store.append_daily("Forgot to log: paid the rent", day="2026-11-20")
    assert (added.path, added.start_line) == ("memory/2026-11-20.md", 3)
    assert (
        store.files.root / added.path
    ).read_text() == "# 2026-11-20\n\n- Forgot to log: paid the rent\n"
    with pytest.raises(PathRefused):
        await store.append_daily("from the future", day="2027-01-01")


async def test_read_numbers_lines_and_takes_a_range(store: MemoryStore) -> None:
    await store.files.write(store.files.memory_path, "# Memory\n\n## A\n- one\n- two\n")
    assert await store.read("MEMORY.md", start=4, end=5) == "    4  - one\n    5  - two"
    assert await store.read("2026-01-01") == ""


async def test_record_exchange_survives_an_unwritable_memory(store: MemoryStore) -> None:
    store.files.memory_dir.write_text("a file where the folder should be")
    at = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert not await store.record_exchange("owner", "hi", "hello", at)

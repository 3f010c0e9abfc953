from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from jobs.errors import SchemaTooNew, StorageError
from jobs.storage import Database, Migration, from_iso, load_migrations, to_iso
from jobs.storage.database import Statements
from jobs.storage.schema import split_statements
from tests.unit.storage.conftest import START, FakeClock

SHIPPED = load_migrations()
LATEST = SHIPPED[-1].version
EXTRA = Migration(LATEST + 1, "extra", "CREATE TABLE extra (x INTEGER);\n")


async def _scratch(db: Database) -> None:
    await db.execute("CREATE TABLE scratch (v TEXT NOT NULL)")


async def _values(db: Database) -> list[str]:
    return [row["v"] for row in await db.fetch_all("SELECT v FROM scratch ORDER BY rowid")]


async def test_open_creates_parent_dir_and_records_version(db: Database, db_path: Path) -> None:
    assert await asyncio.to_thread(db_path.is_file)
    assert await db.schema_version() == LATEST
    rows = await db.fetch_all("SELECT version, name, applied_at FROM schema_migrations")
    assert [(r["version"], r["name"], r["applied_at"]) for r in rows] == [
        (m.version, m.name, to_iso(START)) for m in SHIPPED
    ]


async def test_wal_foreign_keys_and_busy_timeout_are_on(db: Database) -> None:
    mode = await db.fetch_one("PRAGMA journal_mode")
    keys = await db.fetch_one("PRAGMA foreign_keys")
    busy = await db.fetch_one("PRAGMA busy_timeout")
    assert mode is not None and mode[0] == "wal"
    assert keys is not None and keys[0] == 1
    assert busy is not None and busy[0] == 5000


async def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(StorageError, match="FOREIGN KEY"):
        await db.execute(
            "INSERT INTO job_runs (schedule_id, scheduled_for, started_at) VALUES (99, 'x', 'y')"
        )


async def test_migrations_are_idempotent(db_path: Path, clock: FakeClock) -> None:
    for _ in range(3):
        async with await Database.open(db_path, clock=clock) as db:
            assert await db.schema_version() == LATEST
            count = await db.fetch_one("SELECT COUNT(*) FROM schema_migrations")
            assert count is not None and count[0] == len(SHIPPED)


async def test_missing_migrations_are_applied_in_order(db_path: Path) -> None:
    third = Migration(LATEST + 2, "third", "INSERT INTO extra (x) VALUES (3);")
    async with await Database.open(db_path) as db:
        assert await db.schema_version() == LATEST
    async with await Database.open(db_path, migrations=[third, EXTRA, *SHIPPED]) as db:
        assert await db.schema_version() == LATEST + 2
        row = await db.fetch_one("SELECT x FROM extra")
        assert row is not None and row["x"] == 3


async def test_schema_too_new(db_path: Path) -> None:
    async with await Database.open(db_path, migrations=[*load_migrations(), EXTRA]):
        pass
    with pytest.raises(SchemaTooNew) as caught:
        await Database.open(db_path)
    assert (caught.value.found, caught.value.known) == (LATEST + 1, LATEST)
    assert isinstance(caught.value, StorageError)
    assert "Upgrade Jobs" in str(caught.value)


async def test_failed_migration_rolls_back_and_names_itself(db_path: Path) -> None:
    broken = Migration(LATEST + 1, "broken", "CREATE TABLE half (x);\nCREATE TABLE nope (;\n")
    with pytest.raises(StorageError, match=f"{LATEST + 1:04d}_broken"):
        await Database.open(db_path, migrations=[*load_migrations(), broken])
    async with await Database.open(db_path) as db:
        assert await db.schema_version() == LATEST
        half = await db.fetch_one("SELECT name FROM sqlite_master WHERE name = 'half'")
        assert half is None


def _write_garbage(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database, just some text " * 100)


async def test_corrupt_file_names_path_and_remedy(db_path: Path) -> None:
    await asyncio.to_thread(_write_garbage, db_path)
    with pytest.raises(StorageError) as caught:
        await Database.open(db_path)
    message = str(caught.value)
    assert str(db_path) in message
    assert "move it aside" in message


async def test_directory_in_place_of_file(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=str(tmp_path)):
        await Database.open(tmp_path)


async def test_parent_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    await asyncio.to_thread(blocker.write_text, "not a directory")
    with pytest.raises(StorageError, match="DATA_DIR"):
        await Database.open(blocker / "db.sqlite")


async def test_closed_database_raises_storage_error(db_path: Path) -> None:
    db = await Database.open(db_path)
    await db.close()
    await db.close()  # twice is fine
    with pytest.raises(StorageError, match="closed"):
        await db.fetch_all("SELECT 1")


async def test_now_uses_the_clock(db: Database, clock: FakeClock) -> None:
    assert db.now() == "2026-11-27T09:00:00.000000+00:00"
    clock.advance(seconds=1.5)
    assert from_iso(db.now()) == START + timedelta(seconds=1.5)


def test_iso_round_trip_and_order() -> None:
    later = datetime(2026, 1, 1, 12, 0, 0, 500, tzinfo=timezone(timedelta(hours=3)))
    earlier = datetime(2026, 1, 1, 9, 0, 0, tzinfo=UTC)
    assert from_iso(to_iso(later)) == later
    assert from_iso(to_iso(later)).tzinfo == UTC
    assert to_iso(earlier) < to_iso(later)
    with pytest.raises(ValueError, match="naive"):
        to_iso(datetime(2026, 1, 1))  # noqa: DTZ001 - the naive time under test


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    await _scratch(db)
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await db.execute("INSERT INTO scratch VALUES ('lost')")
            raise RuntimeError("boom")
    async with db.transaction():
        await db.execute("INSERT INTO scratch VALUES ('kept')")
    assert await _values(db) == ["kept"]


async def test_nested_transaction_is_a_savepoint(db: Database) -> None:
    await _scratch(db)
    async with db.transaction():
        await db.execute("INSERT INTO scratch VALUES ('outer')")
        with pytest.raises(RuntimeError):
            async with db.transaction():
                await db.execute("INSERT INTO scratch VALUES ('inner')")
                raise RuntimeError("inner fails")
        async with db.transaction():
            await db.execute("INSERT INTO scratch VALUES ('inner ok')")
    assert await _values(db) == ["outer", "inner ok"]


@pytest.mark.parametrize("how", ["statement", "atomic block"])
async def test_other_coroutines_wait_for_a_transaction(db: Database, how: str) -> None:
    await _scratch(db)
    inside = asyncio.Event()

    async def rolled_back() -> None:
        async with db.transaction():
            await db.execute("INSERT INTO scratch VALUES ('a')")
            inside.set()
            await asyncio.sleep(0.05)
            raise RuntimeError("roll back")

    async def other_write() -> None:
        await inside.wait()
        if how == "statement":
            await db.execute("INSERT INTO scratch VALUES ('b')")
        else:
            assert await db.atomic(_write("b")) == 1

    results = await asyncio.gather(rolled_back(), other_write(), return_exceptions=True)
    assert isinstance(results[0], RuntimeError)
    assert results[1] is None
    # Without the lock, 'b' would have landed inside the rolled-back transaction.
    assert await _values(db) == ["b"]


async def test_cancelled_transaction_rolls_back(db: Database) -> None:
    await _scratch(db)
    inside = asyncio.Event()

    async def stuck() -> None:
        async with db.transaction():
            await db.execute("INSERT INTO scratch VALUES ('half')")
            inside.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(stuck())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with db.transaction():
        await db.execute("INSERT INTO scratch VALUES ('after')")
    assert await _values(db) == ["after"]


def _write(*values: str) -> Callable[[Statements], int]:
    def work(db: Statements) -> int:
        for value in values:
            db.execute("INSERT INTO scratch VALUES (?)", (value,))
        row = db.fetch_one("SELECT COUNT(*) AS n FROM scratch")
        assert row is not None
        if "boom" in values:
            raise RuntimeError("boom")
        return int(row["n"])

    return work


async def test_atomic_runs_its_statements_in_one_transaction(db: Database) -> None:
    await _scratch(db)
    assert await db.atomic(_write("a", "b")) == 2  # the block sees its own writes
    with pytest.raises(RuntimeError, match="boom"):
        await db.atomic(_write("lost", "boom"))
    with pytest.raises(StorageError, match="no such table"):
        await db.atomic(lambda s: s.execute("INSERT INTO nowhere VALUES (1)"))
    assert await _values(db) == ["a", "b"]
    # Nothing was left open: a plain transaction works as before.
    async with db.transaction():
        await db.execute("INSERT INTO scratch VALUES ('c')")
    assert await _values(db) == ["a", "b", "c"]


async def test_atomic_inside_a_transaction_is_a_savepoint(db: Database) -> None:
    await _scratch(db)
    with pytest.raises(RuntimeError, match="outer"):
        async with db.transaction():
            await db.atomic(_write("inner"))
            with pytest.raises(RuntimeError, match="boom"):
                await db.atomic(_write("boom"))
            assert await _values(db) == ["inner"]  # only the failed block was undone
            raise RuntimeError("outer")
    assert await _values(db) == []  # the whole transaction was, the block with it


async def test_second_connection_waits_for_the_write_lock(db: Database, db_path: Path) -> None:
    await _scratch(db)
    async with await Database.open(db_path) as other:
        async with db.transaction():
            await db.execute("INSERT INTO scratch VALUES ('first')")
            write = asyncio.create_task(other.execute("INSERT INTO scratch VALUES ('second')"))
            await asyncio.sleep(0.1)  # the other connection is now waiting on busy_timeout
            assert not write.done()
        await write
        assert await _values(other) == ["first", "second"]


def test_split_statements_keeps_comments_and_trigger_bodies() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE a (x TEXT DEFAULT ';');  -- trailing
    CREATE TRIGGER t AFTER INSERT ON a BEGIN
        UPDATE a SET x = 'y';
    END;
    -- the end
    """
    statements = split_statements(script)
    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")
    with pytest.raises(StorageError, match="unterminated"):
        split_statements("CREATE TABLE b (x)")


def test_shipped_migrations_start_at_init() -> None:
    migrations = load_migrations()
    assert migrations[0].version == 1 and migrations[0].name == "init"
    assert [m.version for m in migrations] == sorted(m.version for m in migrations)

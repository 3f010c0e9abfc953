"""The database locked by another program: StorageBusy, who holds it, and waiting it out."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from pathlib import Path

import pytest

from jobs.errors import StorageBusy, StorageError
from jobs.storage import Database, Migration, load_migrations
from jobs.storage.busy import (
    BusyPolicy,
    BusyWait,
    busy_cause,
    is_busy,
    lock_holders,
    retry_busy,
)
from tests.unit.db_locks import locked

QUICK = BusyPolicy(first=0.01, longest=0.02)
SHORT = 0.05  # busy timeout (s) of the databases here: a lock makes them give up quickly

LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
"""


@contextmanager
def held_by_process(path: Path) -> Iterator[subprocess.Popen[str]]:
    """A second process holds the lock, as a sqlite3 shell with an open transaction would."""
    with subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None and proc.stdin is not None
        try:
            assert proc.stdout.readline() == "locked\n"
            yield proc
        finally:
            proc.stdin.close()
            proc.wait(10)


@asynccontextmanager
async def short_db(path: Path) -> AsyncIterator[Database]:
    db = await Database.open(path, busy_timeout=SHORT)
    try:
        await db.execute("CREATE TABLE notes (v TEXT NOT NULL)")
        yield db
    finally:
        await db.close()


async def test_a_write_past_the_busy_timeout_raises_storage_busy(db_path: Path) -> None:
    async with short_db(db_path) as db:
        with locked(db_path):
            with pytest.raises(StorageBusy) as caught:
                await db.execute("INSERT INTO notes VALUES ('lost?')")
            with pytest.raises(StorageBusy):
                async with db.transaction():
                    await db.execute("INSERT INTO notes VALUES ('in a transaction')")
            with pytest.raises(StorageBusy):
                await db.atomic(lambda s: s.execute("INSERT INTO notes VALUES ('in one trip')"))
            # WAL: reading does not wait for the writer's lock.
            assert await db.fetch_all("SELECT v FROM notes") == []
        await db.execute("INSERT INTO notes VALUES ('again')")  # the same write, once free
        assert [r["v"] for r in await db.fetch_all("SELECT v FROM notes")] == ["again"]
    message = str(caught.value)
    assert f"The database {db_path} is locked by another program" in message
    assert f"waited {SHORT:g} s" in message
    assert isinstance(caught.value, StorageError)  # caught where storage errors are
    assert caught.value.path == db_path


async def test_the_busy_timeout_is_the_databases_own(db_path: Path) -> None:
    async with short_db(db_path) as db:
        row = await db.fetch_one("PRAGMA busy_timeout")
    assert row is not None and row[0] == round(SHORT * 1000)


async def test_a_lock_that_ends_within_the_timeout_only_delays(db_path: Path) -> None:
    db = await Database.open(db_path, busy_timeout=5.0)
    try:
        with closing(sqlite3.connect(db_path, isolation_level=None)) as other:
            other.execute("BEGIN EXCLUSIVE")
            loop = asyncio.get_running_loop()
            loop.call_later(0.2, other.execute, "ROLLBACK")
            await db.execute("CREATE TABLE waited (x)")
    finally:
        await db.close()


async def test_a_migration_on_a_locked_database_is_busy_not_damaged(db_path: Path) -> None:
    await (await Database.open(db_path)).close()
    extra = Migration(load_migrations()[-1].version + 1, "extra", "CREATE TABLE extra (x);\n")
    with locked(db_path), pytest.raises(StorageBusy, match="locked by another program"):
        await Database.open(db_path, busy_timeout=SHORT, migrations=[*load_migrations(), extra])
    db = await Database.open(db_path, migrations=[*load_migrations(), extra])
    try:
        assert await db.schema_version() == extra.version
    finally:
        await db.close()


def test_is_busy_knows_the_codes(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    with (
        closing(sqlite3.connect(path, timeout=0)) as one,
        locked(path),
        pytest.raises(sqlite3.OperationalError) as caught,
    ):
        one.execute("CREATE TABLE t (x)")
    assert is_busy(caught.value)
    assert not is_busy(sqlite3.OperationalError("no such table: t"))


def test_busy_cause_finds_a_lone_storage_busy_in_groups(tmp_path: Path) -> None:
    busy = StorageBusy(tmp_path / "db.sqlite", 5)
    assert busy_cause(busy) is busy
    assert busy_cause(ExceptionGroup("tasks", [busy])) is busy
    assert busy_cause(ExceptionGroup("outer", [ExceptionGroup("inner", [busy])])) is busy
    assert busy_cause(ExceptionGroup("tasks", [busy, ValueError("a bug")])) is None
    assert busy_cause(ValueError("a bug")) is None


def test_lock_holders_names_the_other_process(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(db_path)) as setup:
        setup.execute("PRAGMA journal_mode = WAL")
    with closing(sqlite3.connect(db_path)) as mine:  # this process's own lock is not named
        mine.execute("SELECT 1").fetchall()
        assert lock_holders(db_path) == []
        with held_by_process(db_path) as proc:
            [holder] = lock_holders(db_path)
    assert holder.startswith(f"pid {proc.pid} (") and "python" in holder
    assert "import sqlite3, sys db = sqlite3.connect" in holder  # one line, however long


async def test_retry_busy_tries_until_free_and_says_so_twice(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    failures = [StorageBusy(tmp_path / "db.sqlite", 5), StorageBusy(tmp_path / "db.sqlite", 5)]

    async def store() -> str:
        if failures:
            raise failures.pop()
        return "stored"

    with caplog.at_level(logging.DEBUG, logger="jobs.storage.busy"):
        assert await retry_busy(store, what="Storing it", policy=QUICK) == "stored"
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert len(lines) == 2
    assert lines[0][0] == "WARNING" and lines[0][1].startswith("Storing it: The database")
    assert lines[0][1].endswith("Trying again until it is free.")
    assert lines[1][0] == "INFO"
    assert lines[1][1].startswith("Storing it: done; the database was locked for")


async def test_retry_busy_returns_at_once_when_free(caplog: pytest.LogCaptureFixture) -> None:
    async def store() -> int:
        return 7

    with caplog.at_level(logging.DEBUG, logger="jobs.storage.busy"):
        assert await retry_busy(store, what="Storing it") == 7
    assert caplog.records == []


async def test_retry_busy_gives_up_when_told(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    policy = BusyPolicy(first=0.01, longest=0.01, give_up_after=0.2)
    async with short_db(db_path) as db:
        with locked(db_path), pytest.raises(StorageBusy):
            await retry_busy(
                lambda: db.execute("INSERT INTO notes VALUES ('x')"), what="Noting", policy=policy
            )
    assert any(
        r.levelname == "ERROR" and r.getMessage().startswith("Noting: gave up after")
        for r in caplog.records
    )


async def test_a_long_lock_is_one_error_naming_the_file_and_its_holder(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    policy = BusyPolicy(first=0.01, longest=0.01, alarm_after=0.1)
    async with short_db(db_path) as db:
        with held_by_process(db_path) as proc:
            wait = BusyWait(what="Storing message 5 in chat 1", policy=policy)
            for _ in range(6):
                with pytest.raises(StorageBusy) as caught:
                    await db.execute("INSERT INTO notes VALUES ('x')")
                await wait.pause(caught.value)
            assert wait.waiting
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1
    assert errors[0].startswith(f"Storing message 5 in chat 1: the database {db_path} has been")
    assert f"held by pid {proc.pid} (" in errors[0]


async def test_a_busy_wait_starts_over_after_success(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    wait = BusyWait(what="Sending", policy=QUICK)
    busy = StorageBusy(tmp_path / "db.sqlite", 5)
    with caplog.at_level(logging.INFO, logger="jobs.storage.busy"):
        await wait.pause(busy)
        await wait.pause(busy)
        wait.over()
        assert not wait.waiting
        wait.over()  # nothing to say: it did not wait
        await wait.pause(busy)  # a new lock: said again
    levels = [r.levelname for r in caplog.records]
    assert levels == ["WARNING", "INFO", "WARNING"]

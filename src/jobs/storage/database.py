"""The one SQLite connection: opening (WAL, foreign keys), transactions, and schema migrations."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Final, Self, TypeVar, cast

import aiosqlite

from jobs.clock import Clock, utc_now
from jobs.errors import SchemaTooNew, StorageBusy, StorageError
from jobs.home import private_dir, private_file
from jobs.storage.busy import is_busy
from jobs.storage.schema import Migration, load_migrations, split_statements

logger = logging.getLogger(__name__)

Params = Sequence[object] | Mapping[str, object]
"""Bound parameters: positional (`?`) or named (`:name`)."""

BUSY_TIMEOUT: Final = 5.0  # seconds a statement waits for another's lock, then StorageBusy
_ATOMIC: Final = "jobs_atomic"  # the savepoint of an atomic() block inside a transaction

T = TypeVar("T")


def to_iso(moment: datetime, /) -> str:
    """The stored form of a time: ISO-8601 UTC with microseconds, so text order is time order."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: pass a timezone-aware time")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_iso(text: str, /) -> datetime:
    """Parse a stored time back into an aware UTC datetime."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:  # written by hand (sqlite3 shell): the schema says UTC
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def from_iso_or_none(text: str | None, /) -> datetime | None:
    """`from_iso` for nullable columns."""
    return None if text is None else from_iso(text)


@dataclass(frozen=True, slots=True)
class ExecResult:
    """What a write statement did."""

    rowcount: int
    last_row_id: int | None


class Statements:
    """The statements of one `Database.atomic` block, run on the database's own thread."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = (), /) -> ExecResult:
        cursor = self._conn.execute(sql, params)
        return ExecResult(cursor.rowcount, cursor.lastrowid)

    def fetch_one(self, sql: str, params: Params = (), /) -> sqlite3.Row | None:
        rows = self.fetch_all(sql, params)
        return rows[0] if rows else None

    def fetch_all(self, sql: str, params: Params = (), /) -> list[sqlite3.Row]:
        return list(self._conn.execute(sql, params).fetchall())


def _atomically(conn: sqlite3.Connection, work: Callable[[Statements], T], nested: bool) -> T:
    """On the database's thread: `work` between BEGIN IMMEDIATE and COMMIT (inside a
    transaction: a savepoint), undone when anything in it fails."""
    undo: tuple[str, ...]
    if nested:
        start, end, undo = (
            f"SAVEPOINT {_ATOMIC}",
            f"RELEASE {_ATOMIC}",
            (f"ROLLBACK TO {_ATOMIC}", f"RELEASE {_ATOMIC}"),
        )
    else:
        start, end, undo = "BEGIN IMMEDIATE", "COMMIT", ("ROLLBACK",)
    conn.execute(start)  # busy: nothing was written, so the block can simply be tried again
    try:
        result = work(Statements(conn))
        conn.execute(end)
    except BaseException:
        for sql in undo:
            with suppress(sqlite3.Error):  # "no transaction is active": SQLite rolled back
                conn.execute(sql)
        raise
    return result


class Database:
    """One aiosqlite connection shared by every repository.

    Transactions are serialised with an asyncio lock: while one coroutine is inside
    `transaction()`, statements from other coroutines wait, so they never land inside
    somebody else's transaction. The task that holds the lock runs its statements directly
    (nested `transaction()` calls become savepoints). A task spawned inside a transaction
    does not own it and would wait for it: do not await such a task inside the block.
    """

    def __init__(
        self,
        *,
        conn: aiosqlite.Connection,
        path: Path,
        clock: Clock,
        busy_timeout: float = BUSY_TIMEOUT,
    ) -> None:
        self._conn: aiosqlite.Connection | None = conn
        self._path = path
        self._clock = clock
        self._busy_timeout = busy_timeout
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[object] | None = None
        self._depth = 0
        self._signals: dict[str, asyncio.Event] = {}

    def signal(self, name: str, /) -> asyncio.Event:
        """An event set whenever rows of `name` were committed (the outbox's new rows wake
        its sender): every repository on this database shares it."""
        return self._signals.setdefault(name, asyncio.Event())

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        clock: Clock = utc_now,
        migrations: Sequence[Migration] | None = None,
        busy_timeout: float = BUSY_TIMEOUT,
    ) -> Database:
        """Open (creating if needed) the database at `path` and bring its schema up to date.
        Past `busy_timeout` s of another program's lock, a statement raises StorageBusy."""
        try:
            # A probe first, in a thread: it makes the directory and the file (private), and
            # when aiosqlite's own connect fails, its worker thread can outlive the event loop
            # and report from there.
            await asyncio.to_thread(_probe, path)
            conn = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout)
        except OSError as exc:
            raise StorageError(
                f"Cannot create the directory for the database {path}: {exc}. "
                "Check that DATA_DIR points to a writable place."
            ) from exc
        except sqlite3.Error as exc:
            raise _open_failed(path, exc, busy_timeout) from exc
        db = cls(conn=conn, path=path, clock=clock, busy_timeout=busy_timeout)
        try:
            await db._configure()
            await db._migrate(load_migrations() if migrations is None else migrations)
        except sqlite3.Error as exc:
            await db.close()
            raise _open_failed(path, exc, busy_timeout) from exc
        except BaseException:
            await db.close()
            raise
        return db

    @property
    def path(self) -> Path:
        return self._path

    @property
    def clock(self) -> Clock:
        return self._clock

    def now(self) -> str:
        """The clock's current time in the stored ISO form."""
        return to_iso(self._clock())

    async def close(self) -> None:
        """Close the connection after any running transaction ends. Safe to call twice."""
        if self._conn is None:
            return
        if self._owner is asyncio.current_task():
            raise RuntimeError("Database.close() called inside a transaction")
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                await conn.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """`BEGIN IMMEDIATE` … `COMMIT`, or `ROLLBACK` when the block raises (or is cancelled)."""
        task = asyncio.current_task()
        if task is not None and self._owner is task:
            async with self._savepoint():
                yield
            return
        async with self._lock:
            self._owner = task
            committed = False
            try:
                # BEGIN sits inside the try: cancelled while awaiting, it still runs in the
                # worker thread, and the ROLLBACK queued behind it must undo it.
                await self._raw("BEGIN IMMEDIATE")
                yield
                await self._raw("COMMIT")
                committed = True
            finally:
                if not committed:
                    await self._rollback_quietly("ROLLBACK")
                self._owner = None

    @asynccontextmanager
    async def _savepoint(self) -> AsyncIterator[None]:
        self._depth += 1
        name = f"sp{self._depth}"
        released = False
        try:
            await self._raw(f"SAVEPOINT {name}")
            yield
            await self._raw(f"RELEASE {name}")
            released = True
        finally:
            if not released:
                await self._rollback_quietly(f"ROLLBACK TO {name}")
                await self._rollback_quietly(f"RELEASE {name}")
            self._depth -= 1

    async def execute(self, sql: str, params: Params = (), /) -> ExecResult:
        """Run one write statement (waits for any other coroutine's transaction)."""
        async with self._turn():
            return await self._raw(sql, params)

    async def fetch_one(self, sql: str, params: Params = (), /) -> sqlite3.Row | None:
        """The first row of a query (or of an `… RETURNING` write), or None."""
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Params = (), /) -> list[sqlite3.Row]:
        """Every row; the statement is always run to completion, so `RETURNING` writes finish."""
        async with self._turn():
            conn = self._require_open()
            try:
                return list(await conn.execute_fetchall(sql, params))
            except sqlite3.Error as exc:
                raise self._failed(exc) from exc

    async def atomic(self, work: Callable[[Statements], T], /) -> T:
        """`work`'s statements in one transaction and in ONE trip to the database's thread
        (a `transaction()` block costs a trip for each statement, and for BEGIN and COMMIT):
        for the writes on every message's path. `work` runs on that thread, so it only runs
        statements and builds values from their rows. Inside this task's own transaction it
        is a savepoint. Cancelled while it runs, it still finishes (or rolls back) there."""
        conn = self._require_open()
        task = asyncio.current_task()
        nested = task is not None and self._owner is task
        async with self._turn():
            try:
                # aiosqlite runs one callable on its thread per trip; `execute` and friends
                # are built on this same private call (pinned in pyproject.toml).
                run = cast("Callable[..., Awaitable[T]]", conn._execute)
                return await run(_atomically, conn._conn, work, nested)
            except sqlite3.Error as exc:
                raise self._failed(exc) from exc

    async def schema_version(self) -> int:
        """The newest migration applied to this database (0 for none)."""
        row = await self.fetch_one("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        return 0 if row is None else int(row["v"])

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task is not None and self._owner is task:
            yield
            return
        async with self._lock:
            yield

    async def _raw(self, sql: str, params: Params = ()) -> ExecResult:
        conn = self._require_open()
        try:
            # One trip to aiosqlite's thread, not two (`async with` would await a close too):
            # a statement run here has finished inside execute(), and the cursor is finalised
            # as soon as it is dropped. Every trip on the message path costs latency.
            cursor = await conn.execute(sql, params)
            return ExecResult(cursor.rowcount, cursor.lastrowid)
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc

    async def _rollback_quietly(self, sql: str) -> None:
        if self._conn is None:
            return
        try:
            await self._conn.execute(sql)
        except sqlite3.Error as exc:  # "no transaction is active": SQLite already rolled back
            logger.debug("%s failed: %s", sql, exc)

    def _require_open(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StorageError(f"The database {self._path} is closed.")
        return self._conn

    def _failed(self, exc: sqlite3.Error) -> StorageError:
        if is_busy(exc):
            return StorageBusy(self._path, self._busy_timeout)
        return StorageError(f"Database error in {self._path}: {exc}")

    async def _configure(self) -> None:
        conn = self._require_open()
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout = {round(self._busy_timeout * 1000)}")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; fsync per checkpoint
        # Reading the schema surfaces "file is not a database" here, as an open failure.
        await conn.execute_fetchall("SELECT count(*) FROM sqlite_master")

    async def _migrate(self, migrations: Sequence[Migration]) -> None:
        await self.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        ordered = sorted(migrations, key=lambda migration: migration.version)
        known = ordered[-1].version if ordered else 0
        found = await self.schema_version()
        if found > known:
            raise SchemaTooNew(found, known)
        applied = {int(row["version"]) for row in await self.fetch_all(_APPLIED)}
        for migration in ordered:
            if migration.version not in applied:
                await self._apply(migration)

    async def _apply(self, migration: Migration) -> None:
        try:
            async with self.transaction():
                for statement in split_statements(migration.sql):
                    await self.execute(statement)
                await self.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, self.now()),
                )
        except StorageBusy:
            raise  # says what to do; the migration simply runs at the next start
        except StorageError as exc:
            raise StorageError(
                f"Migration {migration.version:04d}_{migration.name} failed on {self._path}: "
                f"{exc}. The database was left at the previous version."
            ) from exc
        logger.info(
            "applied migration %04d_%s to %s", migration.version, migration.name, self._path
        )


_APPLIED = "SELECT version FROM schema_migrations"


def _probe(path: Path) -> None:
    if not path.parent.exists():
        private_dir(path.parent)
    # Made 0600 before SQLite writes a byte; SQLite gives -wal and -shm the database's mode.
    private_file(path)
    sqlite3.connect(path).close()


def _open_failed(path: Path, exc: sqlite3.Error, busy_timeout: float) -> StorageError:
    if is_busy(exc):
        return StorageBusy(path, busy_timeout)
    return StorageError(
        f"Cannot open the database {path}: {exc}. If the file is damaged, stop Jobs, move it "
        "aside (Jobs then starts with an empty database) or restore it from a backup."
    )

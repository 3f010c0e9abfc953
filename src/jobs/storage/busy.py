"""The database locked by another program: recognising it, naming who holds it, waiting it out.

SQLite's busy timeout (Database) already waits a few seconds for a lock; past that, Database
raises StorageBusy and nothing was written, so the operation can simply run again. The loops
that must not die (inbound messages, the outbox, triggers, the memory index) wait with
`BusyWait` / `retry_busy`: growing pauses, one warning, one error naming the file and the
program that holds it once the lock has lasted long, one line when it is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

from jobs.errors import StorageBusy

logger = logging.getLogger(__name__)

T = TypeVar("T")

_BUSY_CODES: Final = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
_PROC: Final = Path("/proc")
_MAX_COMMAND: Final = 120


def is_busy(exc: sqlite3.Error, /) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED (any extended code): another connection holds a lock."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in _BUSY_CODES
    return "is locked" in str(exc)


def busy_cause(exc: BaseException, /) -> StorageBusy | None:
    """The StorageBusy that `exc` is, or that alone makes up an exception group (a TaskGroup
    whose only failure was the lock); None for anything else."""
    if isinstance(exc, StorageBusy):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        busy, rest = exc.split(StorageBusy)
        if busy is not None and rest is None:
            return busy_cause(busy.exceptions[0])
    return None


def lock_holders(path: Path, /) -> list[str]:
    """Other processes holding a write lock on the database (or its -wal/-shm files), else
    those that have it open: "pid 123 (sqlite3 db.sqlite)". Linux /proc; blocking."""
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    inodes = set()
    for file in files:
        with contextlib.suppress(OSError):
            inodes.add(file.stat().st_ino)
    pids = _writers(inodes) or _openers({str(file) for file in files})
    return [f"pid {pid} ({_command(pid)})" for pid in sorted(pids - {os.getpid()})]


def _writers(inodes: set[int]) -> set[int]:
    """Pids with a WRITE lock on one of `inodes`, from /proc/locks (POSIX locks: SQLite's)."""
    found: set[int] = set()
    with contextlib.suppress(OSError):
        for line in (_PROC / "locks").read_text().splitlines():
            fields = line.split()
            if len(fields) < 6 or fields[1] == "->" or fields[3] != "WRITE":
                continue  # a waiter's line, or a read lock (every open connection has one)
            with contextlib.suppress(ValueError):
                if int(fields[5].rsplit(":", 1)[-1]) in inodes and int(fields[4]) > 0:
                    found.add(int(fields[4]))
    return found - {os.getpid()}


def _openers(names: set[str]) -> set[int]:
    found: set[int] = set()
    for fd_dir in _PROC.glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            if any(str(fd.readlink()) in names for fd in fd_dir.iterdir()):
                found.add(int(fd_dir.parent.name))
    return found


def _command(pid: int) -> str:
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return "gone"
    command = " ".join(raw.replace(b"\0", b" ").decode(errors="replace").split())
    if len(command) > _MAX_COMMAND:
        command = command[: _MAX_COMMAND - 1] + "…"
    return command or "unknown"


@dataclass(frozen=True, slots=True)
class BusyPolicy:
    """How long and how often to try again while the database stays locked (seconds)."""

    first: float = 0.5
    """The first pause; each next one doubles, up to `longest`."""
    longest: float = 10.0
    alarm_after: float = 120.0
    """Locked this long: one error naming the file and who holds it."""
    give_up_after: float | None = None
    """None: never (a message must not be lost); else StorageBusy is raised after this long."""


class BusyWait:
    """One operation's wait for the lock: `pause` after each StorageBusy, `over` on success."""

    def __init__(self, *, what: str, policy: BusyPolicy | None = None) -> None:
        self._what = what
        self._policy = policy or BusyPolicy()
        self._since: float | None = None  # loop time of the first failure of this episode
        self._pauses = 0
        self._alarmed = False

    @property
    def waiting(self) -> bool:
        return self._since is not None

    async def pause(self, exc: StorageBusy, /) -> None:
        """Log (a warning the first time, an error once it lasts), then sleep the next pause.

        Raises `exc` again once the policy gives up.
        """
        now = asyncio.get_running_loop().time()
        if self._since is None:
            self._since = now - exc.waited  # SQLite waited this long before saying so
            logger.warning("%s: %s Trying again until it is free.", self._what, exc)
        locked = now - self._since
        limit = self._policy.give_up_after
        if limit is not None and locked >= limit:
            logger.error("%s: gave up after %.0f s: %s", self._what, locked, exc)
            self._reset()
            raise exc
        if not self._alarmed and locked >= self._policy.alarm_after:
            self._alarmed = True
            holders = await asyncio.to_thread(lock_holders, exc.path)
            logger.error(
                "%s: the database %s has been locked for %.0f s, held by %s. Nothing is lost: "
                "Jobs keeps trying; end that program's transaction (or stop it).",
                self._what,
                exc.path,
                locked,
                ", ".join(holders) or "another program (which one could not be told)",
            )
        delay = min(self._policy.longest, self._policy.first * 2**self._pauses)
        self._pauses += 1
        await asyncio.sleep(delay)

    def over(self) -> None:
        """The operation went through: one line if it had to wait."""
        if self._since is not None:
            locked = asyncio.get_running_loop().time() - self._since
            logger.info("%s: done; the database was locked for %.0f s.", self._what, locked)
        self._reset()

    def _reset(self) -> None:
        self._since, self._pauses, self._alarmed = None, 0, False


async def retry_busy(
    operation: Callable[[], Awaitable[T]], /, *, what: str, policy: BusyPolicy | None = None
) -> T:
    """`await operation()`, again after each StorageBusy (see BusyPolicy for how long)."""
    wait = BusyWait(what=what, policy=policy)
    while True:
        try:
            result = await operation()
        except StorageBusy as exc:
            await wait.pause(exc)
        else:
            wait.over()
            return result

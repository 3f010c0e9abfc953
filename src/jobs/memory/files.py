"""MEMORY.md, memory/YYYY-MM-DD.md and memory/conversations/: safe paths, atomic writes, appends.

Every write goes to a temp file in the same folder, is fsynced, then renamed over the old
file (and the folder fsynced): after a crash the file is either the old or the new text,
never half of one. A temp file a crash left behind is removed by `sweep_temp`. On a full disk
the write raises DiskFull and the old file is untouched (the temp file is removed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Final

from jobs.atomic import TEMP_SUFFIX, atomic_write
from jobs.clock import Clock, utc_now
from jobs.memory.document import DocumentError

logger = logging.getLogger(__name__)

MEMORY_FILE: Final = "MEMORY.md"
MEMORY_DIR: Final = "memory"
CONVERSATIONS_DIR: Final = "conversations"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class PathRefused(ValueError):
    """A memory path outside MEMORY.md and memory/, or a malformed date."""


def parse_day(text: str, /, *, today: date) -> date:
    """`today`, `yesterday` or YYYY-MM-DD as a date; PathRefused otherwise."""
    word = text.strip().lower()
    if word == "today":
        return today
    if word == "yesterday":
        return today - timedelta(days=1)
    if not _DAY.match(word):
        raise PathRefused(f"{text!r} is not a date: use YYYY-MM-DD, 'today' or 'yesterday'.")
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise PathRefused(f"{text!r} is not a real date.") from None


class MemoryFiles:
    """The memory files under WORKSPACE_DIR; edits of one file are serialised by a lock."""

    def __init__(self, *, workspace: Path, zone: tzinfo, clock: Clock = utc_now) -> None:
        self._root = workspace.resolve()
        self._zone = zone
        self._clock = clock
        self._locks: dict[Path, asyncio.Lock] = {}

    @property
    def root(self) -> Path:
        return self._root

    @property
    def memory_path(self) -> Path:
        return self._root / MEMORY_FILE

    @property
    def memory_dir(self) -> Path:
        return self._root / MEMORY_DIR

    def local(self, moment: datetime | None = None, /) -> datetime:
        """`moment` (default: now) in the owner's time zone: days follow the owner's clock."""
        return (moment or self._clock()).astimezone(self._zone)

    def today(self) -> date:
        return self.local().date()

    def daily_path(self, day: date, /) -> Path:
        return self.memory_dir / f"{day.isoformat()}.md"

    def conversation_path(self, day: date, /) -> Path:
        return self.memory_dir / CONVERSATIONS_DIR / f"{day.isoformat()}.md"

    def relative(self, path: Path, /) -> str:
        return path.relative_to(self._root).as_posix()

    def resolve(self, name: str, /) -> Path:
        """A readable memory file: MEMORY.md, a day (YYYY-MM-DD, today, yesterday) or a path
        under memory/ ending in .md (as search results cite them). PathRefused otherwise."""
        name = name.strip()
        if name.lower() in (MEMORY_FILE.lower(), "memory"):
            return self.memory_path
        if _DAY.match(name) or name.lower() in ("today", "yesterday"):
            return self.daily_path(parse_day(name, today=self.today()))
        candidate = (self._root / name).resolve()
        if not candidate.is_relative_to(self.memory_dir.resolve()) or candidate.suffix != ".md":
            raise PathRefused(
                f"{name!r} is not a memory file: give MEMORY.md, a date (YYYY-MM-DD), or a "
                "memory/….md path from a search result."
            )
        return candidate

    def writable_day(self, text: str | None, /) -> date:
        """The day a log entry goes to: today unless given; never a day in the future."""
        today = self.today()
        day = today if text is None or not text.strip() else parse_day(text, today=today)
        if day > today:
            raise PathRefused(f"{day.isoformat()} is in the future; the log is for what happened.")
        return day

    async def read(self, path: Path, /, *, lenient: bool = False) -> str:
        """The file's text ('' when it does not exist yet). A file that is not UTF-8 raises
        DocumentError (an edit must not rewrite what it cannot read), unless `lenient`."""
        try:
            return await asyncio.to_thread(
                path.read_text, encoding="utf-8", errors="replace" if lenient else "strict"
            )
        except FileNotFoundError:
            return ""
        except UnicodeDecodeError:
            raise DocumentError(
                f"{self.relative(path)} is not UTF-8 text; fix or move it by hand."
            ) from None

    async def write(self, path: Path, text: str, /) -> None:
        async with self._lock(path):
            await asyncio.to_thread(atomic_write, self._checked(path), text)

    async def edit(self, path: Path, change: Callable[[str], str], /) -> str:
        """Read, change and atomically write back one file; returns the new text.

        `change` may raise (DocumentError…): then nothing is written.
        """
        async with self._lock(path):
            new = change(await self.read(path))
            await asyncio.to_thread(atomic_write, self._checked(path), new)
            return new

    async def append(self, path: Path, entry: str, *, header: str) -> tuple[int, int]:
        """Append `entry` (lines) to `path`, starting it with `header` when new or empty.

        Returns the 1-based line range the entry occupies.
        """
        async with self._lock(path):
            old = await self.read(path)
            base = old.rstrip("\n") + "\n" if old.strip() else header
            start = base.count("\n") + 1
            new = base + entry.rstrip("\n") + "\n"
            await asyncio.to_thread(atomic_write, self._checked(path), new)
            return start, new.count("\n")

    def listing(self) -> dict[str, tuple[int, int]]:
        """Every indexable file, relative path → (mtime_ns, size). Blocking: run in a thread."""
        found: dict[str, tuple[int, int]] = {}
        paths = [self.memory_path]
        if self.memory_dir.is_dir():
            paths += sorted(self.memory_dir.rglob("*.md"))
        inside = self.memory_dir.resolve()
        for path in paths:
            if path.name.startswith("."):
                continue  # temp files of a write in flight (or of a crash)
            if path != self.memory_path and not path.resolve().is_relative_to(inside):
                continue  # a symlink out of memory/: never indexed, as never readable
            with contextlib.suppress(FileNotFoundError):
                stat = path.stat()
                found[self.relative(path)] = (stat.st_mtime_ns, stat.st_size)
        return found

    def sweep_temp(self) -> int:
        """Remove temp files left by a write that crashed. Blocking: run in a thread."""
        removed = 0
        folders = [self._root, self.memory_dir, self.memory_dir / CONVERSATIONS_DIR]
        for folder in folders:
            for temp in folder.glob(f".*{TEMP_SUFFIX}") if folder.is_dir() else ():
                with contextlib.suppress(FileNotFoundError):
                    temp.unlink()
                    removed += 1
                    logger.warning("removed %s, left by an interrupted write", temp)
        return removed

    def _checked(self, path: Path) -> Path:
        # Writes only ever land in MEMORY.md or under memory/: a last guard behind resolve().
        resolved = path.resolve()
        if resolved != self.memory_path and not resolved.is_relative_to(self.memory_dir):
            raise PathRefused(f"{path} is outside MEMORY.md and memory/")
        return resolved

    def _lock(self, path: Path) -> asyncio.Lock:
        return self._locks.setdefault(path.resolve(), asyncio.Lock())

"""MemoryStore: the memory files and their index kept in step: what the tools and turns call."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Final

from jobs.clock import Clock, utc_now
from jobs.errors import DiskFull, StorageBusy, StorageError
from jobs.memory.document import DocumentError
from jobs.memory.embeddings import Embedder
from jobs.memory.files import MemoryFiles
from jobs.memory.index import MemoryIndex, SyncReport
from jobs.memory.search import HybridSearch, SearchResult
from jobs.storage.database import Database
from jobs.storage.memory import MemoryRepo

logger = logging.getLogger(__name__)

MAX_READ_CHARS: Final = 20_000
LOG_PART_CHARS: Final = 140
"""One side of a conversation in the day's log: the log says what happened, not all of it."""
CONVERSATION_PART_CHARS: Final = 4000
REFRESH_SECONDS: Final = 10.0
"""A search first picks up files changed by hand (the owner's session edits them too)."""


@dataclass(frozen=True, slots=True)
class Appended:
    path: str
    start_line: int
    end_line: int


def _short(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _entry_lines(text: str) -> str:
    """Free text as the rest of a bullet: continuation lines indented, never a heading."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return "\n".join([lines[0], *(f"  {line}" if line else "" for line in lines[1:])])


def _quoted(text: str, limit: int) -> str:
    # A quote, so the owner's own '#' lines cannot turn into headings of the transcript.
    body = text.strip()
    if len(body) > limit:
        body = body[: limit - 1].rstrip() + "…"
    return "\n".join(f"> {line}".rstrip() for line in body.splitlines())


class MemoryStore:
    """Reads, edits, logs and searches; every write is indexed before the call returns."""

    def __init__(self, *, files: MemoryFiles, index: MemoryIndex, search: HybridSearch) -> None:
        self._files = files
        self._index = index
        self._search = search

    @property
    def files(self) -> MemoryFiles:
        return self._files

    @property
    def index(self) -> MemoryIndex:
        return self._index

    async def start(self) -> SyncReport:
        """Load the index and catch up with files changed while Jobs was stopped."""
        report = await self._index.start()
        logger.info(
            "memory index: %d files changed, %d chunks added, %d embedded",
            report.files,
            report.added,
            report.embedded,
        )
        return report

    async def run(self, *, every: float = 60.0) -> None:
        """Until cancelled: pick up edits made by hand, embed what the provider missed."""
        while True:
            await asyncio.sleep(every)
            try:
                await self._index.sync()
                await self._index.backfill()
            except StorageBusy as exc:
                logger.warning("memory: the index update waits for the next round: %s", exc)
            except (OSError, StorageError):
                logger.exception("memory: periodic index update failed; retrying later")

    async def read(self, name: str, /, *, start: int | None = None, end: int | None = None) -> str:
        """A memory file's lines `start`..`end` (1-based), numbered. PathRefused for bad names."""
        path = self._files.resolve(name)
        text = await self._files.read(path, lenient=True)
        if not text:
            return ""
        lines = text.splitlines()
        first = max(1, start or 1)
        last = min(len(lines), end or len(lines))
        shown = [f"{n:>5}  {lines[n - 1]}" for n in range(first, last + 1)]
        out, size = [], 0
        for line in shown:
            size += len(line) + 1
            if size > MAX_READ_CHARS:
                out.append(f"[… cut at {MAX_READ_CHARS} characters: read from a later line]")
                break
            out.append(line)
        return "\n".join(out)

    async def edit_memory(self, change: Callable[[str], str], /) -> str:
        """Apply `change` to MEMORY.md (atomically) and index the result; returns the new text.

        DiskFull: nothing was changed. A locked database only delays the indexing.
        """
        new = await self._files.edit(self._files.memory_path, change)
        await self._index_now([self._files.memory_path])
        return new

    async def append_daily(self, text: str, /, *, day: str | None = None) -> Appended:
        """Add a timestamped entry to a day's log (today unless `day`); never a future day."""
        if not text.strip():
            raise DocumentError("The log entry is empty.")
        when = self._files.writable_day(day)
        path = self._files.daily_path(when)
        stamp = self._files.local().strftime("%H:%M")
        prefix = f"- {stamp} " if when == self._files.today() else "- "
        start, end = await self._files.append(
            path, prefix + _entry_lines(text), header=f"# {when.isoformat()}\n\n"
        )
        await self._index_now([path])
        return Appended(self._files.relative(path), start, end)

    async def search(self, query: str, /, *, limit: int = 8) -> SearchResult:
        try:
            await self._index.refresh(max_age=REFRESH_SECONDS)
        except StorageBusy as exc:  # reading still works: search what is indexed already
            logger.warning("memory: searching without the newest edits: %s", exc)
        return await self._search.search(query, limit=limit)

    async def _index_now(self, paths: list[Path]) -> None:
        """Index files just written; while the database is locked the periodic sync (`run`)
        indexes them later: the files themselves are saved."""
        try:
            await self._index.sync_paths(paths)
        except StorageBusy as exc:
            names = ", ".join(self._files.relative(path) for path in paths)
            logger.warning("memory: %s saved, indexed later: %s", names, exc)

    async def record_exchange(
        self, session_key: str, prompt: str, reply: str, at: datetime, /
    ) -> bool:
        """Keep one owner exchange: a short line in the day's log, the whole of it (bounded)
        in memory/conversations/<day>.md, both indexed. False (and logged) if that failed:
        the conversation itself must not fail because memory could not be written."""
        local = self._files.local(at)
        day, stamp = local.date(), local.strftime("%H:%M")
        who = "" if session_key == "owner" else f"[{session_key}] "
        line = (
            f'- {stamp} {who}"{_short(prompt, LOG_PART_CHARS)}" → "{_short(reply, LOG_PART_CHARS)}"'
        )
        asked, answered = (
            _quoted(prompt, CONVERSATION_PART_CHARS),
            _quoted(reply, CONVERSATION_PART_CHARS),
        )
        transcript = f"## {stamp} {session_key}\n\n**Owner:**\n{asked}\n\n**Jobs:**\n{answered}\n"
        log, talk = self._files.daily_path(day), self._files.conversation_path(day)
        try:
            await self._files.append(log, line, header=f"# {day.isoformat()}\n\n")
            await self._files.append(
                talk, "\n" + transcript, header=f"# Conversations {day.isoformat()}\n"
            )
            await self._index_now([log, talk])
        except DiskFull as exc:
            logger.warning("memory: the %s exchange was not recorded: %s", session_key, exc)
            return False
        except (OSError, StorageError, DocumentError):
            logger.exception("memory: could not record the %s exchange", session_key)
            return False
        return True

    async def aclose(self) -> None:
        await self._index.aclose()


def open_memory(
    *,
    db: Database,
    workspace: Path,
    zone: tzinfo,
    embedder: Embedder | None,
    clock: Clock = utc_now,
) -> MemoryStore:
    """Wiring for app.build: the memory parts over one database and workspace."""
    files = MemoryFiles(workspace=workspace, zone=zone, clock=clock)
    index = MemoryIndex(repo=MemoryRepo(db), files=files, embedder=embedder)
    return MemoryStore(files=files, index=index, search=HybridSearch(index=index))

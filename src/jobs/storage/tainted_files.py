"""TaintedFileRepo: files a tainted session wrote; reading one later takes in outside text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jobs.storage.database import Database


@dataclass(frozen=True, slots=True)
class TaintedFile:
    path: str
    session_key: str
    caused_by: str


class TaintedFileRepo:
    """The ledger of files written by sessions that had read text the owner did not type."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, path: Path, /, *, session_key: str, caused_by: str) -> None:
        """Record that `path` (resolved) now holds what a tainted session wrote."""
        await self._db.execute(
            "INSERT INTO tainted_files (path, session_key, caused_by, written_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET"
            " session_key = excluded.session_key, caused_by = excluded.caused_by,"
            " written_at = excluded.written_at",
            (str(path), session_key, caused_by, self._db.now()),
        )

    async def under(self, path: Path, /) -> TaintedFile | None:
        """A tainted file at `path` or anywhere below it (a folder), or None."""
        text = str(path)
        below = text.rstrip("/") + "/"
        row = await self._db.fetch_one(
            "SELECT * FROM tainted_files WHERE path = ? OR substr(path, 1, ?) = ?"
            " ORDER BY written_at LIMIT 1",
            (text, len(below), below),
        )
        if row is None:
            return None
        return TaintedFile(row["path"], row["session_key"], row["caused_by"])

    async def forget(self, path: Path, /) -> None:
        """The file was deleted or rewritten by an untainted session."""
        await self._db.execute("DELETE FROM tainted_files WHERE path = ?", (str(path),))

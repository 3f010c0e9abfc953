"""Consistent copies of SQLite files while Jobs writes to them (SQLite's online backup API), and
what a copy holds: whether it is whole, and its schema version."""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from jobs.errors import StorageError
from jobs.home import private_file
from jobs.storage.database import BUSY_TIMEOUT
from jobs.storage.schema import load_migrations


def known_schema() -> int:
    """The newest schema version this Jobs can open."""
    return max((m.version for m in load_migrations()), default=0)


def snapshot(source: Path, target: Path, /) -> None:
    """Copy the SQLite database `source` to `target` as of one moment (the page copy runs in a
    single step under one read transaction, so writers in WAL mode are never held up)."""
    private_file(target)
    try:
        with (
            contextlib.closing(sqlite3.connect(source, timeout=BUSY_TIMEOUT)) as src,
            contextlib.closing(sqlite3.connect(target)) as dst,
        ):
            src.backup(dst)
    except sqlite3.Error as exc:
        raise StorageError(f"Could not copy the database {source}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Inspection:
    """What a database copy holds."""

    whole: bool
    """PRAGMA integrity_check found nothing wrong."""
    schema: int
    """Its newest migration (0: not a Jobs database, or an empty one)."""
    problem: str = ""


def inspect_copy(path: Path, /) -> Inspection:
    """Read-only look at a Jobs database file (a backup's copy)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            check = [str(row[0]) for row in db.execute("PRAGMA integrity_check")]
            try:
                row = db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                schema = int(row.fetchone()[0])
            except sqlite3.OperationalError:
                schema = 0
    except sqlite3.DatabaseError as exc:
        return Inspection(whole=False, schema=0, problem=str(exc))
    whole = check == ["ok"]
    return Inspection(whole=whole, schema=schema, problem="" if whole else "; ".join(check[:3]))


def move_paths(path: Path, moves: list[tuple[str, str]], /) -> None:
    """In a database copy restored to other folders: each stored path under an old folder
    (a session's working folder, a file waiting to be sent) made the same path under the new
    one, so sessions resume where their transcripts are."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        for old, new in sorted(moves, key=lambda move: -len(move[0])):
            for table, column in (("sessions", "cwd"), ("outbox", "file_path")):
                db.execute(
                    f"UPDATE {table} SET {column} = ? || substr({column}, ?)"  # noqa: S608
                    f" WHERE {column} = ? OR {column} LIKE ? ESCAPE '\\'",
                    (new, len(old) + 1, old, _like_prefix(old) + "/%"),
                )


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

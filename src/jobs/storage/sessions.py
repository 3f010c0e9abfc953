"""SessionRepo: one row per Claude session key: its SDK session id, folder, summary, last use."""

from __future__ import annotations

import builtins
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from jobs.storage.database import Database, from_iso


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """What is kept about a session between processes ("owner", "external:<id>", "task:<id>")."""

    key: str
    role: str
    sdk_session_id: str | None
    cwd: str
    summary: str
    created_at: datetime
    last_used_at: datetime
    tainted_by: str | None = None
    """Why the session is tainted (JSON written by jobs.sessions.taint), None when clean."""
    cost_total: float = 0.0
    """The session's cost as Claude Code last reported it (its total_cost_usd, which counts
    the whole session): the next turn's cost is the difference."""
    resume_at: str | None = None
    """The transcript entry the next start resumes at (a turn after it is cut), or None."""


def _record(row: sqlite3.Row) -> SessionRecord:
    return SessionRecord(
        key=row["key"],
        role=row["role"],
        sdk_session_id=row["sdk_session_id"],
        cwd=row["cwd"],
        summary=row["summary"],
        created_at=from_iso(row["created_at"]),
        last_used_at=from_iso(row["last_used_at"]),
        tainted_by=row["tainted_by"],
        resume_at=row["resume_at"],
        cost_total=float(row["cost_total"]),
    )


# A transcript is stored under its working directory, so a session moved to another cwd
# cannot be resumed: forget its SDK id then.
_UPSERT = """
INSERT INTO sessions (key, role, cwd, created_at, last_used_at)
VALUES (:key, :role, :cwd, :now, :now)
ON CONFLICT (key) DO UPDATE SET
    role = excluded.role,
    sdk_session_id = CASE WHEN sessions.cwd = excluded.cwd THEN sessions.sdk_session_id
                          ELSE NULL END,
    resume_at = CASE WHEN sessions.cwd = excluded.cwd THEN sessions.resume_at ELSE NULL END,
    cwd = excluded.cwd,
    last_used_at = excluded.last_used_at
RETURNING *
"""


class SessionRepo:
    """Session rows: an idle person costs a row here, not a process."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str, /) -> SessionRecord | None:
        row = await self._db.fetch_one("SELECT * FROM sessions WHERE key = ?", (key,))
        return None if row is None else _record(row)

    async def upsert(self, key: str, /, *, role: str, cwd: str) -> SessionRecord:
        """Create the row, or update role and cwd (a new cwd forgets the SDK session id)."""
        row = await self._db.fetch_one(
            _UPSERT, {"key": key, "role": role, "cwd": cwd, "now": self._db.now()}
        )
        if row is None:  # pragma: no cover - INSERT … RETURNING always yields the row
            raise RuntimeError("upsert returned no row")
        return _record(row)

    async def set_sdk_session_id(self, key: str, sdk_session_id: str | None, /) -> bool:
        """Remember the id from the SDK's init message (resume uses it next time). A new id
        (a fork that cut a turn, a fresh start) ends any pending `resume_at`."""
        return await self._update(
            "UPDATE sessions SET sdk_session_id = ?, resume_at = NULL, last_used_at = ?"
            " WHERE key = ?",
            (sdk_session_id, self._db.now(), key),
        )

    async def set_resume_at(self, key: str, entry: str | None, /) -> bool:
        """The next start of `key` resumes at transcript entry `entry` (None: at the end)."""
        return await self._update("UPDATE sessions SET resume_at = ? WHERE key = ?", (entry, key))

    async def touch(self, key: str, /) -> bool:
        return await self._update(
            "UPDATE sessions SET last_used_at = ? WHERE key = ?", (self._db.now(), key)
        )

    async def set_summary(self, key: str, summary: str, /) -> bool:
        """The short summary a fresh session starts from when resuming fails."""
        return await self._update("UPDATE sessions SET summary = ? WHERE key = ?", (summary, key))

    async def clear(self, key: str, /) -> bool:
        """Forget the SDK session id, the summary and the taint: the next start is fresh and
        has read nothing from outside (/clear)."""
        return await self._update(
            "UPDATE sessions SET sdk_session_id = NULL, resume_at = NULL, summary = '',"
            " tainted_by = NULL, cost_total = 0"
            " WHERE key = ?",
            (key,),
        )

    async def set_cost_total(self, key: str, total: float, /) -> bool:
        """The session's total cost as Claude Code last reported it."""
        return await self._update("UPDATE sessions SET cost_total = ? WHERE key = ?", (total, key))

    async def set_tainted(self, key: str, tainted_by: str, /) -> bool:
        """Mark the session tainted (kept until `clear`); an earlier cause is kept."""
        return await self._update(
            "UPDATE sessions SET tainted_by = COALESCE(tainted_by, ?) WHERE key = ?",
            (tainted_by, key),
        )

    async def delete(self, key: str, /) -> bool:
        """Forget the session entirely (a throwaway session after its one turn)."""
        return await self._update("DELETE FROM sessions WHERE key = ?", (key,))

    async def list(self) -> builtins.list[SessionRecord]:
        """Every session, most recently used first."""
        rows = await self._db.fetch_all("SELECT * FROM sessions ORDER BY last_used_at DESC, key")
        return [_record(row) for row in rows]

    async def _update(self, sql: str, params: tuple[object, ...]) -> bool:
        result = await self._db.execute(sql, params)
        return result.rowcount == 1

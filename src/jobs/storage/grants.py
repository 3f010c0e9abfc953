"""GrantRepo: the owner's standing approvals of one exact call in one session (scoped grants)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from jobs.storage.database import Database, from_iso, from_iso_or_none


@dataclass(frozen=True, slots=True)
class Grant:
    """ "Approve for this task / session": `tool` with exactly the input whose `fingerprint` it
    keeps may run again in `session_key` without asking, until revoked."""

    id: int
    session_key: str
    tool: str
    fingerprint: str
    action: str
    """The action as the owner saw it when granting."""
    caused_by: str
    approval_id: int | None
    created_at: datetime
    revoked_at: datetime | None
    uses: int

    @property
    def live(self) -> bool:
        return self.revoked_at is None


def _grant(row: sqlite3.Row) -> Grant:
    return Grant(
        id=row["id"],
        session_key=row["session_key"],
        tool=row["tool"],
        fingerprint=row["fingerprint"],
        action=row["action"],
        caused_by=row["caused_by"],
        approval_id=row["approval_id"],
        created_at=from_iso(row["created_at"]),
        revoked_at=from_iso_or_none(row["revoked_at"]),
        uses=row["uses"],
    )


class GrantRepo:
    """Grant rows: made once from an approval, used, revoked; never widened."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        session_key: str,
        tool: str,
        fingerprint: str,
        action: str,
        *,
        caused_by: str = "",
        approval_id: int | None = None,
    ) -> Grant:
        row = await self._db.fetch_one(
            "INSERT INTO grants (session_key, tool, fingerprint, action, caused_by, approval_id,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (session_key, tool, fingerprint, action, caused_by, approval_id, self._db.now()),
        )
        assert row is not None  # INSERT … RETURNING always returns the row
        return _grant(row)

    async def matching(self, session_key: str, fingerprint: str, /) -> Grant | None:
        """The live grant for exactly this call in this session, counting the use."""
        row = await self._db.fetch_one(
            "UPDATE grants SET uses = uses + 1 WHERE id = (SELECT id FROM grants"
            " WHERE session_key = ? AND fingerprint = ? AND revoked_at IS NULL"
            " ORDER BY id LIMIT 1) RETURNING *",
            (session_key, fingerprint),
        )
        return None if row is None else _grant(row)

    async def live(self) -> list[Grant]:
        rows = await self._db.fetch_all("SELECT * FROM grants WHERE revoked_at IS NULL ORDER BY id")
        return [_grant(row) for row in rows]

    async def revoke(self, grant_id: int, /) -> Grant | None:
        """End one grant; None when there is no live grant with that id."""
        row = await self._db.fetch_one(
            "UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING *",
            (self._db.now(), grant_id),
        )
        return None if row is None else _grant(row)

    async def revoke_session(self, session_key: str, /) -> int:
        """End every grant of a session (/clear); how many there were."""
        result = await self._db.execute(
            "UPDATE grants SET revoked_at = ? WHERE session_key = ? AND revoked_at IS NULL",
            (self._db.now(), session_key),
        )
        return result.rowcount

"""HeldEventRepo: trigger events that came while /pause held everything, run after /resume."""

from __future__ import annotations

from dataclasses import dataclass

from jobs.storage.database import Database


@dataclass(frozen=True, slots=True)
class HeldEvent:
    id: int
    slot: str
    event: str
    """The event as JSON (written and read by jobs.triggers)."""


class HeldEventRepo:
    """Held events, one per slot: a newer event of the same slot replaces the older one."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def hold(self, slot: str, event: str, /) -> None:
        await self._db.execute(
            "INSERT INTO held_events (slot, event, held_at) VALUES (?, ?, ?)"
            " ON CONFLICT (slot) DO UPDATE SET event = excluded.event, held_at = excluded.held_at",
            (slot, event, self._db.now()),
        )

    async def list(self, *, limit: int = 1000) -> list[HeldEvent]:
        """The held events, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT id, slot, event FROM held_events ORDER BY id LIMIT ?", (limit,)
        )
        return [HeldEvent(row["id"], row["slot"], row["event"]) for row in rows]

    async def count(self) -> int:
        row = await self._db.fetch_one("SELECT COUNT(*) AS n FROM held_events")
        return 0 if row is None else int(row["n"])

    async def remove(self, event_id: int, /) -> bool:
        result = await self._db.execute("DELETE FROM held_events WHERE id = ?", (event_id,))
        return result.rowcount == 1

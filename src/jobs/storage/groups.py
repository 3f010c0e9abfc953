"""GroupRepo: the group chats the owner enabled (Jobs answers there when addressed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jobs.storage.database import Database, from_iso


@dataclass(frozen=True, slots=True)
class Group:
    chat_id: int
    title: str
    enabled_at: datetime


class GroupRepo:
    """Enabled groups: added and removed by the owner only."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def enable(self, chat_id: int, title: str, /) -> bool:
        """False when it was enabled already (its title is refreshed)."""
        old = await self.get(chat_id)
        await self._db.execute(
            "INSERT INTO groups (chat_id, title, enabled_at) VALUES (?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET title = excluded.title",
            (chat_id, title, self._db.now()),
        )
        return old is None

    async def disable(self, chat_id: int, /) -> bool:
        result = await self._db.execute("DELETE FROM groups WHERE chat_id = ?", (chat_id,))
        return result.rowcount == 1

    async def get(self, chat_id: int, /) -> Group | None:
        row = await self._db.fetch_one("SELECT * FROM groups WHERE chat_id = ?", (chat_id,))
        return (
            None
            if row is None
            else Group(row["chat_id"], row["title"], from_iso(row["enabled_at"]))
        )

    async def all(self) -> list[Group]:
        rows = await self._db.fetch_all("SELECT * FROM groups ORDER BY enabled_at, chat_id")
        return [Group(r["chat_id"], r["title"], from_iso(r["enabled_at"])) for r in rows]

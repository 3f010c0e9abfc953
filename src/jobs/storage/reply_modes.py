"""ReplyModeRepo: whose answers Jobs keeps as Telegram drafts for the owner instead of sending."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from jobs.storage.database import Database

STRANGERS: Final = 0
"""The rule for everyone not in the owner's contacts who has no rule of their own."""


@dataclass(frozen=True, slots=True)
class ReplyMode:
    """`drafts` True: answers to `person_id` (STRANGERS: to strangers) are drafts."""

    person_id: int
    drafts: bool


class ReplyModeRepo:
    """The owner's rules, per person and for strangers; no rule means: send."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def set(self, person_id: int, /, *, drafts: bool) -> bool:
        """The owner's rule for a person (or STRANGERS); False when it was already so."""
        old = await self.rule(person_id)
        if old is not None and old == drafts:
            return False
        await self._db.execute(
            "INSERT INTO reply_modes (person_id, drafts, set_at) VALUES (?, ?, ?)"
            " ON CONFLICT (person_id) DO UPDATE SET drafts = excluded.drafts,"
            " set_at = excluded.set_at",
            (person_id, int(drafts), self._db.now()),
        )
        return True

    async def clear(self, person_id: int, /) -> bool:
        """Forget a person's own rule (strangers' applies again); False when there was none."""
        result = await self._db.execute("DELETE FROM reply_modes WHERE person_id = ?", (person_id,))
        return result.rowcount == 1

    async def rule(self, person_id: int, /) -> bool | None:
        """The rule set for exactly this person (or STRANGERS); None when there is none."""
        row = await self._db.fetch_one(
            "SELECT drafts FROM reply_modes WHERE person_id = ?", (person_id,)
        )
        return None if row is None else bool(row["drafts"])

    async def drafts_for(self, person_id: int, /, *, is_contact: bool) -> bool:
        """Whether answers to this person are drafts: their own rule, else (for someone not
        in the owner's contacts) the strangers' rule, else not."""
        row = await self._db.fetch_one(
            "SELECT drafts FROM reply_modes WHERE person_id IN (?, ?)"
            " ORDER BY person_id = ? DESC LIMIT 1",
            (person_id, STRANGERS if not is_contact else person_id, person_id),
        )
        return row is not None and bool(row["drafts"])

    async def all(self) -> list[ReplyMode]:
        rows = await self._db.fetch_all("SELECT * FROM reply_modes ORDER BY person_id")
        return [ReplyMode(row["person_id"], bool(row["drafts"])) for row in rows]

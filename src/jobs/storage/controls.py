"""ControlRepo: the owner's choice of models by role, and whether /pause holds everything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jobs.storage.database import Database, from_iso_or_none


@dataclass(frozen=True, slots=True)
class StoredModel:
    """The owner's model for a role, and its fallback (None: Claude Code's default / none)."""

    role: str
    model: str | None
    fallback: str | None


class ControlRepo:
    """Rows of `model_choices` and `pause`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def models(self) -> dict[str, StoredModel]:
        rows = await self._db.fetch_all("SELECT role, model, fallback FROM model_choices")
        return {
            row["role"]: StoredModel(row["role"], row["model"], row["fallback"]) for row in rows
        }

    async def set_model(self, role: str, model: str | None, fallback: str | None, /) -> None:
        await self._db.execute(
            "INSERT INTO model_choices (role, model, fallback, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (role) DO UPDATE SET model = excluded.model,"
            " fallback = excluded.fallback, updated_at = excluded.updated_at",
            (role, model, fallback, self._db.now()),
        )

    async def drop_model(self, role: str, /) -> bool:
        """Back to the setting; False when the owner had chosen nothing."""
        result = await self._db.execute("DELETE FROM model_choices WHERE role = ?", (role,))
        return result.rowcount == 1

    async def paused_since(self) -> datetime | None:
        row = await self._db.fetch_one("SELECT since FROM pause WHERE id = 1")
        return None if row is None else from_iso_or_none(row["since"])

    async def pause(self) -> bool:
        """Paused from now; False when it already was."""
        result = await self._db.execute(
            "INSERT INTO pause (id, since) VALUES (1, ?) ON CONFLICT DO NOTHING", (self._db.now(),)
        )
        return result.rowcount == 1

    async def resume(self) -> bool:
        """Not paused any more; False when it was not."""
        result = await self._db.execute("DELETE FROM pause WHERE id = 1")
        return result.rowcount == 1

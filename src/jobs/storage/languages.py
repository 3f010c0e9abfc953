"""LanguageRepo: the language Jobs speaks with each person, and who decided it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from jobs.storage.database import Database


class SetBy(StrEnum):
    DETECTED = "detected"
    OWNER = "owner"


@dataclass(frozen=True, slots=True)
class SpokenLanguage:
    code: str
    set_by: SetBy


class LanguageRepo:
    """One row per person whose language is known; the owner's choice outranks detection."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: int, /) -> SpokenLanguage | None:
        row = await self._db.fetch_one(
            "SELECT code, set_by FROM languages WHERE user_id = ?", (user_id,)
        )
        return None if row is None else SpokenLanguage(row["code"], SetBy(row["set_by"]))

    async def detected(self, user_id: int, code: str, /) -> None:
        """Record a detected language, unless the owner chose one for this person."""
        await self._db.execute(
            "INSERT INTO languages (user_id, code, set_by, updated_at)"
            " VALUES (:user_id, :code, 'detected', :now)"
            " ON CONFLICT (user_id) DO UPDATE SET code = excluded.code,"
            " updated_at = excluded.updated_at WHERE languages.set_by = 'detected'",
            {"user_id": user_id, "code": code, "now": self._db.now()},
        )

    async def choose(self, user_id: int, code: str | None, /) -> None:
        """The owner's choice for a person; None forgets it (detection decides again)."""
        if code is None:
            await self._db.execute("DELETE FROM languages WHERE user_id = ?", (user_id,))
            return
        await self._db.execute(
            "INSERT INTO languages (user_id, code, set_by, updated_at)"
            " VALUES (:user_id, :code, 'owner', :now)"
            " ON CONFLICT (user_id) DO UPDATE SET code = excluded.code, set_by = 'owner',"
            " updated_at = excluded.updated_at",
            {"user_id": user_id, "code": code, "now": self._db.now()},
        )

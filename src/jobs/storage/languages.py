"""LanguageRepo: the language Jobs speaks with each person, and who decided it."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from jobs.storage.database import Database, Params


class SetBy(StrEnum):
    DETECTED = "detected"
    OWNER = "owner"


@dataclass(frozen=True, slots=True)
class SpokenLanguage:
    code: str
    set_by: SetBy


_REMEMBERED: Final = 512
"""People whose language is kept in memory: every notice and turn asks for the writer's."""


class LanguageRepo:
    """One row per person whose language is known; the owner's choice outranks detection.

    Reads are remembered (the most recent people's, unknown ones too): each turn asks for its
    writer's language twice, and only this repo writes the table while Jobs runs."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._known: OrderedDict[int, SpokenLanguage | None] = OrderedDict()

    async def get(self, user_id: int, /) -> SpokenLanguage | None:
        if user_id in self._known:
            self._known.move_to_end(user_id)
            return self._known[user_id]
        row = await self._db.fetch_one(
            "SELECT code, set_by FROM languages WHERE user_id = ?", (user_id,)
        )
        spoken = None if row is None else SpokenLanguage(row["code"], SetBy(row["set_by"]))
        self._known[user_id] = spoken
        if len(self._known) > _REMEMBERED:
            self._known.popitem(last=False)
        return spoken

    async def detected(self, user_id: int, code: str, /) -> None:
        """Record a detected language, unless the owner chose one for this person."""
        await self._write(
            user_id,
            "INSERT INTO languages (user_id, code, set_by, updated_at)"
            " VALUES (:user_id, :code, 'detected', :now)"
            " ON CONFLICT (user_id) DO UPDATE SET code = excluded.code,"
            " updated_at = excluded.updated_at WHERE languages.set_by = 'detected'",
            {"user_id": user_id, "code": code, "now": self._db.now()},
        )

    async def choose(self, user_id: int, code: str | None, /) -> None:
        """The owner's choice for a person; None forgets it (detection decides again)."""
        if code is None:
            await self._write(user_id, "DELETE FROM languages WHERE user_id = ?", (user_id,))
            return
        await self._write(
            user_id,
            "INSERT INTO languages (user_id, code, set_by, updated_at)"
            " VALUES (:user_id, :code, 'owner', :now)"
            " ON CONFLICT (user_id) DO UPDATE SET code = excluded.code, set_by = 'owner',"
            " updated_at = excluded.updated_at",
            {"user_id": user_id, "code": code, "now": self._db.now()},
        )

    async def _write(self, user_id: int, sql: str, params: Params, /) -> None:
        try:
            await self._db.execute(sql, params)
        finally:
            # After the write: a read that went to the database before it may have kept the
            # old row.
            self._known.pop(user_id, None)

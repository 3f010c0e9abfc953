"""PeopleRepo: the Telegram users Jobs has seen, and who may talk to it (access, announce once)."""

from __future__ import annotations

import builtins
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from jobs.storage.database import Database, from_iso, from_iso_or_none


class Access(StrEnum):
    """Whether a person may talk to Jobs."""

    UNKNOWN = "unknown"
    """Never decided."""
    PENDING = "pending"
    """Announced to the owner, who has not decided yet."""
    ALLOWED = "allowed"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class Person:
    """A Telegram user as last seen, with the owner's decision about them."""

    user_id: int
    username: str | None
    display_name: str
    phone: str | None
    is_contact: bool
    access: Access
    announced_at: datetime | None
    created_at: datetime
    updated_at: datetime


def _person(row: sqlite3.Row) -> Person:
    return Person(
        user_id=row["user_id"],
        username=row["username"],
        display_name=row["display_name"],
        phone=row["phone"],
        is_contact=bool(row["is_contact"]),
        access=Access(row["access"]),
        announced_at=from_iso_or_none(row["announced_at"]),
        created_at=from_iso(row["created_at"]),
        updated_at=from_iso(row["updated_at"]),
    )


# A sighting refreshes what Telegram tells us but never the owner's decision (access). An
# empty name or a hidden phone does not erase what we knew; a username can be dropped.
_UPSERT = """
INSERT INTO users (user_id, username, display_name, phone, is_contact, created_at, updated_at)
VALUES (:user_id, :username, :display_name, :phone, :is_contact, :now, :now)
ON CONFLICT (user_id) DO UPDATE SET
    username = excluded.username,
    display_name = CASE WHEN excluded.display_name != '' THEN excluded.display_name
                        ELSE users.display_name END,
    phone = COALESCE(excluded.phone, users.phone),
    is_contact = excluded.is_contact,
    updated_at = excluded.updated_at
RETURNING *
"""


class PeopleRepo:
    """Users, their access state, and whether the owner has been told about them."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert_seen(
        self,
        user_id: int,
        /,
        *,
        username: str | None = None,
        display_name: str = "",
        phone: str | None = None,
        is_contact: bool = False,
    ) -> Person:
        """Record a sighting of a user (new or known); their access is kept as it was."""
        row = await self._db.fetch_one(
            _UPSERT,
            {
                "user_id": user_id,
                "username": _clean_username(username) or None,
                "display_name": display_name,
                "phone": phone,
                "is_contact": int(is_contact),
                "now": self._db.now(),
            },
        )
        if row is None:  # pragma: no cover - INSERT … RETURNING always yields the row
            raise RuntimeError("upsert returned no row")
        return _person(row)

    async def get(self, user_id: int, /) -> Person | None:
        row = await self._db.fetch_one("SELECT * FROM users WHERE user_id = ?", (user_id,))
        return None if row is None else _person(row)

    async def find_by_username(self, name: str, /) -> Person | None:
        """Look up by @username, case-insensitively; the leading "@" is optional."""
        username = _clean_username(name)
        if not username:
            return None
        row = await self._db.fetch_one(
            "SELECT * FROM users WHERE username = ? COLLATE NOCASE"
            " ORDER BY updated_at DESC LIMIT 1",
            (username,),
        )
        return None if row is None else _person(row)

    async def set_access(self, user_id: int, access: Access, /) -> Person | None:
        """The owner's decision; None when the user was never seen."""
        row = await self._db.fetch_one(
            "UPDATE users SET access = ?, updated_at = ? WHERE user_id = ? RETURNING *",
            (str(Access(access)), self._db.now(), user_id),
        )
        return None if row is None else _person(row)

    async def mark_announced(self, user_id: int, /) -> bool:
        """True only the first time (announce a person once); an unknown person becomes pending."""
        result = await self._db.execute(
            "UPDATE users SET announced_at = :now, updated_at = :now,"
            " access = CASE WHEN access = 'unknown' THEN 'pending' ELSE access END"
            " WHERE user_id = :user_id AND announced_at IS NULL",
            {"now": self._db.now(), "user_id": user_id},
        )
        return result.rowcount == 1

    async def list(self, access: Access | None = None) -> builtins.list[Person]:
        """Everyone seen (or only those with one access state), most recently seen first."""
        rows = await self._db.fetch_all(
            "SELECT * FROM users WHERE (:access IS NULL OR access = :access)"
            " ORDER BY updated_at DESC, user_id",
            {"access": None if access is None else str(Access(access))},
        )
        return [_person(row) for row in rows]


def _clean_username(name: str | None) -> str:
    return (name or "").strip().removeprefix("@")

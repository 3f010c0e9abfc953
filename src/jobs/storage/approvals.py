"""ApprovalRepo: actions waiting for the owner's yes/no, each with a short code and an expiry."""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from jobs.errors import StorageError
from jobs.storage.database import Database, from_iso, from_iso_or_none, to_iso

CODE_ALPHABET: Final = "abcdefghjkmnpqrstuvwxyz23456789"
"""Lowercase letters and digits without the look-alikes i, l, o, 0 and 1."""
CODE_LENGTH: Final = 5
_CODE_ATTEMPTS: Final = 20


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Approval:
    """One request to the owner: `action` says exactly what would run."""

    id: int
    code: str
    session_key: str
    requested_by: int | None
    tool: str
    action: str
    state: ApprovalState
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    caused_by: str = ""
    """Whose text led to the request, as the owner was told it."""
    outbox_id: int | None = None
    """The outbox row that asked the owner (a reply to that message answers it)."""


def _approval(row: sqlite3.Row) -> Approval:
    return Approval(
        id=row["id"],
        code=row["code"],
        session_key=row["session_key"],
        requested_by=row["requested_by"],
        tool=row["tool"],
        action=row["action"],
        state=ApprovalState(row["state"]),
        created_at=from_iso(row["created_at"]),
        expires_at=from_iso(row["expires_at"]),
        decided_at=from_iso_or_none(row["decided_at"]),
        caused_by=row["caused_by"],
        outbox_id=row["outbox_id"],
    )


def new_code() -> str:
    """A random approval code, e.g. "k7mq3"."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str, /) -> str:
    """The code as stored, from what the owner typed ("  K7MQ3 " → "k7mq3")."""
    return text.strip().lower()


_INSERT = """
INSERT INTO approvals (code, session_key, requested_by, tool, action, created_at, expires_at,
                       caused_by)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (code) DO NOTHING
RETURNING *
"""


class ApprovalRepo:
    """Approval rows. A decision only lands on a pending row that has not expired."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        session_key: str,
        requested_by: int | None,
        tool: str,
        action: str,
        ttl: timedelta,
        *,
        caused_by: str = "",
    ) -> Approval:
        """A new pending approval with a code no other approval has ever had."""
        now = self._db.clock()
        for _ in range(_CODE_ATTEMPTS):
            row = await self._db.fetch_one(
                _INSERT,
                (
                    new_code(),
                    session_key,
                    requested_by,
                    tool,
                    action,
                    to_iso(now),
                    to_iso(now + ttl),
                    caused_by,
                ),
            )
            if row is not None:
                return _approval(row)
        raise StorageError("Could not find a free approval code; too many approvals are stored.")

    async def get(self, approval_id: int, /) -> Approval | None:
        row = await self._db.fetch_one("SELECT * FROM approvals WHERE id = ?", (approval_id,))
        return None if row is None else _approval(row)

    async def get_by_code(self, code: str, /) -> Approval | None:
        row = await self._db.fetch_one(
            "SELECT * FROM approvals WHERE code = ?", (normalize_code(code),)
        )
        return None if row is None else _approval(row)

    async def decide(self, code: str, state: ApprovalState, /) -> Approval | None:
        """Approve or deny; None when the code is unknown, already decided, or expired."""
        if ApprovalState(state) not in (ApprovalState.APPROVED, ApprovalState.DENIED):
            raise ValueError(f"decide() takes approved or denied, not {state!r}")
        now = self._db.now()
        row = await self._db.fetch_one(
            "UPDATE approvals SET state = ?, decided_at = ?"
            " WHERE code = ? AND state = 'pending' AND expires_at > ? RETURNING *",
            (str(state), now, normalize_code(code), now),
        )
        return None if row is None else _approval(row)

    async def attach_message(self, approval_id: int, outbox_id: int, /) -> None:
        """Remember the outbox row that asked the owner about this approval."""
        await self._db.execute(
            "UPDATE approvals SET outbox_id = ? WHERE id = ?", (outbox_id, approval_id)
        )

    async def asked_in(self, chat_id: int, msg_id: int, /) -> Approval | None:
        """The approval a sent Telegram message (any chunk of it) asked about, if any."""
        row = await self._db.fetch_one(
            "SELECT a.* FROM approvals AS a JOIN sent_messages AS s ON s.outbox_id = a.outbox_id"
            " WHERE s.chat_id = ? AND s.msg_id = ?",
            (chat_id, msg_id),
        )
        return None if row is None else _approval(row)

    async def expire(self, approval_id: int, /) -> Approval | None:
        """End a pending approval nobody waits for any more; None if it was decided already."""
        row = await self._db.fetch_one(
            "UPDATE approvals SET state = 'expired', decided_at = ?"
            " WHERE id = ? AND state = 'pending' RETURNING *",
            (self._db.now(), approval_id),
        )
        return None if row is None else _approval(row)

    async def expire_pending(self) -> int:
        """At start: nothing waits for the approvals of a previous run, so all of them end."""
        result = await self._db.execute(
            "UPDATE approvals SET state = 'expired', decided_at = ? WHERE state = 'pending'",
            (self._db.now(),),
        )
        return result.rowcount

    async def expire_due(self) -> list[Approval]:
        """Mark pending approvals past their expiry as expired, and return them."""
        now = self._db.now()
        rows = await self._db.fetch_all(
            "UPDATE approvals SET state = 'expired', decided_at = ?"
            " WHERE state = 'pending' AND expires_at <= ? RETURNING *",
            (now, now),
        )
        return sorted((_approval(row) for row in rows), key=lambda approval: approval.id)

    async def pending(self) -> list[Approval]:
        """Approvals still waiting, oldest first (expired ones too, until `expire_due` runs)."""
        rows = await self._db.fetch_all(
            "SELECT * FROM approvals WHERE state = 'pending' ORDER BY id"
        )
        return [_approval(row) for row in rows]

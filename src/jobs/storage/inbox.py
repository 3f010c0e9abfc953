"""InboxRepo: every inbound message stored once per (chat_id, msg_id), claimed, finished once."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from jobs.messages import InboundMessage
from jobs.storage.database import Database, from_iso, from_iso_or_none


class InboxState(StrEnum):
    """Where an inbound message is; the last three are final."""

    PENDING = "pending"
    PROCESSING = "processing"
    ANSWERED = "answered"
    IGNORED = "ignored"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self not in (InboxState.PENDING, InboxState.PROCESSING)


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One stored inbound message and its processing state."""

    id: int
    chat_id: int
    msg_id: int
    sender_id: int
    text: str
    sender_name: str
    sender_username: str | None
    sender_is_contact: bool
    reply_to: int | None
    media: dict[str, str | int] | None
    state: InboxState
    attempts: int
    error: str | None
    received_at: datetime
    finished_at: datetime | None

    def to_message(self) -> InboundMessage:
        return InboundMessage(
            chat_id=self.chat_id,
            msg_id=self.msg_id,
            sender_id=self.sender_id,
            text=self.text,
            sender_name=self.sender_name,
            sender_username=self.sender_username,
            sender_is_contact=self.sender_is_contact,
            reply_to=self.reply_to,
            media=self.media,
        )


def _payload(msg: InboundMessage) -> str:
    return json.dumps(
        {
            "sender_name": msg.sender_name,
            "username": msg.sender_username,
            "is_contact": msg.sender_is_contact,
            "reply_to": msg.reply_to,
            "media": msg.media,
        },
        ensure_ascii=False,
    )


def _item(row: sqlite3.Row) -> InboxItem:
    payload: dict[str, Any] = json.loads(row["payload"] or "{}")
    return InboxItem(
        id=row["id"],
        chat_id=row["chat_id"],
        msg_id=row["msg_id"],
        sender_id=row["sender_id"],
        text=row["text"],
        sender_name=str(payload.get("sender_name") or ""),
        sender_username=payload.get("username"),
        sender_is_contact=bool(payload.get("is_contact", False)),
        reply_to=payload.get("reply_to"),
        media=payload.get("media"),
        state=InboxState(row["state"]),
        attempts=row["attempts"],
        error=row["error"],
        received_at=from_iso(row["received_at"]),
        finished_at=from_iso_or_none(row["finished_at"]),
    )


_OPEN = ("pending", "processing")


class InboxRepo:
    """The durable inbox: a message is committed here before anything else happens to it."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, msg: InboundMessage, /) -> InboxItem | None:
        """Store a new message; None when (chat_id, msg_id) is already stored (a duplicate)."""
        row = await self._db.fetch_one(
            "INSERT INTO inbox (chat_id, msg_id, sender_id, text, payload, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (chat_id, msg_id) DO NOTHING RETURNING *",
            (msg.chat_id, msg.msg_id, msg.sender_id, msg.text, _payload(msg), self._db.now()),
        )
        return None if row is None else _item(row)

    async def get(self, item_id: int, /) -> InboxItem | None:
        row = await self._db.fetch_one("SELECT * FROM inbox WHERE id = ?", (item_id,))
        return None if row is None else _item(row)

    async def claim_next(self, chat_id: int, /) -> InboxItem | None:
        """Move the chat's oldest pending message to processing (attempts + 1) and return it."""
        row = await self._db.fetch_one(
            "UPDATE inbox SET state = 'processing', attempts = attempts + 1"
            " WHERE id = (SELECT id FROM inbox WHERE chat_id = ? AND state = 'pending'"
            "             ORDER BY msg_id, id LIMIT 1)"
            " RETURNING *",
            (chat_id,),
        )
        return None if row is None else _item(row)

    async def claim_pending_for(self, chat_id: int, /) -> list[InboxItem]:
        """Claim every pending message of a chat at once (follow-ups to a running turn)."""
        rows = await self._db.fetch_all(
            "UPDATE inbox SET state = 'processing', attempts = attempts + 1"
            " WHERE chat_id = ? AND state = 'pending' RETURNING *",
            (chat_id,),
        )
        items = [_item(row) for row in rows]
        items.sort(key=lambda item: (item.msg_id, item.id))  # RETURNING has no order
        return items

    async def chats_with_pending(self) -> list[int]:
        """Chats that have pending messages, the longest-waiting first."""
        rows = await self._db.fetch_all(
            "SELECT chat_id FROM inbox WHERE state = 'pending' GROUP BY chat_id ORDER BY MIN(id)"
        )
        return [row["chat_id"] for row in rows]

    async def finish(self, item_id: int, state: InboxState, error: str | None = None) -> bool:
        """Give a message its one final state; False when it was already final (or is unknown)."""
        if not InboxState(state).is_final:
            raise ValueError(f"finish() needs a final state, not {state!r}")
        result = await self._db.execute(
            "UPDATE inbox SET state = ?, error = ?, finished_at = ?"
            " WHERE id = ? AND state IN (?, ?)",
            (str(state), error, self._db.now(), item_id, *_OPEN),
        )
        return result.rowcount == 1

    async def finish_all(self, item_ids: Sequence[int], state: InboxState) -> int:
        """`finish` for several rows in one statement (a reply and the follow-ups it answers);
        returns how many were still open."""
        if not InboxState(state).is_final:
            raise ValueError(f"finish_all() needs a final state, not {state!r}")
        if not item_ids:
            return 0
        marks = ", ".join("?" * len(item_ids))
        result = await self._db.execute(
            "UPDATE inbox SET state = ?, error = NULL, finished_at = ?"  # noqa: S608 - only ?s
            f" WHERE id IN ({marks}) AND state IN (?, ?)",
            (str(state), self._db.now(), *item_ids, *_OPEN),
        )
        return result.rowcount

    async def requeue_interrupted(self) -> int:
        """At startup: messages left processing by a crash go back to pending. Returns how many."""
        result = await self._db.execute(
            "UPDATE inbox SET state = 'pending' WHERE state = 'processing'"
        )
        return result.rowcount

    async def count_by_state(self) -> dict[str, int]:
        """How many messages are in each state (every state present, zeros included)."""
        counts = {str(state): 0 for state in InboxState}
        rows = await self._db.fetch_all("SELECT state, COUNT(*) AS n FROM inbox GROUP BY state")
        for row in rows:
            counts[row["state"]] = row["n"]
        return counts

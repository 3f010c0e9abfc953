"""InboxRepo: every inbound message stored once per (chat_id, msg_id), claimed, finished once."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from jobs.messages import InboundMessage, InGroup, Replied
from jobs.storage.database import Database, Statements, from_iso, from_iso_or_none, to_iso


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
    deferred_at: datetime | None = None
    """When the model's outage first made it wait (None: never, or answered since)."""
    forwarded_from: str | None = None
    """Whose message this forwards (InboundMessage.forwarded_from); None: the sender's own."""
    replied: Replied | None = None
    """The earlier message this one replies to (InboundMessage.replied)."""
    group: InGroup | None = None
    """Written in a group (InboundMessage.group)."""

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
            forwarded_from=self.forwarded_from,
            replied=self.replied,
            group=self.group,
        )


def _payload(msg: InboundMessage) -> str:
    return json.dumps(
        {
            "sender_name": msg.sender_name,
            "username": msg.sender_username,
            "is_contact": msg.sender_is_contact,
            "reply_to": msg.reply_to,
            "media": msg.media,
            "forwarded_from": msg.forwarded_from,
            "replied": None if msg.replied is None else asdict(msg.replied),
            "group": None if msg.group is None else asdict(msg.group),
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
        deferred_at=from_iso_or_none(row["deferred_at"]),
        forwarded_from=payload.get("forwarded_from"),
        replied=_replied(payload.get("replied")),
        group=_group(payload.get("group")),
    )


def _group(stored: dict[str, Any] | None) -> InGroup | None:
    if not stored:
        return None
    return InGroup(str(stored.get("title", "")), bool(stored.get("addressed", False)))


def _replied(stored: dict[str, Any] | None) -> Replied | None:
    if not stored:
        return None
    by = stored.get("by")
    return Replied(
        msg_id=int(stored["msg_id"]),
        text=str(stored.get("text", "")),
        by=by if by in ("owner", "jobs") else "person",
        outside=bool(stored.get("outside", True)),
    )


_OPEN = ("pending", "processing")
# A deferred message (the model was down) is not due before its not_before; one held by /pause
# is not due until /resume.
_DUE = "(not_before IS NULL OR not_before <= :now) AND held IS NULL"
_CLAIM_NEXT = f"""
UPDATE inbox SET state = 'processing', attempts = attempts + 1
WHERE id = (SELECT id FROM inbox WHERE chat_id = :chat AND state = 'pending' AND {_DUE}
            ORDER BY msg_id, id LIMIT 1)
RETURNING *
"""  # noqa: S608 - a constant fragment, no outside input
_CLAIM_DUE = f"""
UPDATE inbox SET state = 'processing', attempts = attempts + 1
WHERE chat_id = :chat AND state = 'pending' AND {_DUE} RETURNING *
"""  # noqa: S608 - a constant fragment, no outside input
_CHATS_DUE = f"""
SELECT chat_id FROM inbox WHERE state = 'pending' AND {_DUE} GROUP BY chat_id ORDER BY MIN(id)
"""  # noqa: S608 - a constant fragment, no outside input


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

    async def add_many(self, messages: Sequence[InboundMessage], /) -> list[InboxItem | None]:
        """`add` for several messages in one transaction (a group commit): for each, its row,
        or None for a duplicate."""
        if len(messages) == 1:  # one INSERT is a transaction of its own: no BEGIN, no COMMIT
            return [await self.add(messages[0])]
        async with self._db.transaction():
            return [await self.add(msg) for msg in messages]

    async def get(self, item_id: int, /) -> InboxItem | None:
        row = await self._db.fetch_one("SELECT * FROM inbox WHERE id = ?", (item_id,))
        return None if row is None else _item(row)

    async def claim_next(self, chat_id: int, /) -> InboxItem | None:
        """Move the chat's oldest due pending message to processing (attempts + 1) and return
        it. A deferred message is not due before its `not_before`."""
        row = await self._db.fetch_one(_CLAIM_NEXT, {"chat": chat_id, "now": self._db.now()})
        return None if row is None else _item(row)

    async def claim_pending_for(self, chat_id: int, /) -> list[InboxItem]:
        """Claim every due pending message of a chat at once (follow-ups to a running turn)."""
        rows = await self._db.fetch_all(_CLAIM_DUE, {"chat": chat_id, "now": self._db.now()})
        items = [_item(row) for row in rows]
        items.sort(key=lambda item: (item.msg_id, item.id))  # RETURNING has no order
        return items

    async def chats_with_pending(self, *, due_by: datetime | None = None) -> list[int]:
        """Chats with messages due by `due_by` (default: now), the longest-waiting first."""
        now = self._db.now() if due_by is None else to_iso(due_by)
        rows = await self._db.fetch_all(_CHATS_DUE, {"now": now})
        return [row["chat_id"] for row in rows]

    async def next_due_at(self, *, after: datetime | None = None) -> datetime | None:
        """The earliest `not_before` of a deferred pending message (only those later than
        `after`, when given); None when no message waits."""
        row = await self._db.fetch_one(
            "SELECT MIN(not_before) AS due FROM inbox WHERE state = 'pending' AND held IS NULL"
            " AND not_before IS NOT NULL AND (:after IS NULL OR not_before > :after)",
            {"after": None if after is None else to_iso(after)},
        )
        return None if row is None else from_iso_or_none(row["due"])

    async def defer(
        self,
        item_ids: Sequence[int],
        /,
        not_before: datetime,
        *,
        along: Callable[[], Awaitable[object]] | None = None,
    ) -> int:
        """Claimed messages back to pending, not claimed again before `not_before` (the model
        is down). The claim is not counted: `attempts` counts claims that never finished, so
        a crash loop stays visible. `along` (a notice to the chat) is written in the same
        transaction. Returns how many were still processing."""
        if not item_ids:
            return 0
        marks = ", ".join("?" * len(item_ids))
        async with self._db.transaction():
            result = await self._db.execute(
                "UPDATE inbox SET state = 'pending', not_before = ?,"  # noqa: S608 - only ?s
                " deferred_at = COALESCE(deferred_at, ?), attempts = MAX(attempts - 1, 0)"
                f" WHERE id IN ({marks}) AND state = 'processing'",
                (to_iso(not_before), self._db.now(), *item_ids),
            )
            if along is not None:
                await along()
        return result.rowcount

    async def release_deferred(self) -> int:
        """Every deferred open message is due now (the model is back). Returns how many."""
        result = await self._db.execute(
            "UPDATE inbox SET not_before = NULL, deferred_at = NULL"
            " WHERE state IN (?, ?) AND deferred_at IS NOT NULL",
            _OPEN,
        )
        return result.rowcount

    async def hold(self, item_ids: Sequence[int], why: str, /) -> int:
        """Claimed messages back to pending, held (not claimed again) until `release_held`
        (/pause). The claim is not counted, as with `defer`. Returns how many."""
        if not item_ids:
            return 0
        marks = ", ".join("?" * len(item_ids))
        result = await self._db.execute(
            "UPDATE inbox SET state = 'pending', held = ?,"  # noqa: S608 - only ?s
            " attempts = MAX(attempts - 1, 0)"
            f" WHERE id IN ({marks}) AND state IN ('pending', 'processing')",
            (why, *item_ids),
        )
        return result.rowcount

    async def release_held(self) -> int:
        """Every held message is due again (/resume). Returns how many."""
        result = await self._db.execute("UPDATE inbox SET held = NULL WHERE held IS NOT NULL")
        return result.rowcount

    async def held_count(self) -> int:
        row = await self._db.fetch_one(
            "SELECT COUNT(*) AS n FROM inbox WHERE held IS NOT NULL AND state = 'pending'"
        )
        return 0 if row is None else int(row["n"])

    async def deferred_chats(self) -> list[int]:
        """Chats with messages waiting for the model (each was told so once)."""
        rows = await self._db.fetch_all(
            "SELECT DISTINCT chat_id FROM inbox WHERE state IN (?, ?) AND deferred_at IS NOT NULL"
            " ORDER BY chat_id",
            _OPEN,
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

    async def ignore_waiting(self, chat_id: int, why: str, /) -> int:
        """Finish every pending, not deferred message of a chat as ignored (a muted flood) in
        one write; returns how many."""
        result = await self._db.execute(
            "UPDATE inbox SET state = 'ignored', error = ?, finished_at = ?"
            " WHERE chat_id = ? AND state = 'pending' AND not_before IS NULL AND held IS NULL",
            (why, self._db.now(), chat_id),
        )
        return result.rowcount

    async def drop_open(self, chat_id: int, why: str, /) -> list[str]:
        """Finish every message of a chat not answered yet as ignored, with `why` (the terminal
        was closed mid-reply: the person is gone, so it is not redone); their texts."""
        rows = await self._db.fetch_all(
            "UPDATE inbox SET state = 'ignored', error = ?, finished_at = ?"
            " WHERE chat_id = ? AND state IN (?, ?) RETURNING text",
            (why, self._db.now(), chat_id, *_OPEN),
        )
        return [str(row["text"]) for row in rows]

    async def finish_all(self, item_ids: Sequence[int], state: InboxState) -> int:
        """`finish` for several rows in one statement (a reply and the follow-ups it answers);
        returns how many were still open."""
        _require_final(state)
        if not item_ids:
            return 0
        now = self._db.now()
        return await self._db.atomic(lambda db: finish_rows(db, item_ids, state, now))

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


def has_newer(db: Statements, chat_id: int, msg_id: int, /) -> bool:
    """Whether the chat has a message after `msg_id` (a reply to it then says which message
    it answers), inside a `Database.atomic` block."""
    row = db.fetch_one(
        "SELECT 1 FROM inbox WHERE chat_id = ? AND msg_id > ? LIMIT 1", (chat_id, msg_id)
    )
    return row is not None


def finish_rows(db: Statements, item_ids: Sequence[int], state: InboxState, now: str, /) -> int:
    """`InboxRepo.finish_all` inside a `Database.atomic` block (`now`: the stored time)."""
    _require_final(state)
    if not item_ids:
        return 0
    marks = ", ".join("?" * len(item_ids))
    result = db.execute(
        "UPDATE inbox SET state = ?, error = NULL, finished_at = ?"  # noqa: S608 - only ?s
        f" WHERE id IN ({marks}) AND state IN (?, ?)",
        (str(state), now, *item_ids, *_OPEN),
    )
    return result.rowcount


def _require_final(state: InboxState) -> None:
    if not InboxState(state).is_final:
        raise ValueError(f"finish_all() needs a final state, not {state!r}")

"""OutboxRepo: replies waiting to be sent, each with a stable random_id so a resend is harmless."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sqlite3
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from jobs.messages import OutboundKind, OutboundMessage
from jobs.richtext import Entity, entities_from_json, entities_to_json
from jobs.storage.database import Database, Statements, from_iso, from_iso_or_none, to_iso
from jobs.storage.inbox import InboxState, finish_rows, has_newer

_MAX_RANDOM_ID = 2**63 - 1
_RECENTLY_HANDLED = 1024
"""Rows whose claim or handling `OutboxRepo.claimed`/`handled` can still see (a waiter looks
right away)."""


class OutboxState(StrEnum):
    """Where an outgoing message is."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One stored outgoing message (a text chunk or a file)."""

    id: int
    chat_id: int
    inbox_id: int | None
    seq: int
    kind: OutboundKind
    text: str
    file_path: str | None
    reply_to: int | None
    random_id: int
    state: OutboxState
    attempts: int
    not_before: datetime | None
    sent_msg_id: int | None
    error: str | None
    created_at: datetime
    sent_at: datetime | None
    entities: tuple[Entity, ...] | None = None
    """None: `text` is Markdown; otherwise its exact entities (see OutboundMessage)."""
    link_preview: bool = False
    trusted: bool = False
    edit_of: int | None = None
    as_draft: bool = False

    def to_message(self) -> OutboundMessage:
        return OutboundMessage(
            chat_id=self.chat_id,
            text=self.text,
            kind=self.kind,
            file_path=self.file_path,
            reply_to=self.reply_to,
            random_id=self.random_id,
            entities=self.entities,
            link_preview=self.link_preview,
            trusted=self.trusted,
            edit_of=self.edit_of,
            as_draft=self.as_draft,
        )


def _item(row: sqlite3.Row) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        chat_id=row["chat_id"],
        inbox_id=row["inbox_id"],
        seq=row["seq"],
        kind=row["kind"],
        text=row["text"],
        file_path=row["file_path"],
        reply_to=row["reply_to"],
        random_id=row["random_id"],
        state=OutboxState(row["state"]),
        attempts=row["attempts"],
        not_before=from_iso_or_none(row["not_before"]),
        sent_msg_id=row["sent_msg_id"],
        error=row["error"],
        created_at=from_iso(row["created_at"]),
        sent_at=from_iso_or_none(row["sent_at"]),
        entities=None if row["entities"] is None else entities_from_json(row["entities"]),
        link_preview=bool(row["link_preview"]),
        trusted=bool(row["trusted"]),
        edit_of=row["edit_of"],
        as_draft=bool(row["as_draft"]),
    )


def new_random_id() -> int:
    """A non-zero random 63-bit id: Telegram drops a second send with the same one."""
    return secrets.randbelow(_MAX_RANDOM_ID) + 1


# A row waits while an earlier row of its chat is unsent, so chunks arrive in order even
# when one of them is held back by a flood wait.
_HEAD_OF_CHAT = """
o.state = 'pending' AND (:chat IS NULL OR o.chat_id = :chat)
AND NOT EXISTS (SELECT 1 FROM outbox AS e
                WHERE e.chat_id = o.chat_id AND e.id < o.id AND e.state IN ('pending', 'sending'))
"""

# The oldest sendable row; with :id, that row only, if it is sendable (enqueue's handover).
_CLAIM = f"""
UPDATE outbox SET state = 'sending', attempts = attempts + 1
WHERE id = (
    SELECT o.id FROM outbox AS o
    WHERE {_HEAD_OF_CHAT} AND (o.not_before IS NULL OR o.not_before <= :now)
    AND (:id IS NULL OR o.id = :id)
    ORDER BY o.id LIMIT 1)
RETURNING *
"""  # noqa: S608 - a constant fragment, no outside input

_NEXT_DUE = f"""
SELECT MIN(COALESCE(o.not_before, o.created_at)) AS due FROM outbox AS o WHERE {_HEAD_OF_CHAT}
"""  # noqa: S608 - a constant fragment, no outside input

_COLUMNS = (
    "chat_id, inbox_id, seq, kind, text, file_path, reply_to, random_id, created_at,"
    " entities, link_preview, trusted, edit_of, as_draft"
)
_INSERT = (
    f"INSERT INTO outbox ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *"  # noqa: S608 - constant
)
# The first row of a reply: stored only if its inbox row has none yet (the last parameter).
_INSERT_FIRST = f"""
INSERT INTO outbox ({_COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
WHERE NOT EXISTS (SELECT 1 FROM outbox WHERE inbox_id = ?)
RETURNING *
"""  # noqa: S608 - constant fragments, no outside input
_HAS_REPLY = "SELECT 1 AS x FROM outbox WHERE inbox_id = ? LIMIT 1"

_FOR_INBOX = "SELECT * FROM outbox WHERE inbox_id = ? ORDER BY seq"


def _insert(
    db: Statements, messages: Sequence[OutboundMessage], inbox_id: int | None, now: str
) -> list[OutboxItem] | None:
    """The rows, or None when `inbox_id` already has a reply. The first INSERT checks that
    itself (no separate SELECT first)."""
    if not messages:
        has_reply = inbox_id is not None and db.fetch_one(_HAS_REPLY, (inbox_id,)) is not None
        return None if has_reply else []
    items: list[OutboxItem] = []
    for seq, msg in enumerate(messages):
        values: tuple[object, ...] = (msg.chat_id, inbox_id, seq, msg.kind, msg.text)
        # A reply streamed as a draft keeps the draft's id: the client replaces the draft.
        values += (msg.file_path, msg.reply_to, msg.random_id or new_random_id(), now)
        entities = None if msg.entities is None else entities_to_json(msg.entities)
        values += (entities, int(msg.link_preview), int(msg.trusted), msg.edit_of)
        values += (int(msg.as_draft),)
        guarded = seq == 0 and inbox_id is not None
        row = db.fetch_one(
            _INSERT_FIRST if guarded else _INSERT, (*values, inbox_id) if guarded else values
        )
        if row is None:  # only a guarded INSERT stores nothing: the reply exists
            return None
        items.append(_item(row))
    return items


class OutboxRepo:
    """The durable outbox the delivery loop drains."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._claimed: deque[int] = deque(maxlen=_RECENTLY_HANDLED)
        self._handled: deque[int] = deque(maxlen=_RECENTLY_HANDLED)
        self._progress = asyncio.Event()
        self._senders = 0
        self._waiting: list[int | None] = []  # the chats of senders waiting for rows (None: all)
        self._handed: deque[OutboxItem] = deque()  # claimed by enqueue for a waiting sender

    @property
    def written(self) -> asyncio.Event:
        """Set each time `enqueue` committed new rows: the sender waits on it."""
        return self._db.signal("outbox")

    async def enqueue(
        self,
        messages: Sequence[OutboundMessage],
        /,
        *,
        inbox_id: int | None = None,
        finish_inbox: InboxState | None = None,
        also_finish: Sequence[int] = (),
        quote_after: int | None = None,
    ) -> list[OutboxItem]:
        """Store a reply's messages (seq 0..n-1) in one transaction, then wake the sender.

        With `inbox_id` and `finish_inbox`, the answered message gets its final state in the
        same transaction: a reply is written if and only if its message is finished. When rows
        for `inbox_id` already exist (a retry after a crash), nothing is added and those rows
        are returned. Each row gets a fresh random_id, unless its message brings one (a reply that
        was streamed as a draft keeps the draft's). With `quote_after`, the first message keeps
        its `reply_to` only when its chat has a message newer than that one (the writer then
        sees which message the reply is for). All of it is one trip to the database: this is
        on every reply's way out.
        """
        now = self._db.now()
        finish = [] if inbox_id is None or finish_inbox is None else [inbox_id, *also_finish]
        hand_over = bool(messages) and self._waiting_for(messages[0].chat_id)

        def store(db: Statements) -> tuple[list[OutboxItem], OutboxItem | None]:
            out = list(messages)
            quoting = out and out[0].reply_to is not None and quote_after is not None
            if quoting and not has_newer(db, out[0].chat_id, quote_after or 0):
                out[0] = replace(out[0], reply_to=None)
            items = _insert(db, out, inbox_id, now)
            if items is None:  # a reply to `inbox_id` was stored before
                return [_item(row) for row in db.fetch_all(_FOR_INBOX, (inbox_id,))], None
            if finish and finish_inbox is not None:
                # Follow-ups injected into the same turn are answered by the same reply.
                finish_rows(db, finish, finish_inbox, now)
            handed = None
            if hand_over:  # claimed here as the sender would (its turn in its chat, due)
                row = db.fetch_one(_CLAIM, {"id": items[0].id, "now": now, "chat": None})
                handed = None if row is None else _item(row)
            return ([handed, *items[1:]] if handed else items), handed

        items, handed = await self._db.atomic(store)
        if handed is not None:
            self._handed.append(handed)  # claimed once the sender takes it (`claimed` waits)
        if any(item.state is not OutboxState.SENT for item in items):
            self.written.set()
        return items

    @contextlib.contextmanager
    def waiting(self, chat_id: int | None, /) -> Iterator[None]:
        """Held by a sender while it waits for rows (of `chat_id` only, or of every chat):
        then nothing is due for it, and `enqueue` claims a new reply's first row in its own
        trip to the database and hands it over (`take_handed`) — one claim less on the way
        out, and no row overtaken."""
        self._waiting.append(chat_id)
        try:
            yield
        finally:
            self._waiting.remove(chat_id)

    def take_handed(self, chat_id: int | None, /) -> OutboxItem | None:
        """The oldest row `enqueue` claimed for a waiting sender (of `chat_id` only, or of any
        chat); None when there is none."""
        for item in self._handed:
            if chat_id is None or item.chat_id == chat_id:
                self._handed.remove(item)
                self._note(item.id, handled=False)
                return item
        return None

    def _waiting_for(self, chat_id: int) -> bool:
        return any(wanted is None or wanted == chat_id for wanted in self._waiting)

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """Held by the sender while it runs: `handled` waits only for a sender that runs."""
        self._senders += 1
        try:
            yield
        finally:
            self._senders -= 1
            self._pulse()  # nobody waits for a sender that stopped

    async def claimed(self, items: Sequence[OutboxItem], /, *, within: float) -> bool:
        """Until the sender has claimed each of `items` (or handled it), at most `within`
        seconds; True when it has (or no sender runs). Database writes made after it queue
        behind the claim on the one connection, not ahead of it."""
        return await self._until(items, self._claimed, within)

    async def handled(self, items: Sequence[OutboxItem], /, *, within: float) -> bool:
        """Until the sender has handled each of `items` (sent it, or given it up, or set it to
        wait for later), at most `within` seconds; True when it has (or no sender runs). For
        work that need not compete with a reply on its way out: the person waits for the
        reply, not for it. The sender and the waiter must share this repo (the app's one)."""
        return await self._until(items, self._handled, within)

    async def _until(self, items: Sequence[OutboxItem], seen: deque[int], within: float) -> bool:
        unsent = (OutboxState.PENDING, OutboxState.SENDING)
        ids = {item.id for item in items if item.state in unsent}
        try:
            async with asyncio.timeout(within):
                while self._senders and not ids.issubset(seen):
                    await self._progress.wait()
        except TimeoutError:
            return False
        return ids.issubset(seen) or not self._senders

    def _note(self, item_id: int, *, handled: bool = True) -> None:
        """The sender claimed `item_id`, or handled it (a handled row was claimed first)."""
        self._claimed.append(item_id)
        if handled:
            self._handled.append(item_id)
        self._pulse()

    def _pulse(self) -> None:
        """Wake everyone waiting in `handled` now; later waiters wait on a new event."""
        progress, self._progress = self._progress, asyncio.Event()
        progress.set()

    async def get(self, item_id: int, /) -> OutboxItem | None:
        row = await self._db.fetch_one("SELECT * FROM outbox WHERE id = ?", (item_id,))
        return None if row is None else _item(row)

    async def for_inbox(self, inbox_id: int, /) -> list[OutboxItem]:
        """The rows written as the reply to one inbound message, in order."""
        rows = await self._db.fetch_all(_FOR_INBOX, (inbox_id,))
        return [_item(row) for row in rows]

    async def claim_next(
        self, now: datetime | None = None, *, chat_id: int | None = None
    ) -> OutboxItem | None:
        """The oldest sendable row (due, nothing earlier unsent in its chat) → sending.

        With `chat_id` only that chat's rows are considered (`jobs chat` drains its own).
        """
        due = self._db.now() if now is None else to_iso(now)
        row = await self._db.fetch_one(_CLAIM, {"now": due, "chat": chat_id, "id": None})
        if row is None:
            return None
        self._note(int(row["id"]), handled=False)
        return _item(row)

    async def mark_sent(
        self, item_id: int, sent_msg_id: int, *, all_msg_ids: Sequence[int] = ()
    ) -> bool:
        """Sent; `all_msg_ids` (every chunk's id) are remembered in sent_messages."""
        marked = await self._mark_sent(item_id, sent_msg_id, all_msg_ids)
        self._note(item_id)
        return marked

    async def _mark_sent(self, item_id: int, sent_msg_id: int, all_msg_ids: Sequence[int]) -> bool:
        now = self._db.now()
        async with self._db.transaction():
            row = await self._db.fetch_one(
                "UPDATE outbox SET state = 'sent', sent_msg_id = ?, sent_at = ?, error = NULL"
                " WHERE id = ? AND state IN ('pending', 'sending') RETURNING chat_id",
                (sent_msg_id, now, item_id),
            )
            if row is None:
                return False
            for msg_id in all_msg_ids or ([sent_msg_id] if sent_msg_id else []):
                # A streamed reply's message was recorded as a preview first: now it is this row's.
                await self._db.execute(
                    "INSERT INTO sent_messages (chat_id, msg_id, outbox_id, sent_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (chat_id, msg_id)"
                    " DO UPDATE SET outbox_id = excluded.outbox_id",
                    (row["chat_id"], msg_id, item_id, now),
                )
        return True

    # -- previews: a reply streamed into a message of its own ---------------------------------

    async def preview_begin(self, inbox_id: int, chat_id: int, text: str, /) -> None:
        """About to send the preview of `inbox_id`'s reply, saying `text` (kept first: if Jobs
        stops before its id is known, the text still tells the message apart as Jobs')."""
        await self._db.execute(
            "INSERT INTO previews (inbox_id, chat_id, text, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (inbox_id) DO UPDATE SET text = excluded.text",
            (inbox_id, chat_id, text, self._db.now()),
        )

    async def preview_sent(self, inbox_id: int, chat_id: int, msg_id: int, /) -> None:
        """The preview is message `msg_id`: Jobs' own from now on, even after a restart."""
        async with self._db.transaction():
            await self._db.execute(
                "UPDATE previews SET msg_id = ? WHERE inbox_id = ?", (msg_id, inbox_id)
            )
            await self._db.execute(
                "INSERT OR IGNORE INTO sent_messages (chat_id, msg_id, sent_at) VALUES (?, ?, ?)",
                (chat_id, msg_id, self._db.now()),
            )

    async def preview_of(self, inbox_id: int, /) -> int | None:
        """The message `inbox_id`'s reply was streamed into, if one was sent."""
        row = await self._db.fetch_one(
            "SELECT msg_id FROM previews WHERE inbox_id = ?", (inbox_id,)
        )
        return None if row is None else row["msg_id"]

    async def unconfirmed_previews(self, chat_id: int, /) -> list[str]:
        """Texts of previews whose send may have reached Telegram without Jobs learning the
        message's id (Jobs stopped in between)."""
        rows = await self._db.fetch_all(
            "SELECT text FROM previews WHERE chat_id = ? AND msg_id IS NULL", (chat_id,)
        )
        return [str(row["text"]) for row in rows]

    async def sent_trust(self, chat_id: int, msg_id: int, /) -> bool | None:
        """Message `msg_id` in `chat_id`: None if Jobs did not send it; else whether it is the
        owner's untainted session's own words (OutboundMessage.trusted)."""
        row = await self._db.fetch_one(
            "SELECT o.trusted FROM sent_messages AS s LEFT JOIN outbox AS o ON o.id = s.outbox_id"
            " WHERE s.chat_id = ? AND s.msg_id = ?",
            (chat_id, msg_id),
        )
        return None if row is None else bool(row["trusted"])

    async def recent_drafts(self, chat_id: int, since: datetime, /) -> list[str]:
        """Texts of the drafts Jobs saved in a chat since `since` (newest first): what the
        owner sends from there is Jobs' answer, not the owner taking the conversation over."""
        rows = await self._db.fetch_all(
            "SELECT text FROM outbox WHERE chat_id = ? AND as_draft = 1 AND created_at >= ?"
            " ORDER BY id DESC LIMIT 20",
            (chat_id, to_iso(since)),
        )
        return [str(row["text"]) for row in rows]

    async def recent_sent_ids(self, chat_id: int, /, *, limit: int = 2000) -> list[int]:
        """Ids of the newest messages Jobs sent to a chat (to recognise its own replies)."""
        rows = await self._db.fetch_all(
            "SELECT msg_id FROM sent_messages WHERE chat_id = ? ORDER BY sent_at DESC, msg_id DESC"
            " LIMIT ?",
            (chat_id, limit),
        )
        return [int(row["msg_id"]) for row in rows]

    async def unconfirmed(self, chat_id: int, /, *, limit: int = 50) -> list[OutboxItem]:
        """Rows whose send may have reached Telegram without Jobs learning the message id:
        interrupted, retried after an error, or refused as a duplicate (newest first)."""
        rows = await self._db.fetch_all(
            "SELECT * FROM outbox WHERE chat_id = ? AND (state = 'sending'"
            " OR (state = 'pending' AND attempts > 0) OR (state = 'sent' AND sent_msg_id = 0))"
            " ORDER BY id DESC LIMIT ?",
            (chat_id, limit),
        )
        return [_item(row) for row in rows]

    async def retry_later(self, item_id: int, not_before: datetime, error: str) -> bool:
        """Back to pending, not to be claimed before `not_before` (a flood wait, say)."""
        result = await self._db.execute(
            "UPDATE outbox SET state = 'pending', not_before = ?, error = ?"
            " WHERE id = ? AND state IN ('pending', 'sending')",
            (to_iso(not_before), error, item_id),
        )
        self._note(item_id)
        return result.rowcount == 1

    async def mark_failed(self, item_id: int, error: str) -> bool:
        result = await self._db.execute(
            "UPDATE outbox SET state = 'failed', error = ?"
            " WHERE id = ? AND state IN ('pending', 'sending')",
            (error, item_id),
        )
        self._note(item_id)
        return result.rowcount == 1

    async def requeue_interrupted(self) -> int:
        """At startup: rows left sending go back to pending (the same random_id makes it safe)."""
        self._handed.clear()  # pending again: claimed anew
        result = await self._db.execute(
            "UPDATE outbox SET state = 'pending' WHERE state = 'sending'"
        )
        return result.rowcount

    async def pending_count(self) -> int:
        row = await self._db.fetch_one("SELECT COUNT(*) AS n FROM outbox WHERE state = 'pending'")
        return 0 if row is None else int(row["n"])

    async def next_due_at(self, *, chat_id: int | None = None) -> datetime | None:
        """When the next row may be claimed (in the past when one is due now); None: nothing
        pending, or only rows waiting behind one being sent."""
        row = await self._db.fetch_one(_NEXT_DUE, {"chat": chat_id})
        return None if row is None else from_iso_or_none(row["due"])

"""HistoryRepo: the chats the owner opted in to Jobs' memory of their Telegram, and the FTS5
index of those chats' messages (history_messages, kept in step with history_fts by triggers)."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from jobs.storage.database import Database, from_iso, from_iso_or_none

_BATCH: Final = 400
"""Rows per INSERT or DELETE (SQLite binds at most 32766 values; 7 a row)."""
CHANNEL_IDS_BELOW: Final = -(10**12)
"""Marked ids below this are supergroups and channels, whose message ids are their own; the
rest (people, basic groups) share the account's message ids."""


@dataclass(frozen=True, slots=True)
class HistoryChat:
    chat_id: int
    title: str
    link: str
    """A message's link is `link` + its id ('' for a chat without links)."""
    opted_in_at: datetime
    synced_to: int
    """Every message up to this id has been read from Telegram."""
    synced_at: datetime | None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One message of an opted-in chat, as indexed."""

    chat_id: int
    msg_id: int
    sent_at: datetime
    sender: str
    outgoing: bool
    text: str


@dataclass(frozen=True, slots=True)
class HistoryHit:
    entry: HistoryEntry
    chat_title: str
    link: str
    """Where the message is in Telegram ('' when the chat has no links)."""


_SEARCH: Final = """
SELECT m.*, c.title AS chat_title, c.link AS chat_link FROM (
    SELECT f.rowid AS id, bm25(history_fts, 1.0, 0.0) AS score FROM history_fts AS f
    WHERE history_fts MATCH :query ORDER BY f.rowid DESC LIMIT :cap
) AS s
JOIN history_messages AS m ON m.id = s.id
JOIN history_chats AS c ON c.chat_id = m.chat_id
WHERE :chat IS NULL OR m.chat_id = :chat
ORDER BY s.score, m.id DESC LIMIT :limit
"""
_UPSERT: Final = (
    "INSERT INTO history_messages (chat_id, msg_id, sent_at, sender, outgoing, text) VALUES {}"
    " ON CONFLICT (chat_id, msg_id) DO UPDATE SET text = excluded.text"
    " WHERE text IS NOT excluded.text"
)


class HistoryRepo:
    """Opted-in chats and their indexed messages."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- chats ------------------------------------------------------------------------------

    async def opt_in(self, chat_id: int, title: str, link: str, /) -> bool:
        """False when it was opted in already (its title and link are refreshed)."""
        old = await self.chat(chat_id)
        await self._db.execute(
            "INSERT INTO history_chats (chat_id, title, link, opted_in_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET title = excluded.title, link = excluded.link",
            (chat_id, title, link, self._db.now()),
        )
        return old is None

    async def opt_out(self, chat_id: int, /) -> bool:
        """The chat leaves the index (its rows go with `purge`); False when it was not in."""
        result = await self._db.execute("DELETE FROM history_chats WHERE chat_id = ?", (chat_id,))
        return result.rowcount == 1

    async def purge(self, *, batch: int = 2000) -> int:
        """Deletes, a batch at a time, the messages of chats no longer opted in."""
        removed = 0
        while True:
            result = await self._db.execute(
                "DELETE FROM history_messages WHERE id IN (SELECT id FROM history_messages"
                " WHERE chat_id NOT IN (SELECT chat_id FROM history_chats) LIMIT ?)",
                (batch,),
            )
            removed += result.rowcount
            if result.rowcount < batch:
                return removed

    async def chat(self, chat_id: int, /) -> HistoryChat | None:
        row = await self._db.fetch_one("SELECT * FROM history_chats WHERE chat_id = ?", (chat_id,))
        return None if row is None else _chat(row)

    async def chats(self) -> list[HistoryChat]:
        rows = await self._db.fetch_all("SELECT * FROM history_chats ORDER BY opted_in_at")
        return [_chat(row) for row in rows]

    async def count(self, chat_id: int, /) -> int:
        row = await self._db.fetch_one(
            "SELECT count(*) AS n FROM history_messages WHERE chat_id = ?", (chat_id,)
        )
        return 0 if row is None else int(row["n"])

    async def synced(self, chat_id: int, up_to: int, /) -> None:
        """Every message of the chat up to `up_to` has been read (it never moves back)."""
        await self._db.execute(
            "UPDATE history_chats SET synced_to = max(synced_to, ?), synced_at = ?"
            " WHERE chat_id = ?",
            (up_to, self._db.now(), chat_id),
        )

    # -- messages ---------------------------------------------------------------------------

    async def add(self, entries: Sequence[HistoryEntry], /) -> int:
        """Stores messages of opted-in chats (an edited one replaces its text); rows of a chat
        not opted in are dropped. Returns how many were stored."""
        if not entries:
            return 0
        opted = {c.chat_id for c in await self.chats()}
        kept = [e for e in entries if e.chat_id in opted]
        async with self._db.transaction():
            for start in range(0, len(kept), _BATCH):
                part = kept[start : start + _BATCH]
                values = ",".join("(?, ?, ?, ?, ?, ?)" for _ in part)
                params = [v for e in part for v in _columns(e)]
                await self._db.execute(_UPSERT.format(values), params)
        return len(kept)

    async def edit(self, chat_id: int, msg_id: int, text: str, /) -> bool:
        result = await self._db.execute(
            "UPDATE history_messages SET text = ? WHERE chat_id = ? AND msg_id = ?"
            " AND text IS NOT ?",
            (text, chat_id, msg_id, text),
        )
        return result.rowcount == 1

    async def delete(self, msg_ids: Collection[int], /, *, chat_id: int | None) -> int:
        """Forgets deleted messages: in `chat_id`, or (None, as Telegram reports deletions in
        private chats and basic groups) in any chat whose message ids are the account's."""
        ids = list(msg_ids)
        removed = 0
        for start in range(0, len(ids), _BATCH):
            part = ids[start : start + _BATCH]
            marks = ",".join("?" * len(part))
            if chat_id is None:
                where, params = f"msg_id IN ({marks}) AND chat_id > ?", [*part, CHANNEL_IDS_BELOW]
            else:
                where, params = f"msg_id IN ({marks}) AND chat_id = ?", [*part, chat_id]
            sql = f"DELETE FROM history_messages WHERE {where}"  # noqa: S608 - only ?s
            removed += (await self._db.execute(sql, params)).rowcount
        return removed

    async def count_matches(self, queries: Sequence[str], /, *, up_to: int) -> list[int]:
        """For each FTS5 query, how many messages match it, counting no further than `up_to`."""
        if not queries:
            return []
        parts = [
            "(SELECT count(*) FROM (SELECT rowid FROM history_fts WHERE history_fts MATCH ?"
            " LIMIT ?))"
        ] * len(queries)
        sql = f"SELECT {', '.join(parts)}"
        params = [v for q in queries for v in (q, up_to)]
        row = await self._db.fetch_one(sql, params)
        return [0] * len(queries) if row is None else [int(n) for n in row]

    async def search(
        self, query: str, /, *, chat_id: int | None, cap: int, limit: int
    ) -> list[HistoryHit]:
        """BM25 over the newest `cap` messages matching the FTS5 `query` (scoring every match
        of a common word would cost ~0.6 µs a row), best first. Name the `text` column in
        `query`: the chat's id is indexed too."""
        if chat_id is not None:
            # The chat's postings narrow the match; the row's own chat_id settles it (a person
            # 61 and the basic group -61 share the digits).
            query = f'chat_id : "{abs(chat_id)}" AND ({query})'
        params = {"query": query, "cap": cap, "limit": limit, "chat": chat_id}
        rows = await self._db.fetch_all(_SEARCH, params)
        return [HistoryHit(_entry(r), r["chat_title"], _link(r["chat_link"], r)) for r in rows]

    async def after(self, chat_id: int, msg_id: int, /, *, limit: int) -> list[HistoryEntry]:
        """The newest `limit` messages others wrote in the chat after `msg_id`, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT * FROM history_messages WHERE chat_id = ? AND msg_id > ? AND outgoing = 0"
            " ORDER BY msg_id DESC LIMIT ?",
            (chat_id, msg_id, limit),
        )
        return [_entry(row) for row in reversed(rows)]


def _columns(entry: HistoryEntry) -> tuple[object, ...]:
    sent = int(entry.sent_at.timestamp())
    return (entry.chat_id, entry.msg_id, sent, entry.sender, int(entry.outgoing), entry.text)


def _entry(row: sqlite3.Row) -> HistoryEntry:
    return HistoryEntry(
        chat_id=row["chat_id"],
        msg_id=row["msg_id"],
        sent_at=datetime.fromtimestamp(row["sent_at"], UTC),
        sender=row["sender"],
        outgoing=bool(row["outgoing"]),
        text=row["text"],
    )


def _link(prefix: str, row: sqlite3.Row) -> str:
    return f"{prefix}{row['msg_id']}" if prefix else ""


def _chat(row: sqlite3.Row) -> HistoryChat:
    return HistoryChat(
        chat_id=row["chat_id"],
        title=row["title"],
        link=row["link"],
        opted_in_at=from_iso(row["opted_in_at"]),
        synced_to=row["synced_to"],
        synced_at=from_iso_or_none(row["synced_at"]),
    )

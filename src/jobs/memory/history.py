"""ChatHistory: the owner's Telegram as memory. Chats the owner opts in, one by one, are read
into a local full-text index (HistoryRepo) and kept in step: the history once, in the
background, then new messages, edits and deletions as Telegram reports them. Search answers
with links to the messages; a digest lists a chat's unread messages without marking them read.

A chat not opted in is never read: the Telegram handlers ask `watching` first, and every read
here starts from an opted-in chat. Everything this returns is other people's words (outside
text) for whoever reads it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from typing import Final, Protocol

from jobs.errors import TelegramError
from jobs.memory.search import choose_terms, fts_phrase, query_terms
from jobs.storage.history import HistoryChat, HistoryEntry, HistoryHit, HistoryRepo

logger = logging.getLogger(__name__)

MATCH_CAP: Final = 5000
"""BM25 ranks at most this many matching messages (the newest); rarer words go first."""
DIGEST_PER_CHAT: Final = 50


@dataclass(frozen=True, slots=True)
class ChatTarget:
    """A chat the owner named, as Telegram knows it."""

    chat_id: int
    title: str
    link: str
    """A message's link is `link` + its id ('' when the chat has none)."""


class HistorySource(Protocol):
    """The owner's Telegram, read for opted-in chats only (jobs.telegram.history)."""

    async def find_chat(self, ref: str, /) -> ChatTarget:
        """The chat `ref` names; a JobsError says why there is none."""

    def messages(self, chat_id: int, after: int, /) -> AsyncIterator[list[HistoryEntry]]:
        """The chat's messages newer than `after`, oldest first, a page at a time."""

    async def read_mark(self, chat_id: int, /) -> int:
        """The id of the newest message the owner has read in the chat."""


@dataclass(frozen=True, slots=True)
class Digest:
    chat: HistoryChat
    unread: list[HistoryEntry]


class ChatHistory:
    """Opt-in, sync, live updates, search and digests over the owner's chosen chats."""

    def __init__(self, *, repo: HistoryRepo, source: HistorySource | None) -> None:
        self.repo = repo
        self._source = source
        self._ids: frozenset[int] = frozenset()
        self._locks: dict[int, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def available(self) -> bool:
        """Whether Telegram is there to read (not in `jobs chat`)."""
        return self._source is not None

    async def restore(self) -> None:
        """At start, before Telegram connects: the opted-in chats (for the handlers), and the
        rows of chats opted out before a crash gone."""
        self._ids = frozenset(c.chat_id for c in await self.repo.chats())
        await self.repo.purge()

    def catch_up(self) -> None:
        """Once connected: what was written in the opted-in chats while Jobs was away (and
        what a first read left unread) is read in the background."""
        for chat_id in sorted(self._ids):
            self._background(chat_id)

    def watching(self, chat_id: int, /) -> bool:
        """For the Telegram handlers (no await: asked for every message)."""
        return chat_id in self._ids

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- the owner's choice -----------------------------------------------------------------

    async def opt_in(self, ref: str, /) -> tuple[HistoryChat, bool]:
        """(the chat, whether it is new); its history is read in the background."""
        source = self._require_source()
        target = await source.find_chat(ref)
        added = await self.repo.opt_in(target.chat_id, target.title, target.link)
        self._ids |= {target.chat_id}
        chat = await self.repo.chat(target.chat_id)
        assert chat is not None  # just written
        if added:
            self._background(chat.chat_id)
        return chat, added

    async def opt_out(self, chat: HistoryChat, /) -> int:
        """The chat leaves: nothing more is read, its messages are deleted; how many."""
        self._ids -= {chat.chat_id}
        await self.repo.opt_out(chat.chat_id)
        async with self._lock(chat.chat_id):  # a sync running now ends before the purge
            return await self.repo.purge()

    def find(self, chats: list[HistoryChat], ref: str, /) -> list[HistoryChat]:
        """The opted-in chats `ref` names: by id, else by title (exact, then a part of it)."""
        ref = ref.strip().removeprefix("@")
        exact = [c for c in chats if ref in (str(c.chat_id), c.title)]
        return exact or [c for c in chats if ref and ref.casefold() in c.title.casefold()]

    # -- keeping in step ----------------------------------------------------------------------

    async def sync(self, chat_id: int, /) -> int:
        """Reads what is new in an opted-in chat since the last read; how many messages."""
        source = self._require_source()
        read = 0
        async with self._lock(chat_id):
            chat = await self.repo.chat(chat_id)
            if chat is None:
                return 0
            async for page in source.messages(chat_id, chat.synced_to):
                if chat_id not in self._ids:
                    break  # opted out meanwhile
                read += await self.repo.add(page)
                await self.repo.synced(chat_id, max(e.msg_id for e in page))
            else:
                await self.repo.synced(chat_id, chat.synced_to)
        return read

    async def on_message(self, entry: HistoryEntry, /) -> None:
        """A new or edited message (Telegram's update) in a chat that may be opted in."""
        if entry.chat_id in self._ids:
            await self.repo.add([entry])

    async def on_deleted(self, msg_ids: Collection[int], /, *, chat_id: int | None) -> None:
        """Messages deleted (`chat_id` None: in a private chat or basic group, by id alone)."""
        if chat_id is None or chat_id in self._ids:
            await self.repo.delete(msg_ids, chat_id=chat_id)

    # -- reading --------------------------------------------------------------------------------

    async def search(self, query: str, /, *, chat_id: int | None, limit: int) -> list[HistoryHit]:
        """The messages best matching the query's words (any of them; the rarer count more)."""
        terms = query_terms(query)
        if not terms:
            return []
        counts = await self.repo.count_matches(
            [f"text : {fts_phrase(t)}" for t in terms], up_to=MATCH_CAP
        )
        chosen = choose_terms(list(zip(terms, counts, strict=True)), cap=MATCH_CAP)
        if not chosen:
            return []
        fts = "text : (" + " OR ".join(fts_phrase(t) for t in chosen) + ")"
        return await self.repo.search(fts, chat_id=chat_id, cap=MATCH_CAP, limit=limit)

    async def digest(self, chats: list[HistoryChat], /, *, per_chat: int) -> list[Digest]:
        """Each chat's unread messages (read from Telegram first); nothing is marked read."""
        source = self._require_source()
        found: list[Digest] = []
        for chat in chats:
            await self.sync(chat.chat_id)
            mark = await source.read_mark(chat.chat_id)
            found.append(Digest(chat, await self.repo.after(chat.chat_id, mark, limit=per_chat)))
        return found

    # -- internals ------------------------------------------------------------------------------

    def _require_source(self) -> HistorySource:
        if self._source is None:
            raise TelegramError(
                "Your Telegram history needs Jobs running on Telegram (`jobs run`)."
            )
        return self._source

    def _lock(self, chat_id: int) -> asyncio.Lock:
        return self._locks.setdefault(chat_id, asyncio.Lock())

    def _background(self, chat_id: int) -> None:
        if self._source is None:
            return
        task = asyncio.create_task(self._sync_quietly(chat_id), name=f"history-sync-{chat_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sync_quietly(self, chat_id: int) -> None:
        try:
            read = await self.sync(chat_id)
        except Exception as exc:  # noqa: BLE001 - a background read: the next start tries again
            logger.warning("Reading the history of chat %s stopped: %s", chat_id, exc)
            return
        if read:
            logger.info("indexed %d messages of chat %s", read, chat_id)

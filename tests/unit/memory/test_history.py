"""ChatHistory over a scripted source: opting in reads the history in the background and
incrementally, updates only for opted-in chats, search picks rare words, and a digest."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from jobs.errors import TelegramError
from jobs.memory.history import ChatHistory, ChatTarget
from jobs.storage import Database
from jobs.storage.history import HistoryEntry, HistoryRepo

AT = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
ANNA, BOB = 111, 222


class Source:
    """The owner's Telegram, scripted: each chat's messages, read marks, and every read."""

    def __init__(self) -> None:
        self.chats: dict[int, list[HistoryEntry]] = {ANNA: [], BOB: []}
        self.marks: dict[int, int] = {}
        self.reads: list[tuple[int, int]] = []

    def say(self, chat_id: int, msg_id: int, text: str) -> HistoryEntry:
        said = HistoryEntry(chat_id, msg_id, AT, "Anna", False, text)
        self.chats[chat_id].append(said)
        return said

    async def find_chat(self, ref: str, /) -> ChatTarget:
        if ref == "Anna":
            return ChatTarget(ANNA, "Anna", "tg://openmessage?user_id=111&message_id=")
        raise TelegramError(f"No chat called {ref!r}.")

    async def messages(self, chat_id: int, after: int, /) -> AsyncIterator[list[HistoryEntry]]:
        self.reads.append((chat_id, after))
        newer = [e for e in self.chats[chat_id] if e.msg_id > after]
        for start in range(0, len(newer), 2):
            yield newer[start : start + 2]

    async def read_mark(self, chat_id: int, /) -> int:
        self.reads.append((chat_id, -1))
        return self.marks.get(chat_id, 0)


async def settle(history: ChatHistory) -> None:
    while history._tasks:
        await asyncio.gather(*history._tasks)


async def test_opting_in_reads_once_then_only_what_is_new(db: Database) -> None:
    source = Source()
    for i in range(1, 6):
        source.say(ANNA, i, f"note {i}")
    source.say(BOB, 9, "Bob's secret")
    history = ChatHistory(repo=HistoryRepo(db), source=source)
    await history.restore()
    with pytest.raises(TelegramError, match="No chat called"):
        await history.opt_in("Zed")
    chat, added = await history.opt_in("Anna")
    assert added and chat.chat_id == ANNA and history.watching(ANNA) and not history.watching(BOB)
    await settle(history)
    assert await history.repo.count(ANNA) == 5
    source.say(ANNA, 6, "note 6")
    assert await history.sync(ANNA) == 1
    assert source.reads == [(ANNA, 0), (ANNA, 5)]  # incremental; Bob's chat never read
    _, again = await history.opt_in("Anna")
    assert not again

    await history.on_message(HistoryEntry(BOB, 10, AT, "Bob", False, "not opted in"))
    await history.on_message(HistoryEntry(ANNA, 7, AT, "Anna", False, "live note 7"))
    await history.on_deleted([1, 2], chat_id=None)
    await history.on_deleted([3], chat_id=BOB)  # a chat not opted in: nothing happens
    assert await history.repo.count(ANNA) == 5 and await history.repo.count(BOB) == 0

    restarted = ChatHistory(repo=HistoryRepo(db), source=source)
    await restarted.restore()
    restarted.catch_up()
    await settle(restarted)
    assert source.reads[-1] == (ANNA, 6)
    assert await restarted.opt_out(chat) == 5
    assert not restarted.watching(ANNA) and await restarted.repo.count(ANNA) == 0


async def test_search_drops_words_too_common_to_rank(db: Database) -> None:
    source = Source()
    history = ChatHistory(repo=HistoryRepo(db), source=source)
    await history.restore()
    await history.opt_in("Anna")
    await settle(history)
    await history.on_message(HistoryEntry(ANNA, 1, AT, "Anna", False, "the invoice is late"))
    await history.on_message(HistoryEntry(ANNA, 2, AT, "Anna", False, "the weather"))
    [hit] = await history.search("What about the invoice?", chat_id=None, limit=5)
    assert hit.entry.msg_id == 1 and hit.link.endswith("message_id=1")
    assert await history.search("?!", chat_id=None, limit=5) == []
    assert await history.search("nothing matches", chat_id=ANNA, limit=5) == []


async def test_a_digest_lists_what_others_wrote_after_the_read_mark(db: Database) -> None:
    source = Source()
    history = ChatHistory(repo=HistoryRepo(db), source=source)
    chat, _ = await history.opt_in("Anna")
    await settle(history)
    for i in range(1, 4):
        source.say(ANNA, i, f"unread {i}")
    source.marks[ANNA] = 1
    [digest] = await history.digest([chat], per_chat=10)
    assert [e.text for e in digest.unread] == ["unread 2", "unread 3"]


async def test_without_telegram_it_says_so(db: Database) -> None:
    history = ChatHistory(repo=HistoryRepo(db), source=None)
    await history.restore()
    assert not history.available
    with pytest.raises(TelegramError, match="jobs run"):
        await history.opt_in("Anna")

"""HistoryRepo: opted-in chats and the FTS5 index of their messages, in step with edits and
deletions; nothing of a chat not opted in is kept."""

from __future__ import annotations

from datetime import UTC, datetime

from jobs.storage import Database
from jobs.storage.history import HistoryEntry, HistoryRepo

ANNA_CHAT, TEAM, OTHER = 111, -(10**12 + 60), 222
AT = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def entry(chat_id: int, msg_id: int, text: str, *, out: bool = False) -> HistoryEntry:
    return HistoryEntry(chat_id, msg_id, AT, "you" if out else "Anna", out, text)


async def test_only_opted_in_chats_are_kept_and_edits_replace_the_text(db: Database) -> None:
    repo = HistoryRepo(db)
    assert await repo.opt_in(ANNA_CHAT, "Anna", "tg://openmessage?user_id=111&message_id=")
    assert not await repo.opt_in(ANNA_CHAT, "Anna B.", "tg://openmessage?user_id=111&message_id=")
    stored = await repo.add(
        [entry(ANNA_CHAT, 1, "the invoice by Friday"), entry(OTHER, 2, "never kept")]
    )
    assert stored == 1
    await repo.add([entry(ANNA_CHAT, 1, "the invoice by Monday")])  # edited
    assert await repo.edit(ANNA_CHAT, 1, "the invoice by Monday, promised")
    assert not await repo.edit(ANNA_CHAT, 1, "the invoice by Monday, promised")  # same text
    [hit] = await repo.search('"monday"', chat_id=None, cap=100, limit=10)
    assert hit.entry.text == "the invoice by Monday, promised" and hit.chat_title == "Anna B."
    assert hit.link == "tg://openmessage?user_id=111&message_id=1"
    assert hit.entry.sent_at == AT
    assert await repo.search('"friday"', chat_id=None, cap=100, limit=10) == []
    assert await repo.count(OTHER) == 0


async def test_deletions_by_id_alone_spare_channels(db: Database) -> None:
    repo = HistoryRepo(db)
    await repo.opt_in(ANNA_CHAT, "Anna", "")
    await repo.opt_in(TEAM, "Team", "https://t.me/c/60/")
    await repo.add([entry(ANNA_CHAT, 5, "shared words"), entry(TEAM, 5, "shared words")])
    assert await repo.delete([5], chat_id=None) == 1  # a private chat's deletion names ids
    [hit] = await repo.search('"shared"', chat_id=None, cap=100, limit=10)
    assert hit.entry.chat_id == TEAM and hit.link == "https://t.me/c/60/5"
    assert await repo.delete([5, 6], chat_id=TEAM) == 1
    assert await repo.search('"shared"', chat_id=None, cap=100, limit=10) == []


async def test_search_in_one_chat_ranks_and_unread_skips_the_owners(db: Database) -> None:
    repo = HistoryRepo(db)
    await repo.opt_in(ANNA_CHAT, "Anna", "")
    await repo.opt_in(OTHER, "Bob", "")
    await repo.add(
        [
            entry(ANNA_CHAT, 1, "the invoice for the contract is in the mail today"),
            entry(ANNA_CHAT, 2, "invoice, invoice: invoice!"),
            entry(OTHER, 3, "invoice from Bob"),
            entry(ANNA_CHAT, 4, "my reply", out=True),
        ]
    )
    hits = await repo.search('"invoice"', chat_id=ANNA_CHAT, cap=100, limit=10)
    assert [h.entry.msg_id for h in hits] == [2, 1]  # BM25: the denser match first
    assert [
        h.entry.msg_id for h in await repo.search('"invoice"', chat_id=None, cap=1, limit=9)
    ] == [3]
    assert await repo.count_matches(['"invoice"', '"contract"', '"nothing"'], up_to=2) == [
        2,
        1,
        0,
    ]
    unread = await repo.after(ANNA_CHAT, 1, limit=10)
    assert [e.msg_id for e in unread] == [2]  # the owner's own message is not unread


async def test_opting_out_stops_new_rows_and_purges_the_old(db: Database) -> None:
    repo = HistoryRepo(db)
    await repo.opt_in(ANNA_CHAT, "Anna", "")
    await repo.add([entry(ANNA_CHAT, i, f"message {i}") for i in range(1, 8)])
    await repo.synced(ANNA_CHAT, 7)
    await repo.synced(ANNA_CHAT, 3)  # never back
    chat = await repo.chat(ANNA_CHAT)
    assert chat is not None and chat.synced_to == 7 and chat.synced_at is not None
    assert await repo.opt_out(ANNA_CHAT) and not await repo.opt_out(ANNA_CHAT)
    assert await repo.add([entry(ANNA_CHAT, 9, "late")]) == 0
    assert await repo.purge(batch=3) == 7
    assert await repo.count(ANNA_CHAT) == 0
    assert await repo.search('"message"', chat_id=None, cap=100, limit=10) == []


async def test_one_chat_is_told_from_another_with_the_same_digits(db: Database) -> None:
    repo = HistoryRepo(db)
    await repo.opt_in(61, "Person 61", "")
    await repo.opt_in(-61, "Group 61", "")
    await repo.add([entry(61, 1, "report due"), entry(-61, 2, "report due"), entry(61, 3, "61")])
    [hit] = await repo.search('text : "report"', chat_id=-61, cap=100, limit=10)
    assert hit.entry.chat_id == -61 and hit.chat_title == "Group 61"
    assert await repo.search('text : "61"', chat_id=None, cap=100, limit=10) != []
    assert len(await repo.search('text : "report"', chat_id=None, cap=100, limit=10)) == 2

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from jobs.messages import InboundMessage
from jobs.storage import Database, InboxRepo, InboxState
from tests.unit.storage.conftest import START, FakeClock


def _msg(chat_id: int, msg_id: int, text: str = "hi") -> InboundMessage:
    return InboundMessage(chat_id=chat_id, msg_id=msg_id, sender_id=chat_id, text=text)


async def test_add_round_trips_the_message(db: Database) -> None:
    inbox = InboxRepo(db)
    msg = InboundMessage(
        chat_id=7,
        msg_id=100,
        sender_id=7,
        text="hello",
        sender_name="Ann Lee",
        sender_username="ann",
        sender_is_contact=True,
        reply_to=99,
        media={"kind": "photo", "size": 1234, "path": "/tmp/a.jpg"},
    )
    item = await inbox.add(msg)
    assert item is not None
    assert item.state is InboxState.PENDING
    assert item.attempts == 0
    assert item.received_at == START
    assert item.to_message() == msg
    stored = await inbox.get(item.id)
    assert stored == item


async def test_duplicate_is_dropped(db: Database) -> None:
    inbox = InboxRepo(db)
    assert await inbox.add(_msg(1, 10)) is not None
    assert await inbox.add(_msg(1, 10, "again")) is None
    assert await inbox.add(_msg(2, 10)) is not None  # same msg_id, other chat: distinct
    assert (await inbox.count_by_state())["pending"] == 2


async def test_claim_next_is_oldest_first_and_per_chat(db: Database) -> None:
    inbox = InboxRepo(db)
    for chat_id, msg_id in [(1, 3), (2, 1), (1, 1), (1, 2)]:
        await inbox.add(_msg(chat_id, msg_id))
    claimed = []
    while (item := await inbox.claim_next(1)) is not None:
        assert item.chat_id == 1
        assert item.state is InboxState.PROCESSING
        assert item.attempts == 1
        claimed.append(item.msg_id)
    assert claimed == [1, 2, 3]
    assert await inbox.chats_with_pending() == [2]
    assert await inbox.claim_next(3) is None


async def test_chats_with_pending_longest_waiting_first(db: Database) -> None:
    inbox = InboxRepo(db)
    for chat_id in [5, 3, 5, 4]:
        await inbox.add(_msg(chat_id, await _next_id(db)))
    assert await inbox.chats_with_pending() == [5, 3, 4]


async def _next_id(db: Database) -> int:
    row = await db.fetch_one("SELECT COUNT(*) FROM inbox")
    assert row is not None
    return int(row[0]) + 1


async def test_claim_pending_for_takes_all_pending_of_the_chat(db: Database) -> None:
    inbox = InboxRepo(db)
    for msg_id in [1, 2, 3]:
        await inbox.add(_msg(1, msg_id))
    await inbox.add(_msg(2, 1))
    first = await inbox.claim_next(1)
    assert first is not None and first.msg_id == 1
    rest = await inbox.claim_pending_for(1)
    assert [item.msg_id for item in rest] == [2, 3]
    assert all(item.state is InboxState.PROCESSING for item in rest)
    assert await inbox.claim_pending_for(1) == []
    assert await inbox.chats_with_pending() == [2]


async def test_finish_sets_one_final_state(db: Database, clock: FakeClock) -> None:
    inbox = InboxRepo(db)
    added = await inbox.add(_msg(1, 1))
    assert added is not None
    await inbox.claim_next(1)
    clock.advance(seconds=3)
    assert await inbox.finish(added.id, InboxState.FAILED, "model down")
    assert not await inbox.finish(added.id, InboxState.ANSWERED)  # already final
    item = await inbox.get(added.id)
    assert item is not None
    assert (item.state, item.error, item.finished_at) == (
        InboxState.FAILED,
        "model down",
        clock(),
    )
    with pytest.raises(ValueError, match="final state"):
        await inbox.finish(added.id, InboxState.PENDING)
    assert not await inbox.finish(12345, InboxState.IGNORED)


async def test_requeue_after_crash(db_path: Path, clock: FakeClock) -> None:
    db = await Database.open(db_path, clock=clock)
    inbox = InboxRepo(db)
    await inbox.add(_msg(1, 1))
    await inbox.add(_msg(1, 2))
    claimed = await inbox.claim_next(1)
    assert claimed is not None
    await db.close()  # the process "dies" while the message is processing

    async with await Database.open(db_path, clock=clock) as reopened:
        inbox = InboxRepo(reopened)
        assert await inbox.requeue_interrupted() == 1
        assert await inbox.requeue_interrupted() == 0
        again = await inbox.claim_next(1)
        assert again is not None
        assert (again.id, again.attempts) == (claimed.id, 2)


async def test_count_by_state_lists_every_state(db: Database) -> None:
    inbox = InboxRepo(db)
    await inbox.add(_msg(1, 1))
    await inbox.add(_msg(1, 2))
    item = await inbox.claim_next(1)
    assert item is not None
    await inbox.finish(item.id, InboxState.IGNORED)
    assert await inbox.count_by_state() == {
        "pending": 1,
        "processing": 0,
        "answered": 0,
        "ignored": 1,
        "failed": 0,
    }


async def test_concurrent_adds_and_claims_stay_consistent(db: Database) -> None:
    inbox = InboxRepo(db)
    messages = [_msg(chat_id, msg_id) for chat_id in range(1, 6) for msg_id in range(1, 41)]
    # Every message arrives twice, concurrently: exactly one copy may be stored.
    added = await asyncio.gather(*(inbox.add(m) for m in messages + messages))
    assert sum(item is not None for item in added) == len(messages)

    claimed: list[tuple[int, int]] = []

    async def worker(chat_id: int) -> None:
        while (item := await inbox.claim_next(chat_id)) is not None:
            claimed.append((item.chat_id, item.msg_id))
            await asyncio.sleep(0)

    await asyncio.gather(*(worker(chat_id) for chat_id in range(1, 6) for _ in range(4)))
    assert sorted(claimed) == sorted((m.chat_id, m.msg_id) for m in messages)
    counts = await inbox.count_by_state()
    assert (counts["pending"], counts["processing"]) == (0, len(messages))

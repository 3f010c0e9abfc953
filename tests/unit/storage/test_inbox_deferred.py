"""InboxRepo deferrals (the model was down): not_before honoured by every claim, next_due_at,
release, and deferred rows kept across a reopen."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from jobs.messages import InboundMessage
from jobs.storage import Database, InboxItem, InboxRepo, InboxState
from tests.unit.storage.conftest import START, FakeClock

LATER = START + timedelta(seconds=30)


def _msg(chat_id: int, msg_id: int, text: str = "hi") -> InboundMessage:
    return InboundMessage(chat_id=chat_id, msg_id=msg_id, sender_id=chat_id, text=text)


async def _claimed(inbox: InboxRepo, chat_id: int) -> InboxItem:
    item = await inbox.claim_next(chat_id)
    assert item is not None
    return item


async def test_a_deferred_row_is_not_claimed_before_its_time(
    db: Database, clock: FakeClock
) -> None:
    inbox = InboxRepo(db)
    await inbox.add(_msg(1, 1))
    item = await _claimed(inbox, 1)
    assert await inbox.defer([item.id], LATER) == 1

    assert await inbox.claim_next(1) is None
    assert await inbox.claim_pending_for(1) == []
    assert await inbox.chats_with_pending() == []
    assert await inbox.chats_with_pending(due_by=LATER) == [1]
    assert (await inbox.count_by_state())["pending"] == 1

    clock.set(LATER)
    again = await _claimed(inbox, 1)
    assert again.id == item.id
    assert again.attempts == 1  # the deferral is not counted as a crashed attempt
    assert again.deferred_at == START


async def test_deferred_at_is_the_first_wait_and_attempts_stay_put(
    db: Database, clock: FakeClock
) -> None:
    inbox = InboxRepo(db)
    await inbox.add(_msg(1, 1))
    for _ in range(5):
        item = await _claimed(inbox, 1)
        clock.advance(seconds=10)
        await inbox.defer([item.id], clock())
    last = await _claimed(inbox, 1)
    assert (last.attempts, last.deferred_at) == (1, START + timedelta(seconds=10))


async def test_newer_messages_pass_a_deferred_one_and_all_come_in_order_when_due(
    db: Database, clock: FakeClock
) -> None:
    inbox = InboxRepo(db)
    await inbox.add(_msg(1, 1, "first"))
    first = await _claimed(inbox, 1)
    await inbox.defer([first.id], LATER)
    await inbox.add(_msg(1, 2, "/help"))  # a command during the outage: answered at once
    assert (await _claimed(inbox, 1)).text == "/help"
    await inbox.add(_msg(1, 3, "third"))
    third = await _claimed(inbox, 1)
    await inbox.defer([third.id], LATER)

    clock.set(LATER)
    assert [i.text for i in await inbox.claim_pending_for(1)] == ["first", "third"]


async def test_defer_takes_a_turn_and_its_follow_ups_but_only_processing_rows(
    db: Database,
) -> None:
    inbox = InboxRepo(db)
    added = [await inbox.add(_msg(1, msg_id)) for msg_id in (1, 2, 3)]
    pending = added[2]
    assert pending is not None
    item, extra = await _claimed(inbox, 1), await _claimed(inbox, 1)
    assert await inbox.defer([item.id, extra.id, pending.id], LATER) == 2
    assert await inbox.defer([], LATER) == 0
    left = await _claimed(inbox, 1)  # the third was pending, not deferred: due now
    assert (left.id, left.deferred_at) == (pending.id, None)
    assert await inbox.deferred_chats() == [1]


async def test_next_due_at_is_the_earliest_deferral(db: Database, clock: FakeClock) -> None:
    inbox = InboxRepo(db)
    assert await inbox.next_due_at() is None
    await inbox.add(_msg(1, 1))
    await inbox.add(_msg(2, 1))
    await inbox.add(_msg(3, 1))  # never deferred: not a wake-up time
    one, two = await _claimed(inbox, 1), await _claimed(inbox, 2)
    await inbox.defer([one.id], START + timedelta(seconds=60))
    await inbox.defer([two.id], LATER)

    assert await inbox.next_due_at() == LATER
    assert await inbox.next_due_at(after=LATER) == START + timedelta(seconds=60)
    assert await inbox.next_due_at(after=START + timedelta(seconds=60)) is None
    clock.set(LATER)
    await _claimed(inbox, 2)  # processing rows are not waiting for a wake-up
    assert await inbox.next_due_at() == START + timedelta(seconds=60)


async def test_release_makes_every_deferred_row_due_now(db: Database) -> None:
    inbox = InboxRepo(db)
    for chat_id in (1, 2):
        await inbox.add(_msg(chat_id, 1))
        await inbox.defer([(await _claimed(inbox, chat_id)).id], LATER)
    assert await inbox.deferred_chats() == [1, 2]

    assert await inbox.release_deferred() == 2
    assert await inbox.chats_with_pending() == [1, 2]
    assert await inbox.next_due_at() is None
    assert await inbox.deferred_chats() == []
    item = await _claimed(inbox, 1)
    assert item.deferred_at is None


async def test_a_failed_notice_undoes_the_deferral(db: Database) -> None:
    inbox = InboxRepo(db)
    await inbox.add(_msg(1, 1))
    item = await _claimed(inbox, 1)

    async def notice() -> None:
        raise RuntimeError("the outbox write failed")

    with pytest.raises(RuntimeError):
        await inbox.defer([item.id], LATER, along=notice)
    stored = await inbox.get(item.id)
    assert stored is not None
    assert (stored.state, stored.deferred_at) == (InboxState.PROCESSING, None)


async def test_deferred_rows_survive_a_reopen(db_path: Path, clock: FakeClock) -> None:
    async with await Database.open(db_path, clock=clock) as db:
        inbox = InboxRepo(db)
        await inbox.add(_msg(1, 1))
        await inbox.add(_msg(1, 2))
        await inbox.defer([(await _claimed(inbox, 1)).id], LATER)
        await _claimed(inbox, 1)  # then the process dies mid-turn

    async with await Database.open(db_path, clock=clock) as reopened:
        inbox = InboxRepo(reopened)
        assert await inbox.requeue_interrupted() == 1
        assert await inbox.next_due_at() == LATER
        assert await inbox.deferred_chats() == [1]
        assert [i.msg_id for i in await inbox.claim_pending_for(1)] == [2]
        clock.set(LATER)
        waited = await _claimed(inbox, 1)
        assert (waited.msg_id, waited.deferred_at, waited.attempts) == (1, START, 1)

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from jobs.errors import StorageError
from jobs.messages import InboundMessage, OutboundMessage
from jobs.richtext import RichText
from jobs.storage import Database, InboxRepo, InboxState, OutboxRepo, OutboxState, load_migrations
from tests.unit.storage.conftest import START, FakeClock


def _out(chat_id: int, text: str) -> OutboundMessage:
    return OutboundMessage(chat_id=chat_id, text=text)


async def _claimed_inbox(db: Database, chat_id: int = 1, msg_id: int = 1) -> int:
    inbox = InboxRepo(db)
    await inbox.add(InboundMessage(chat_id=chat_id, msg_id=msg_id, sender_id=chat_id, text="q"))
    item = await inbox.claim_next(chat_id)
    assert item is not None
    return item.id


async def test_enqueue_numbers_chunks_and_draws_random_ids(db: Database) -> None:
    outbox = OutboxRepo(db)
    photo = OutboundMessage(chat_id=1, text="cap", kind="photo", file_path="/w/a.png", reply_to=5)
    items = await outbox.enqueue([_out(1, "a"), _out(1, "b"), photo])
    assert [item.seq for item in items] == [0, 1, 2]
    assert all(item.state is OutboxState.PENDING and item.inbox_id is None for item in items)
    random_ids = [item.random_id for item in items]
    assert len(set(random_ids)) == 3
    assert all(0 < rid < 2**63 for rid in random_ids)
    assert items[2].to_message() == OutboundMessage(
        chat_id=1,
        text="cap",
        kind="photo",
        file_path="/w/a.png",
        reply_to=5,
        random_id=items[2].random_id,
    )


async def test_enqueue_finishes_the_inbox_row_and_is_idempotent(db: Database) -> None:
    outbox, inbox = OutboxRepo(db), InboxRepo(db)
    inbox_id = await _claimed_inbox(db)
    first = await outbox.enqueue(
        [_out(1, "a"), _out(1, "b")], inbox_id=inbox_id, finish_inbox=InboxState.ANSWERED
    )
    answered = await inbox.get(inbox_id)
    assert answered is not None and answered.state is InboxState.ANSWERED
    # A retry after a crash: the same rows come back, nothing new is written.
    again = await outbox.enqueue(
        [_out(1, "other")], inbox_id=inbox_id, finish_inbox=InboxState.ANSWERED
    )
    assert again == first
    assert await outbox.pending_count() == 2


async def test_enqueue_is_atomic_with_the_inbox_finish(db: Database) -> None:
    outbox, inbox = OutboxRepo(db), InboxRepo(db)
    inbox_id = await _claimed_inbox(db)
    bad = OutboundMessage(chat_id=1, text="x", kind="video")  # type: ignore[arg-type]
    with pytest.raises(StorageError, match="CHECK"):
        await outbox.enqueue(
            [_out(1, "a"), bad], inbox_id=inbox_id, finish_inbox=InboxState.ANSWERED
        )
    assert await outbox.for_inbox(inbox_id) == []
    item = await inbox.get(inbox_id)
    assert item is not None and item.state is InboxState.PROCESSING


async def test_enqueue_nothing_can_still_finish_the_inbox(db: Database) -> None:
    inbox_id = await _claimed_inbox(db)
    assert (
        await OutboxRepo(db).enqueue([], inbox_id=inbox_id, finish_inbox=InboxState.IGNORED) == []
    )
    item = await InboxRepo(db).get(inbox_id)
    assert item is not None and item.state is InboxState.IGNORED


async def test_a_reply_quotes_its_message_only_when_a_newer_one_came(db: Database) -> None:
    outbox, inbox = OutboxRepo(db), InboxRepo(db)
    first = await _claimed_inbox(db, msg_id=7)
    quoting = OutboundMessage(chat_id=1, text="a", reply_to=7)
    [plain] = await outbox.enqueue(
        [quoting], inbox_id=first, finish_inbox=InboxState.ANSWERED, quote_after=7
    )
    assert plain.reply_to is None  # nothing came after message 7: no quote needed
    second = await _claimed_inbox(db, msg_id=8)
    await inbox.add(InboundMessage(chat_id=1, msg_id=9, sender_id=1, text="and another"))
    quoting = OutboundMessage(chat_id=1, text="b", reply_to=8)
    [quoted] = await outbox.enqueue(
        [quoting], inbox_id=second, finish_inbox=InboxState.ANSWERED, quote_after=8
    )
    assert quoted.reply_to == 8  # message 9 came after it: the reply says which it answers
    # Without quote_after, reply_to stands as given.
    [kept] = await outbox.enqueue([OutboundMessage(chat_id=1, text="c", reply_to=9)])
    assert kept.reply_to == 9


async def test_claim_mark_sent_and_failed(db: Database, clock: FakeClock) -> None:
    outbox = OutboxRepo(db)
    first, second = await outbox.enqueue([_out(1, "a"), _out(2, "b")])
    claimed = await outbox.claim_next()
    assert claimed is not None
    assert (claimed.id, claimed.state, claimed.attempts) == (first.id, OutboxState.SENDING, 1)
    clock.advance(seconds=2)
    assert await outbox.mark_sent(first.id, 555)
    sent = await outbox.get(first.id)
    assert sent is not None
    assert (sent.state, sent.sent_msg_id, sent.sent_at) == (OutboxState.SENT, 555, clock())
    assert not await outbox.mark_failed(first.id, "late")  # sent stays sent
    assert await outbox.mark_failed(second.id, "chat gone")
    failed = await outbox.get(second.id)
    assert failed is not None and (failed.state, failed.error) == (OutboxState.FAILED, "chat gone")
    assert await outbox.claim_next() is None


async def test_not_before_is_honoured_and_blocks_later_chunks(
    db: Database, clock: FakeClock
) -> None:
    outbox = OutboxRepo(db)
    a0, a1 = await outbox.enqueue([_out(1, "a0"), _out(1, "a1")])
    (b0,) = await outbox.enqueue([_out(2, "b0")])
    claimed = await outbox.claim_next()
    assert claimed is not None and claimed.id == a0.id
    assert await outbox.retry_later(a0.id, START + timedelta(seconds=30), "flood wait 30 s")

    # a1 must not overtake a0; chat 2 is free to go.
    other = await outbox.claim_next()
    assert other is not None and other.id == b0.id
    assert await outbox.claim_next() is None
    assert await outbox.next_due_at() == START + timedelta(seconds=30)

    clock.advance(seconds=29)
    assert await outbox.claim_next() is None
    assert await outbox.claim_next(now=START + timedelta(seconds=30)) is not None  # a0 again
    again = await outbox.get(a0.id)
    assert again is not None
    assert (again.attempts, again.random_id, again.error) == (2, a0.random_id, "flood wait 30 s")
    assert await outbox.mark_sent(a0.id, 1)
    later = await outbox.claim_next()
    assert later is not None and later.id == a1.id


async def test_requeue_after_crash_keeps_random_id(db_path: Path, clock: FakeClock) -> None:
    db = await Database.open(db_path, clock=clock)
    outbox = OutboxRepo(db)
    (item,) = await outbox.enqueue([_out(1, "a")])
    assert await outbox.claim_next() is not None
    await db.close()

    async with await Database.open(db_path, clock=clock) as reopened:
        outbox = OutboxRepo(reopened)
        assert await outbox.requeue_interrupted() == 1
        assert await outbox.pending_count() == 1
        again = await outbox.claim_next()
        assert again is not None
        assert (again.id, again.random_id, again.attempts) == (item.id, item.random_id, 2)


async def test_counts_and_due_time_when_empty(db: Database) -> None:
    outbox = OutboxRepo(db)
    assert await outbox.pending_count() == 0
    assert await outbox.next_due_at() is None
    await outbox.enqueue([_out(1, "a")])
    assert await outbox.next_due_at() == START


async def test_concurrent_enqueues_and_claims_stay_consistent(db: Database) -> None:
    outbox = OutboxRepo(db)
    inbox_ids = [await _claimed_inbox(db, chat_id=n, msg_id=n) for n in range(1, 11)]

    async def reply(inbox_id: int, chat_id: int) -> None:
        await outbox.enqueue(
            [_out(chat_id, "one"), _out(chat_id, "two")],
            inbox_id=inbox_id,
            finish_inbox=InboxState.ANSWERED,
        )

    # Each reply is written three times at once (a retried turn): one copy survives.
    await asyncio.gather(*(reply(i, n) for n, i in enumerate(inbox_ids, 1) for _ in range(3)))
    assert await outbox.pending_count() == 20

    sent: list[int] = []

    async def sender() -> None:
        while (item := await outbox.claim_next()) is not None:
            await asyncio.sleep(0)
            sent.append(item.id)
            await outbox.mark_sent(item.id, item.id)

    await asyncio.gather(*(sender() for _ in range(8)))
    assert sorted(sent) == sorted(set(sent))
    assert len(sent) == 20
    rows = await db.fetch_all("SELECT COUNT(DISTINCT random_id) AS n FROM outbox")
    assert rows[0]["n"] == 20


async def test_enqueue_also_finishes_followups(db: Database) -> None:
    inbox = InboxRepo(db)
    outbox = OutboxRepo(db)
    first = await inbox.add(InboundMessage(chat_id=5, msg_id=1, sender_id=5, text="a"))
    second = await inbox.add(InboundMessage(chat_id=5, msg_id=2, sender_id=5, text="b"))
    assert first is not None and second is not None
    await inbox.claim_pending_for(5)
    await outbox.enqueue(
        [OutboundMessage(chat_id=5, text="both")],
        inbox_id=first.id,
        finish_inbox=InboxState.ANSWERED,
        also_finish=[second.id],
    )
    for item in (first, second):
        got = await inbox.get(item.id)
        assert got is not None and got.state is InboxState.ANSWERED
    assert len(await outbox.for_inbox(first.id)) == 1


async def test_claim_for_one_chat_only(db: Database) -> None:
    outbox = OutboxRepo(db)
    await outbox.enqueue([OutboundMessage(chat_id=1, text="telegram")])
    await outbox.enqueue([OutboundMessage(chat_id=0, text="terminal")])
    item = await outbox.claim_next(chat_id=0)
    assert item is not None and item.text == "terminal"
    assert await outbox.claim_next(chat_id=0) is None
    assert await outbox.next_due_at(chat_id=0) is None
    assert await outbox.next_due_at() is not None


async def test_sent_ids_remembered_for_every_chunk(db: Database) -> None:
    outbox = OutboxRepo(db)
    [item] = await outbox.enqueue([OutboundMessage(chat_id=7, text="long reply")])
    claimed = await outbox.claim_next()
    assert claimed is not None
    assert await outbox.mark_sent(item.id, 11, all_msg_ids=[11, 12, 13])
    assert not await outbox.mark_sent(item.id, 11, all_msg_ids=[11, 12, 13])
    assert sorted(await outbox.recent_sent_ids(7)) == [11, 12, 13]
    assert await outbox.recent_sent_ids(8) == []


async def test_a_notice_keeps_its_entities_and_its_link_preview_flag(db: Database) -> None:
    outbox = OutboxRepo(db)
    body = RichText().text("From ", bold=True).quote("[x](https://evil.example) 😀").build()
    notice = OutboundMessage.formatted(1, body, reply_to=4)
    reply = OutboundMessage(chat_id=1, text="**md**", link_preview=True)
    plain = OutboundMessage(chat_id=1, text="no entities at all", entities=())
    stored = await outbox.enqueue([notice, reply, plain])
    read_back = [await outbox.get(item.id) for item in stored]
    messages = [item.to_message() for item in read_back if item is not None]
    assert [m.entities for m in messages] == [body.entities, None, ()]
    assert [m.link_preview for m in messages] == [False, True, False]
    assert messages[0].text == body.text and messages[0].reply_to == 4


async def test_rows_stored_before_0008_stay_markdown_without_previews(
    db_path: Path, clock: FakeClock
) -> None:
    older = [m for m in load_migrations() if m.version < 8]
    async with await Database.open(db_path, clock=clock, migrations=older) as db:
        await db.execute(
            "INSERT INTO outbox (chat_id, seq, kind, text, random_id, created_at)"
            " VALUES (1, 0, 'text', '**old**', 7, ?)",
            (db.now(),),
        )
    async with await Database.open(db_path, clock=clock) as db:
        item = await OutboxRepo(db).claim_next()
    assert item is not None
    assert item.to_message() == OutboundMessage(chat_id=1, text="**old**", random_id=7)


async def test_sent_trust_says_whose_words_a_sent_message_is(db: Database) -> None:
    outbox = OutboxRepo(db)
    own, quoting = await outbox.enqueue(
        [OutboundMessage(chat_id=1, text="Booked.", trusted=True), _out(1, "Eve wrote: …")]
    )
    await outbox.mark_sent(own.id, 10)
    await outbox.mark_sent(quoting.id, 11, all_msg_ids=[11, 12])
    assert own.trusted and not quoting.trusted
    assert [await outbox.sent_trust(1, m) for m in (10, 11, 12, 13)] == [True, False, False, None]
    assert await outbox.sent_trust(2, 10) is None  # another chat's message 10


async def test_handled_waits_for_a_running_sender_to_settle_the_rows(db: Database) -> None:
    """A turn's own writes wait until its reply is on its way (conversation.answer), but only
    for a sender that runs, and never for long."""
    outbox = OutboxRepo(db)
    [first, second] = await outbox.enqueue([_out(1, "a"), _out(1, "b")])
    # No sender runs (jobs chat before its loop, a unit test): nothing to wait for.
    assert await asyncio.wait_for(outbox.handled([first], within=5), 0.5)

    with outbox.serving():
        waiting = asyncio.create_task(outbox.handled([first, second], within=5))
        await asyncio.sleep(0.01)
        await outbox.mark_sent(first.id, 100)
        await asyncio.sleep(0.01)
        assert not waiting.done()  # one of its rows is still unsent
        await outbox.retry_later(second.id, START + timedelta(seconds=30), "FLOOD_WAIT_30")
        assert await asyncio.wait_for(waiting, 1)
        # Handled before anyone asked: seen at once.
        assert await asyncio.wait_for(outbox.handled([first], within=5), 1)
        [third] = await outbox.enqueue([_out(2, "c")])
        assert not await outbox.handled([third], within=0.05)  # nobody sent it: gives up

    # A sender that stops wakes whoever waits for it.
    [fourth] = await outbox.enqueue([_out(3, "d")])
    with outbox.serving():
        waiting = asyncio.create_task(outbox.handled([fourth], within=5))
        await asyncio.sleep(0.01)
        assert not waiting.done()
    assert await asyncio.wait_for(waiting, 1)  # nothing left to wait for


async def test_handled_does_not_wait_for_rows_settled_before(db: Database) -> None:
    """A retried reply's rows may be sent already (stored before a restart)."""
    outbox = OutboxRepo(db)
    [row] = await outbox.enqueue([_out(1, "a")])
    await outbox.mark_sent(row.id, 7)
    restarted = OutboxRepo(db)
    with restarted.serving():
        sent = await restarted.get(row.id)
        assert sent is not None and sent.state is OutboxState.SENT
        assert await asyncio.wait_for(restarted.handled([sent], within=5), 1)


async def test_claimed_is_seen_as_soon_as_the_sender_takes_the_row(db: Database) -> None:
    outbox = OutboxRepo(db)
    [row] = await outbox.enqueue([_out(1, "a")])
    with outbox.serving():
        waiting = asyncio.create_task(outbox.claimed([row], within=5))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        claimed = await outbox.claim_next()
        assert claimed is not None and claimed.id == row.id
        assert await asyncio.wait_for(waiting, 1)
        assert not await outbox.handled([row], within=0.05)  # claimed, not sent yet


async def test_a_waiting_sender_is_handed_a_new_rows_claim_made_as_it_is_stored(
    db: Database,
) -> None:
    outbox = OutboxRepo(db)
    with outbox.waiting(None):
        first, second = await outbox.enqueue([_out(1, "a"), _out(1, "b")])
    assert first.state is OutboxState.SENDING and first.attempts == 1  # claimed in the same trip
    assert second.state is OutboxState.PENDING  # behind it in its chat
    assert outbox.written.is_set()  # the sender wakes for it
    assert await outbox.claim_next() is None  # the claim query finds nothing else to send yet
    assert outbox.take_handed(2) is None  # a sender of chat 2 only does not get it
    with outbox.serving():
        assert not await outbox.claimed([first], within=0)  # not taken yet
        assert outbox.take_handed(None) == first
        assert await outbox.claimed([first], within=0)
    assert outbox.take_handed(None) is None


async def test_nothing_is_handed_over_that_the_sender_would_not_take_next(
    db: Database, clock: FakeClock
) -> None:
    outbox = OutboxRepo(db)
    [held] = await outbox.enqueue([_out(1, "held back")])  # nobody waits: stays pending
    assert held.state is OutboxState.PENDING
    with outbox.waiting(2):  # a sender of chat 2 only (`jobs chat`)
        [other] = await outbox.enqueue([_out(3, "for chat 3")])
    assert other.state is OutboxState.PENDING
    claimed = await outbox.claim_next(chat_id=1)
    assert claimed is not None
    await outbox.retry_later(claimed.id, clock() + timedelta(minutes=5), "flood")
    with outbox.waiting(None):
        [behind] = await outbox.enqueue([_out(1, "after the held one")])
        [fresh] = await outbox.enqueue([_out(2, "for chat 2")])
    assert behind.state is OutboxState.PENDING  # its chat's earlier row waits: no overtaking
    assert fresh.state is OutboxState.SENDING
    assert outbox.take_handed(None) == fresh
    assert outbox.take_handed(None) is None


async def test_a_requeue_takes_back_what_was_handed_over(db: Database) -> None:
    outbox = OutboxRepo(db)
    with outbox.waiting(None):
        [item] = await outbox.enqueue([_out(1, "a")])
    assert item.state is OutboxState.SENDING
    assert await outbox.requeue_interrupted() == 1
    assert outbox.take_handed(None) is None  # pending again: claimed the usual way
    again = await outbox.claim_next()
    assert again is not None and again.id == item.id

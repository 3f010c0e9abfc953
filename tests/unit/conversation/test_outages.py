"""Outages over a real database: rows wait (not failed), one notice per chat in the outbox,
a restart keeps the outage, the model's return makes every row due, a day's wait gives up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobs.conversation.outage import CRASHED, CRASHES_PER_MESSAGE, GIVE_UP, NOTICE, Outages
from jobs.conversation.outcome import Outcome
from jobs.messages import InboundMessage
from jobs.storage import Database, InboxItem, InboxRepo, InboxState, OutboxRepo
from tests.fakes.clock import FakeClock

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
OWNER, ALICE = 1000, 111
DOWN = Outcome("", InboxState.PENDING, outage="server_error")
CRASH = Outcome("", InboxState.PENDING, outage="cli_crashed")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def db(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Database]:
    async with await Database.open(tmp_path / "db.sqlite", clock=clock) as database:
        yield database


def outages(db: Database, clock: FakeClock) -> Outages:
    return Outages(
        first_wait=30,
        clock=clock,
        inbox=InboxRepo(db),
        outbox=OutboxRepo(db),
    )


async def claimed(db: Database, chat_id: int, msg_id: int, text: str = "hi") -> InboxItem:
    inbox = InboxRepo(db)
    await inbox.add(InboundMessage(chat_id=chat_id, msg_id=msg_id, sender_id=chat_id, text=text))
    item = await inbox.claim_next(chat_id)
    assert item is not None and item.msg_id == msg_id
    return item


async def notices(db: Database) -> list[tuple[int, str, int | None]]:
    rows = await db.fetch_all("SELECT chat_id, text, reply_to FROM outbox WHERE inbox_id IS NULL")
    return [(row["chat_id"], row["text"], row["reply_to"]) for row in rows]


async def states(db: Database) -> list[str]:
    return [str(r["state"]) for r in await db.fetch_all("SELECT state FROM inbox ORDER BY id")]


async def test_an_outage_keeps_the_rows_and_tells_each_chat_once(
    db: Database, clock: FakeClock
) -> None:
    gate = outages(db, clock)
    first = await claimed(db, OWNER, 1)
    follow = await claimed(db, OWNER, 2)
    down = Outcome("", InboxState.PENDING, "server_error", followed=(follow,))
    await gate.hold(first, down, owner=True)
    second = await claimed(db, OWNER, 3)
    assert not await gate.admit(second, owner=True)  # waits without a turn
    alice = await claimed(db, ALICE, 1)
    assert not await gate.admit(alice, owner=False)

    assert await states(db) == ["pending"] * 4
    assert await notices(db) == [(OWNER, NOTICE, 1), (ALICE, NOTICE, 1)]
    assert OutboxRepo(db).written.is_set()  # the notices woke the sender as they were written
    rows = await db.fetch_all("SELECT attempts, not_before FROM inbox")
    assert {(r["attempts"], r["not_before"]) for r in rows} == {
        (0, (START + timedelta(seconds=30)).isoformat(timespec="microseconds"))
    }


async def test_the_owner_learns_what_to_do_about_a_login_problem(
    db: Database, clock: FakeClock
) -> None:
    gate = outages(db, clock)
    login = Outcome("", InboxState.PENDING, outage="authentication_failed")
    await gate.hold(await claimed(db, OWNER, 1), login, owner=True)
    await gate.hold(await claimed(db, ALICE, 1), login, owner=False)
    [(_, owner_text, _), (_, alice_text, _)] = await notices(db)
    assert "jobs login" in owner_text
    assert alice_text == NOTICE


async def test_the_model_back_makes_every_waiting_row_due(db: Database, clock: FakeClock) -> None:
    gate = outages(db, clock)
    await gate.hold(await claimed(db, OWNER, 1), DOWN, owner=True)
    assert not await gate.admit(await claimed(db, ALICE, 1), owner=False)
    clock.advance(seconds=30)
    probe = await claimed(db, OWNER, 1)
    assert await gate.admit(probe, owner=True)  # the retry time came: this one probes
    assert not await gate.admit(await claimed(db, ALICE, 1), owner=False)

    assert await gate.answered()
    assert not await gate.answered()
    inbox = InboxRepo(db)
    assert await inbox.chats_with_pending() == [ALICE]  # the owner's is the probe's own
    assert await inbox.deferred_chats() == []
    # A new outage is a new notice.
    await gate.hold(await claimed(db, ALICE, 1), DOWN, owner=False)
    assert [chat for chat, _, _ in await notices(db)] == [OWNER, ALICE, ALICE]


async def test_a_restart_keeps_the_outage_and_tells_nobody_again(
    db: Database, clock: FakeClock
) -> None:
    await outages(db, clock).hold(await claimed(db, OWNER, 1), DOWN, owner=True)

    after = outages(db, clock)  # a new process on the same database
    await after.restore()
    assert not await after.admit(await claimed(db, OWNER, 2), owner=True)
    assert not await after.admit(await claimed(db, ALICE, 1), owner=False)
    assert [chat for chat, _, _ in await notices(db)] == [OWNER, ALICE]
    clock.advance(seconds=30)
    assert await after.admit(await claimed(db, OWNER, 1), owner=True)


async def test_a_row_that_waited_a_day_is_given_up(db: Database, clock: FakeClock) -> None:
    gate = outages(db, clock)
    await gate.hold(await claimed(db, OWNER, 1), DOWN, owner=True)
    for _ in range(200):  # the model stays down; the row probes at each retry time
        clock.advance(minutes=10)
        item = await InboxRepo(db).claim_next(OWNER)
        if item is None:
            break
        assert await gate.admit(item, owner=True)
        await gate.hold(item, DOWN, owner=True)
    assert await states(db) == ["failed"]
    assert clock() - START >= timedelta(hours=24)
    rows = await db.fetch_all("SELECT text FROM outbox WHERE inbox_id IS NOT NULL")
    assert [row["text"] for row in rows] == [GIVE_UP]
    assert len(await notices(db)) == 1


async def test_a_message_claude_code_keeps_stopping_on_is_given_up_and_the_rest_go_on(
    db: Database, clock: FakeClock
) -> None:
    gate = outages(db, clock)
    inbox = InboxRepo(db)
    poison = await claimed(db, OWNER, 1)
    assert not await gate.hold(poison, CRASH, owner=True)  # it waits, like any outage
    assert not await gate.admit(await claimed(db, ALICE, 1), owner=False)  # so do others
    for _ in range(1, CRASHES_PER_MESSAGE):
        clock.advance(seconds=600)
        poison = await claimed(db, OWNER, 1)
        assert await gate.admit(poison, owner=True)  # it probes again
        released = await gate.hold(poison, CRASH, owner=True)
    assert released  # given up: the others are due now

    [owner_row, *alice_rows] = await db.fetch_all("SELECT state FROM inbox ORDER BY id")
    assert owner_row["state"] == "failed"
    assert {r["state"] for r in alice_rows} == {"pending"}
    assert await inbox.deferred_chats() == []
    assert await inbox.chats_with_pending() == [ALICE]
    replies = await db.fetch_all("SELECT text FROM outbox WHERE inbox_id IS NOT NULL")
    assert [r["text"] for r in replies] == [CRASHED]


async def test_claude_code_not_starting_never_gives_a_message_up(
    db: Database, clock: FakeClock
) -> None:
    gate = outages(db, clock)
    item = await claimed(db, OWNER, 1)
    failing = Outcome("", InboxState.PENDING, outage="cli_failed")
    for _ in range(CRASHES_PER_MESSAGE + 2):
        assert not await gate.hold(item, failing, owner=True)
        clock.advance(seconds=600)
        item = await claimed(db, OWNER, 1)
        assert await gate.admit(item, owner=True)
    assert await states(db) == ["processing"]


async def test_status_says_when_the_model_is_down_and_when_it_is_tried_again(
    db: Database, clock: FakeClock
) -> None:
    gate = outages(db, clock)
    assert gate.describe() is None and not gate.is_down()
    await gate.hold(await claimed(db, OWNER, 1), DOWN, owner=True)
    assert gate.is_down()
    assert gate.describe() == (
        "AI service: unreachable (overloaded or down); messages wait, next try in 30 s"
    )
    login = Outcome("", InboxState.PENDING, outage="authentication_failed")
    clock.advance(seconds=30)
    probe = await claimed(db, OWNER, 1)
    assert await gate.admit(probe, owner=True)
    await gate.hold(probe, login, owner=True)
    assert gate.describe() == (
        "AI service: unreachable (the Claude login is not accepted: run `jobs login`); "
        "messages wait, next try in 60 s"
    )

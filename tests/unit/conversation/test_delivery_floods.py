"""OutboxSender and long flood waits: the reply waits (not failed), other chats go on, and the
owner is told once per chat and flood, in plain words; on a real outbox and a fake clock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobs.conversation.delivery import OutboxSender
from jobs.conversation.floods import about
from jobs.errors import RetryLater
from jobs.messages import OutboundMessage, SentRef
from jobs.storage import Database, OutboxRepo, OutboxState
from jobs.storage.database import from_iso_or_none
from jobs.storage.people import PeopleRepo
from tests.fakes.clock import FakeClock

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
OWNER, ALICE, BOB = 1000, 111, 222


class ScriptedChannel:
    """A Channel that refuses a chat's next sends with the flood waits scripted for it."""

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []
        self.waits: dict[int, list[float]] = {}

    async def send(self, message: OutboundMessage, /) -> SentRef:
        if waits := self.waits.get(message.chat_id):
            raise RetryLater(waits.pop(0))
        self.sent.append(message)
        return SentRef(chat_id=message.chat_id, msg_id=len(self.sent), msg_ids=(len(self.sent),))

    async def typing(self, chat_id: int, /) -> None:
        pass

    async def acknowledge(self, chat_id: int, msg_id: int, /) -> None:
        pass

    async def draft(self, chat_id: int, random_id: int, text: str, /) -> bool:
        return False

    async def preview(self, chat_id: int, text: str, /, *, msg_id: int | None = None) -> int | None:
        return None

    def texts(self, chat_id: int) -> list[str]:
        return [m.text for m in self.sent if m.chat_id == chat_id]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def db(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "db.sqlite", clock=clock)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def channel() -> ScriptedChannel:
    return ScriptedChannel()


@pytest.fixture
async def sender(db: Database, channel: ScriptedChannel, clock: FakeClock) -> OutboxSender:
    people = PeopleRepo(db)
    await people.upsert_seen(ALICE, username="alice", display_name="Alice", is_contact=False)
    return OutboxSender(
        outbox=OutboxRepo(db), channel=channel, clock=clock, owner_chat=OWNER, people=people
    )


async def reply(db: Database, chat_id: int, text: str) -> None:
    await OutboxRepo(db).enqueue([OutboundMessage(chat_id=chat_id, text=text)])


async def states(db: Database, chat_id: int) -> list[tuple[str, datetime | None]]:
    rows = await db.fetch_all(
        "SELECT state, not_before FROM outbox WHERE chat_id = ? ORDER BY id", (chat_id,)
    )
    return [(str(r["state"]), from_iso_or_none(r["not_before"])) for r in rows]


async def test_an_hour_long_flood_tells_the_owner_once_and_the_replies_wait_for_it(
    db: Database, sender: OutboxSender, channel: ScriptedChannel, clock: FakeClock
) -> None:
    channel.waits[ALICE] = [3600, 3600]  # and once more when the hour is over
    await reply(db, ALICE, "first answer for Alice")
    await reply(db, ALICE, "second answer for Alice")
    await reply(db, BOB, "answer for Bob")

    await sender.drain()
    [notice] = channel.texts(OWNER)
    assert notice == (
        "Telegram asked me to wait about 60 min before I write to Alice (@alice) again. "
        "My messages to them are queued, not lost: they go out when the wait is over."
    )
    assert channel.texts(BOB) == ["answer for Bob"]  # not held back by Alice's flood
    assert channel.texts(ALICE) == []
    [(state, not_before), second] = await states(db, ALICE)
    assert state == "pending" and not_before == START + timedelta(hours=1)
    assert second == ("pending", None)  # behind the first, so the order holds

    clock.advance(minutes=59)
    await sender.drain()
    assert channel.texts(ALICE) == []
    clock.advance(minutes=2)
    await sender.drain()  # refused again: the same flood, not told twice
    clock.advance(minutes=61)
    await sender.drain()

    assert channel.texts(ALICE) == ["first answer for Alice", "second answer for Alice"]
    assert len(channel.texts(OWNER)) == 1
    assert [s for s, _ in await states(db, ALICE)] == ["sent", "sent"]


async def test_a_new_flood_after_a_delivery_is_told_again(
    db: Database, sender: OutboxSender, channel: ScriptedChannel, clock: FakeClock
) -> None:
    channel.waits[ALICE] = [1800]
    await reply(db, ALICE, "one")
    await sender.drain()
    clock.advance(minutes=31)
    await sender.drain()
    channel.waits[ALICE] = [7200]
    await reply(db, ALICE, "two")
    await sender.drain()

    first, second = channel.texts(OWNER)
    assert "about 30 min" in first and "about 2 h" in second
    assert channel.texts(ALICE) == ["one"]


async def test_waits_under_five_minutes_are_not_told(
    db: Database, sender: OutboxSender, channel: ScriptedChannel, clock: FakeClock
) -> None:
    channel.waits[ALICE] = [5, 299]
    await reply(db, ALICE, "soon")
    await sender.drain()
    clock.advance(seconds=5)
    await sender.drain()
    assert channel.sent == []
    clock.advance(seconds=299)
    await sender.drain()
    assert channel.texts(ALICE) == ["soon"]
    assert channel.texts(OWNER) == []


async def test_a_flood_on_the_owners_own_chat_is_only_logged_once(
    db: Database,
    sender: OutboxSender,
    channel: ScriptedChannel,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    channel.waits[OWNER] = [3600, 3600]
    await reply(db, OWNER, "for the owner")
    with caplog.at_level(logging.WARNING, logger="jobs.conversation.floods"):
        await sender.drain()
        clock.advance(minutes=61)
        await sender.drain()
    told = [r.getMessage() for r in caplog.records if r.name == "jobs.conversation.floods"]
    assert told == [
        "Telegram asks to wait about 60 min before writing to the owner's chat again; "
        "the messages for it wait in the outbox until then"
    ]
    assert channel.sent == []
    assert await states(db, OWNER) == [("pending", START + timedelta(minutes=121))]


async def test_an_unknown_chat_is_named_by_its_id_and_names_are_shown_literally(
    db: Database, sender: OutboxSender, channel: ScriptedChannel
) -> None:
    await PeopleRepo(db).upsert_seen(
        BOB, username=None, display_name="[Bob](http://x.test) *", is_contact=False
    )
    channel.waits = {333: [900], BOB: [900]}
    await reply(db, 333, "to a chat nobody knows")
    await reply(db, BOB, "to Bob")
    await sender.drain()

    unknown, bob = channel.texts(OWNER)
    assert "before I write to chat 333 again" in unknown
    assert "before I write to [Bob](http://x.test) * again" in bob
    assert all(m.entities == () for m in channel.sent if m.chat_id == OWNER)  # never Markdown


async def test_without_an_owner_chat_nobody_is_told(
    db: Database, channel: ScriptedChannel, clock: FakeClock
) -> None:
    sender = OutboxSender(outbox=OutboxRepo(db), channel=channel, clock=clock)
    channel.waits[ALICE] = [3600]
    await reply(db, ALICE, "later")
    await sender.drain()
    assert channel.sent == []
    assert [s for s, _ in await states(db, ALICE)] == ["pending"]


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (30, "about 1 min"),
        (300, "about 5 min"),
        (3600, "about 60 min"),
        (7140, "about 119 min"),
        (7200, "about 2 h"),
        (86400, "about 24 h"),
    ],
)
def test_waits_are_said_in_minutes_then_hours(seconds: float, said: str) -> None:
    assert about(timedelta(seconds=seconds)) == said


async def test_a_running_sender_sends_a_row_handed_to_it_and_keeps_each_chats_order(
    db: Database, channel: ScriptedChannel, clock: FakeClock
) -> None:
    outbox = OutboxRepo(db)
    sender = OutboxSender(outbox=outbox, channel=channel, clock=clock)
    channel.waits[ALICE] = [60]  # Alice's first answer is held back a minute
    task = asyncio.create_task(sender.run())
    try:
        await outbox.enqueue([OutboundMessage(chat_id=ALICE, text="first for Alice")])
        await wait_for(lambda: len(channel.waits[ALICE]) == 0)
        # The sender waits now (Alice's row is due in a minute): new rows are handed to it.
        await wait_for(lambda: bool(outbox._waiting))
        [bob] = await outbox.enqueue([OutboundMessage(chat_id=BOB, text="for Bob")])
        [alice] = await outbox.enqueue([OutboundMessage(chat_id=ALICE, text="second for Alice")])
        assert bob.state is OutboxState.SENDING  # handed over, sent at once
        assert alice.state is OutboxState.PENDING  # behind Alice's first: not overtaking it
        await wait_for(lambda: channel.texts(BOB) == ["for Bob"])
        clock.advance(minutes=2)
        outbox.written.set()  # the sender looks again (its timer runs on the real clock)
        await wait_for(lambda: len(channel.texts(ALICE)) == 2)
        assert channel.texts(ALICE) == ["first for Alice", "second for Alice"]
        assert [s for s, _ in await states(db, BOB)] == ["sent"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def wait_for(condition: Callable[[], bool]) -> None:
    """Until `condition` holds (the sender runs as a task of its own), 5 s at most."""
    for _ in range(5000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the sender never got there")

"""The conversation's flow with scripted sessions (tests/fakes/sessions.py) and a real inbox and
outbox: order, follow-ups, files and /stop during a turn, outages, limits, a task's counterpart,
and idle chats costing nothing. No CLI runs, so these take milliseconds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobs.config import ExternalUsers
from jobs.conversation.answer import Answers
from jobs.conversation.builtin_commands import builtin_commands
from jobs.conversation.dispatcher import Dispatcher
from jobs.conversation.draft import DRAFT_FIRST
from jobs.conversation.limits import RateLimiter
from jobs.conversation.outage import Outages, notice
from jobs.conversation.turn import TurnHooks, Turns
from jobs.conversation.worker import ChatServices
from jobs.errors import CliCrashed
from jobs.i18n.translator import english
from jobs.messages import InboundMessage, OutboundMessage, SentRef
from jobs.sessions.keys import OWNER_KEY, SessionKey
from jobs.sessions.replies import Reply, Usage
from jobs.storage import Database, InboxItem, InboxRepo, OutboxRepo, PeopleRepo, TaskRepo
from tests.fakes.clock import FakeClock
from tests.fakes.sessions import ScriptedSessions

OWNER, ALICE, BOB = 1000, 111, 222
START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@dataclass
class Channel:
    """Records the typing and acknowledgements a turn shows (sending is the sender's)."""

    acks: list[tuple[int, int]] = field(default_factory=list)
    drafts: list[tuple[int, int, str]] = field(default_factory=list)

    async def send(self, message: OutboundMessage, /) -> SentRef:
        raise AssertionError("the conversation never sends: the outbox does")

    async def typing(self, chat_id: int, /) -> None:
        return None

    async def acknowledge(self, chat_id: int, msg_id: int, /) -> None:
        self.acks.append((chat_id, msg_id))

    async def draft(self, chat_id: int, random_id: int, text: str, /) -> bool:
        self.drafts.append((chat_id, random_id, text))
        return True

    async def preview(self, chat_id: int, text: str, /, *, msg_id: int | None = None) -> int | None:
        return None


class Tasks:
    """TaskTurns for a counterpart: answers from its own script; reports to the owner."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def frame(self, item: InboxItem, text: str, /) -> str:
        return f"[from {item.sender_id}] {text}"

    async def counterpart_turn(self, task_id: int, item: InboxItem, prompt: str, /) -> Reply:
        self.prompts.append(prompt)
        return Reply(f"task {task_id} heard it", "sid", Usage(), tainted=True)

    async def report(self, task_id: int, text: str, /) -> list[OutboundMessage]:
        return [OutboundMessage(OWNER, f"report: {text}")]


@dataclass
class Stage:
    db: Database
    sessions: ScriptedSessions
    channel: Channel
    dispatcher: Dispatcher
    clock: FakeClock
    tasks: Tasks
    next_id: int = 0

    async def send(self, chat: int, text: str = "hi", **extra: object) -> int:
        self.next_id += 1
        message = InboundMessage(chat, self.next_id, chat, text, **extra)  # type: ignore[arg-type]
        assert await self.dispatcher.submit(message)
        return self.next_id

    async def idle(self) -> None:
        async with asyncio.timeout(5):
            await self.dispatcher.wait_idle()

    async def replies(self, chat: int) -> list[tuple[str, int | None]]:
        rows = await self.db.fetch_all(
            "SELECT text, reply_to FROM outbox WHERE chat_id = ? ORDER BY id", (chat,)
        )
        return [(r["text"], r["reply_to"]) for r in rows]

    async def states(self) -> list[str]:
        rows = await self.db.fetch_all("SELECT state FROM inbox ORDER BY msg_id")
        return [str(r["state"]) for r in rows]


@pytest.fixture
async def stage(tmp_path: Path) -> AsyncIterator[Stage]:
    clock = FakeClock(START)
    db = await Database.open(tmp_path / "db.sqlite", clock=clock)
    sessions, channel, tasks = ScriptedSessions(), Channel(), Tasks()
    inbox, outbox, people = InboxRepo(db), OutboxRepo(db), PeopleRepo(db)
    services = ChatServices(
        inbox=inbox,
        outbox=outbox,
        people=people,
        commands=builtin_commands(sessions=sessions, people=people),
        turns=Turns(
            sessions=sessions,
            channel=channel,
            uploads_dir=tmp_path / "uploads",
            hooks=TurnHooks(task_turns=tasks),
        ),
        answers=Answers(inbox=inbox, outbox=outbox, sessions=sessions, task_turns=tasks),
        outages=Outages(first_wait=30, clock=clock, inbox=inbox, outbox=outbox),
        limiter=RateLimiter(clock=clock, burst=2, per_minute=1),
        owner_id=OWNER,
        slots=asyncio.Semaphore(2),
        tasks=TaskRepo(db),
    )
    dispatcher = Dispatcher(services=services, clock=clock)
    await dispatcher.start(policy=ExternalUsers.ALL)
    try:
        yield Stage(db, sessions, channel, dispatcher, clock, tasks)
    finally:
        await dispatcher.aclose()
        await db.close()


async def test_each_message_is_answered_once_in_order(stage: Stage) -> None:
    for text in ("one", "two", "three"):
        await stage.send(OWNER, text)
        await stage.idle()
    # Nothing came in between: no reply needs to say which message it answers.
    assert await stage.replies(OWNER) == [
        ("echo: one", None),
        ("echo: two", None),
        ("echo: three", None),
    ]
    assert await stage.states() == ["answered"] * 3
    assert [t.key for t in stage.sessions.turns] == [OWNER_KEY] * 3
    assert stage.dispatcher.active_chats == 0  # an idle chat has no worker
    assert stage.sessions.flushes == 3  # each turn's held records were written


async def test_the_owners_sighting_is_written_once_a_run_a_strangers_each_time(
    stage: Stage,
) -> None:
    async def updated(user_id: int) -> str:
        row = await stage.db.fetch_one("SELECT updated_at FROM users WHERE user_id = ?", (user_id,))
        assert row is not None
        return str(row["updated_at"])

    await stage.send(OWNER, "one")
    await stage.send(ALICE, "one")
    await stage.idle()
    owner_first, alice_first = await updated(OWNER), await updated(ALICE)
    stage.clock.advance(minutes=5)
    await stage.send(OWNER, "two")
    await stage.send(ALICE, "two")
    await stage.idle()
    # The owner's turn starts without a write; each sighting of someone else is recorded.
    assert await updated(OWNER) == owner_first
    assert await updated(ALICE) > alice_first


async def test_text_sent_during_a_turn_joins_it(stage: Stage) -> None:
    stage.sessions.hold()
    await stage.send(OWNER, "book a table")
    turn = await stage.sessions.started(1)
    await stage.send(OWNER, "for four")
    await stage.sessions.followed(turn, 1)
    stage.sessions.release()
    await stage.idle()
    assert await stage.replies(OWNER) == [("echo: book a table + for four", None)]
    assert await stage.states() == ["answered", "answered"]
    assert (OWNER, 2) in stage.channel.acks  # the follow-up was seen at once


async def test_a_file_waits_for_a_turn_of_its_own_and_nothing_overtakes_it(stage: Stage) -> None:
    stage.sessions.hold()
    await stage.send(OWNER, "first")
    first = await stage.sessions.started(1)
    await stage.send(OWNER, "the file", media={"kind": "document", "file_name": "a.pdf"})
    await stage.send(OWNER, "then this")  # after the file: it must not jump into the turn
    await asyncio.sleep(0.05)
    assert first.follow_ups == []
    stage.sessions.hold(False)
    stage.sessions.release()
    await stage.idle()
    replies = [text for text, _ in await stage.replies(OWNER)]
    assert replies[0] == "echo: first"
    assert "a.pdf" in replies[1] and replies[2] == "echo: then this"


async def test_stop_interrupts_the_running_turn_at_once(stage: Stage) -> None:
    stage.sessions.hold()
    await stage.send(OWNER, "write a long essay")
    await stage.sessions.started(1)
    await stage.send(OWNER, "/stop")
    await stage.idle()
    assert await stage.replies(OWNER) == [
        ("Stopping what I was doing.", None),
        ("echo: write a long essay\n\n(stopped)", 1),  # /stop came after it: it says which
    ]


async def test_while_the_model_is_down_messages_wait_and_each_chat_is_told_once(
    stage: Stage,
) -> None:
    stage.sessions.fail(CliCrashed("Claude Code stopped"))
    stage.sessions.fail(CliCrashed("Claude Code stopped"))
    stage.sessions.fail(CliCrashed("Claude Code stopped"))
    await stage.send(OWNER, "hello?")
    await stage.idle()
    assert await stage.states() == ["pending"]  # waits; never failed, never answered
    await stage.send(OWNER, "anyone?")
    await stage.idle()
    assert [text for text, _ in await stage.replies(OWNER)] == [
        notice("cli_crashed", english(), owner=True)
    ]
    assert len(stage.sessions.turns) == 1  # the second did not even try: the gate was shut


async def test_strangers_are_limited_the_owner_never(stage: Stage) -> None:
    for _ in range(4):
        await stage.send(ALICE, "hi")
        await stage.idle()
    for _ in range(4):
        await stage.send(OWNER, "hi")
        await stage.idle()
    alice = [text for text, _ in await stage.replies(ALICE)]
    assert alice[:2] == ["echo: hi", "echo: hi"]
    assert "faster than I can answer" in alice[2] and len(alice) == 3  # told once, then quiet
    assert [text for text, _ in await stage.replies(OWNER)] == ["echo: hi"] * 4
    keys = [t.key for t in stage.sessions.turns]
    assert keys.count(SessionKey.person(ALICE)) == 2 and keys.count(OWNER_KEY) == 4


async def test_a_strangers_turn_carries_their_taint(stage: Stage) -> None:
    await stage.send(ALICE, "hello", sender_name="Alice")
    await stage.idle()
    [turn] = stage.sessions.turns
    assert turn.role == "external" and turn.taint is not None
    assert turn.taint.caused_by == "messages from Alice (id 111)"


async def test_a_counterparts_words_go_to_their_task_and_its_report_to_the_owner(
    stage: Stage,
) -> None:
    await PeopleRepo(stage.db).upsert_seen(BOB, display_name="Bob")
    await TaskRepo(stage.db).create("Meeting", counterpart_id=BOB)
    await stage.send(BOB, "Tuesday works")
    await stage.idle()
    assert stage.tasks.prompts == [f"[from {BOB}] Tuesday works"]
    assert await stage.replies(BOB) == []  # the task answers them itself, if at all
    assert [text for text, _ in await stage.replies(OWNER)] == ["report: task 1 heard it"]
    await stage.send(BOB, "/clear")  # their commands act on their own session, not the task's
    await stage.idle()
    assert stage.sessions.resets == [SessionKey.person(BOB)]


async def test_the_reply_replaces_the_draft_it_was_streamed_as(stage: Stage) -> None:
    stage.sessions.hold()
    await stage.send(OWNER, "hello")
    await stage.sessions.started(1)
    await asyncio.sleep(DRAFT_FIRST + 0.1)  # the words written so far show as a draft
    stage.sessions.release()
    await stage.idle()
    [(chat, random_id, shown)] = stage.channel.drafts
    assert (chat, shown) == (OWNER, "echo: hello")
    [row] = await stage.db.fetch_all("SELECT text, random_id FROM outbox")
    assert (row["text"], row["random_id"]) == ("echo: hello", random_id)

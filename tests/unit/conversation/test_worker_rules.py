"""The worker with the owner's rules, on scripted sessions: a person answered with drafts sees
nothing of Jobs (no 👀, no notices, commands are text), and an answer the owner overtook by
writing to the person themselves is withheld."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from jobs.config import ExternalUsers
from jobs.conversation.answer import Answers
from jobs.conversation.builtin_commands import builtin_commands
from jobs.conversation.dispatcher import Dispatcher
from jobs.conversation.handover import Handovers, HandoverSettings
from jobs.conversation.limits import RateLimiter
from jobs.conversation.outage import Outages
from jobs.conversation.turn import Turns
from jobs.conversation.worker import ChatServices
from jobs.messages import InboundMessage
from jobs.storage import (
    Access,
    Database,
    HandoverRepo,
    InboxRepo,
    OutboxRepo,
    PeopleRepo,
    ReplyModeRepo,
    TaskRepo,
)
from tests.fakes.clock import FakeClock
from tests.fakes.sessions import ScriptedSessions
from tests.unit.conversation.test_worker import START, Channel

OWNER, ALICE = 1000, 111


@dataclass
class Stage:
    db: Database
    sessions: ScriptedSessions
    channel: Channel
    dispatcher: Dispatcher
    modes: ReplyModeRepo
    handovers: Handovers
    clock: FakeClock
    next_id: int = 0

    async def send(self, chat: int, text: str) -> None:
        self.next_id += 1
        assert await self.dispatcher.submit(InboundMessage(chat, self.next_id, chat, text))

    async def idle(self) -> None:
        async with asyncio.timeout(5):
            await self.dispatcher.wait_idle()

    async def rows(self, chat: int) -> list[tuple[str, int]]:
        rows = await self.db.fetch_all(
            "SELECT text, as_draft FROM outbox WHERE chat_id = ? ORDER BY id", (chat,)
        )
        return [(r["text"], r["as_draft"]) for r in rows]


@pytest.fixture
async def stage(tmp_path: Path) -> AsyncIterator[Stage]:
    clock = FakeClock(START)
    db = await Database.open(tmp_path / "db.sqlite", clock=clock)
    sessions, channel = ScriptedSessions(), Channel()
    inbox, outbox, people, tasks = InboxRepo(db), OutboxRepo(db), PeopleRepo(db), TaskRepo(db)
    modes = ReplyModeRepo(db)
    handovers = Handovers(
        repo=HandoverRepo(db),
        outbox=outbox,
        people=people,
        tasks=tasks,
        settings=HandoverSettings(owner_chat=OWNER, zone=UTC, keep_out=timedelta(hours=1)),
        clock=clock,
    )
    services = ChatServices(
        inbox=inbox,
        outbox=outbox,
        people=people,
        commands=builtin_commands(sessions=sessions, people=people),
        turns=Turns(sessions=sessions, channel=channel, uploads_dir=tmp_path / "uploads"),
        answers=Answers(inbox=inbox, outbox=outbox, sessions=sessions),
        outages=Outages(first_wait=30, clock=clock, inbox=inbox, outbox=outbox),
        limiter=RateLimiter(clock=clock, burst=1, per_minute=1),
        owner_id=OWNER,
        slots=asyncio.Semaphore(2),
        tasks=tasks,
        handovers=handovers,
        reply_modes=modes,
    )
    dispatcher = Dispatcher(services=services, clock=clock)
    await dispatcher.start(policy=ExternalUsers.APPROVED)
    try:
        yield Stage(db, sessions, channel, dispatcher, modes, handovers, clock)
    finally:
        await dispatcher.aclose()
        await db.close()


async def test_a_person_answered_with_drafts_sees_nothing_of_jobs(stage: Stage) -> None:
    await stage.modes.set(ALICE, drafts=True)
    await stage.send(ALICE, "/help")  # text for the session: a command's answer would be sent
    await stage.idle()
    await stage.send(ALICE, "and again")  # over the rate limit: not told
    await stage.idle()
    assert await stage.rows(ALICE) == [("echo: /help", 1)]
    assert stage.channel.acks == [] and stage.channel.drafts == []
    assert await stage.rows(OWNER) == []  # not announced either: the draft is in their chat


async def test_an_answer_the_owner_overtook_is_withheld(stage: Stage) -> None:
    people = PeopleRepo(stage.db)
    await people.upsert_seen(ALICE, display_name="Alice")
    await people.set_access(ALICE, Access.ALLOWED)
    stage.sessions.hold()
    await stage.send(ALICE, "can we talk?")
    await stage.sessions.started(1)
    await stage.handovers.owner_wrote(ALICE, "sure, calling you now", stage.clock())
    stage.sessions.release()
    await stage.idle()
    assert await stage.rows(ALICE) == []
    [row] = await stage.db.fetch_all("SELECT state, error FROM inbox WHERE chat_id = ?", (ALICE,))
    assert (row["state"], row["error"]) == ("ignored", "the owner took the conversation over")
    assert stage.sessions.flushes == 1  # its records are still written

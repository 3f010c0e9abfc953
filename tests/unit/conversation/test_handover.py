"""Handovers: the owner's own message starts one (told once, the task stopped), Jobs' draft
sent on does not, nor an old message read again; /handback and /hold with every bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobs.conversation.commands import CommandContext, CommandTable, parse_command
from jobs.conversation.handover import (
    Handovers,
    HandoverSettings,
    parse_duration,
    same_words,
)
from jobs.messages import OutboundMessage
from jobs.sessions.keys import OWNER_KEY
from jobs.storage import Database, HandoverRepo, OutboxRepo, PeopleRepo, TaskRepo
from tests.fakes.clock import FakeClock

OWNER, ANNA = 1000, 42
START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@dataclass
class Stage:
    handovers: Handovers
    outbox: OutboxRepo
    tasks: TaskRepo
    clock: FakeClock
    stopped: list[int]
    commands: CommandTable

    async def command(self, text: str) -> str:
        command = parse_command(text)
        assert command is not None
        ctx = CommandContext(OWNER, OWNER, OWNER_KEY, is_owner=True)
        answer = await self.commands.run(ctx, command)
        assert isinstance(answer, str)
        return answer


async def owner_notices(outbox: OutboxRepo) -> list[str]:
    found = []
    while (row := await outbox.claim_next()) is not None:
        found.append(row.text)
    return found


@pytest.fixture
async def stage(tmp_path: Path) -> AsyncIterator[Stage]:
    clock = FakeClock(START)
    db = await Database.open(tmp_path / "db.sqlite", clock=clock)
    people, outbox, tasks = PeopleRepo(db), OutboxRepo(db), TaskRepo(db)
    await people.upsert_seen(ANNA, username="anna", display_name="Anna *Admin*")
    stopped: list[int] = []

    async def stop(task_id: int) -> bool:
        stopped.append(task_id)
        return True

    handovers = Handovers(
        repo=HandoverRepo(db),
        outbox=outbox,
        people=people,
        tasks=tasks,
        settings=HandoverSettings(owner_chat=OWNER, zone=UTC, keep_out=timedelta(hours=1)),
        clock=clock,
        stop_task=stop,
    )
    table = CommandTable()
    handovers.add_commands(table)
    try:
        yield Stage(handovers, outbox, tasks, clock, stopped, table)
    finally:
        await db.close()


async def test_the_owners_message_starts_a_handover_told_once(stage: Stage) -> None:
    task = await stage.tasks.create("Invoice with Anna", counterpart_id=ANNA)
    await stage.handovers.owner_wrote(ANNA, "I'll pay Friday", START)
    stage.clock.advance(minutes=10)
    await stage.handovers.owner_wrote(ANNA, "promise", stage.clock())
    [notice] = await owner_notices(stage.outbox)
    assert notice.startswith(
        "You wrote to Anna *Admin* (@anna) yourself, so I'll leave the conversation to you "
        "until 10:00 (1 h after your last message to them)."  # told at the start
    )
    assert f"Task #{task.id} «Invoice with Anna» waits meanwhile" in notice
    assert stage.stopped == [task.id]
    assert await stage.handovers.in_force(ANNA)
    stage.clock.advance(minutes=59)  # 10:10 + 1 h, the owner's last message counts
    assert await stage.handovers.in_force(ANNA)
    stage.clock.advance(minutes=2)
    assert not await stage.handovers.in_force(ANNA)


async def test_jobs_draft_sent_on_and_old_messages_start_nothing(stage: Stage) -> None:
    draft = OutboundMessage(ANNA, "Sure, **Friday** at 10 works.", as_draft=True)
    await stage.outbox.enqueue([draft])
    await stage.handovers.owner_wrote(ANNA, "Sure, Friday at 10 works for me!", START)
    await stage.handovers.owner_wrote(ANNA, "an old message", START - timedelta(hours=2))
    assert not await stage.handovers.in_force(ANNA)
    await stage.handovers.owner_wrote(ANNA, "something else entirely, about the car", START)
    assert await stage.handovers.in_force(ANNA)


async def test_handback_and_hold_answer_every_input(stage: Stage) -> None:
    assert await stage.command("/handback") == (
        "Usage: /handback <user id or @username>\n"
        "I'm not keeping out of any conversation right now."
    )
    assert await stage.command("/handback 999") == "I don't know anyone called 999."
    assert await stage.command("/handback @nobody") == "I don't know anyone called \\@nobody."
    assert await stage.command(f"/handback_{ANNA}") == (
        "I wasn't keeping out of your conversation with Anna \\*Admin\\*."
    )
    assert await stage.command(f"/hold_{ANNA} soon") == "soon is not a time like 30m, 3h or 2d."
    assert await stage.command(f"/hold_{ANNA} 0h") == "0h is not a time like 30m, 3h or 2d."
    assert await stage.command("/hold @anna 3h") == (
        f"I'll keep out of your conversation with Anna \\*Admin\\* until 12:00. "
        f"/handback\\_{ANNA} lets me answer them again."
    )
    assert await stage.command(f"/hold_{ANNA}") == (
        f"I'll keep out of your conversation with Anna \\*Admin\\* until you say so. "
        f"/handback\\_{ANNA} lets me answer them again."
    )
    listed = await stage.command("/hold")
    assert listed.endswith(f"- Anna \\*Admin\\* ({ANNA}), until you say so")
    assert await stage.command(f"/handback_{ANNA}") == "I'll answer Anna \\*Admin\\* again."
    assert not await stage.handovers.in_force(ANNA)


def test_same_words_and_durations() -> None:
    assert same_words("Sure, Friday works", "Sure, **Friday** works.")
    assert same_words("ok", "ok, see you then")  # one holds the other
    assert not same_words("Call me later", "The invoice is 1200 EUR, paid Monday.")
    assert not same_words("", "anything")
    assert parse_duration("30m") == timedelta(minutes=30)
    assert parse_duration("2D") == timedelta(days=2)
    assert parse_duration("1w") == timedelta(weeks=1)
    assert parse_duration("3") is None and parse_duration("-1h") is None

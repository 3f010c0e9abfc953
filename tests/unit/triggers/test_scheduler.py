"""The Scheduler on a real database with a fake clock: the ledger makes every firing run once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobs.messages import OutboundMessage
from jobs.storage import (
    Database,
    Misfire,
    OutboxRepo,
    RunState,
    Schedule,
    ScheduleKind,
    TriggerRepo,
)
from jobs.triggers.events import TriggerEvent, TriggerOutcome
from jobs.triggers.scheduler import Scheduler
from tests.unit.triggers.conftest import FakeClock

OWNER_CHAT = 1000


class Answers:
    """Stands in for TriggerExecutor.answer: records events, answers one message each."""

    def __init__(self, reply: Callable[[TriggerEvent], TriggerOutcome] | None = None) -> None:
        self.events: list[TriggerEvent] = []
        self.reply = reply
        self.gate: asyncio.Event | None = None
        self.called = asyncio.Event()

    async def __call__(self, event: TriggerEvent) -> TriggerOutcome:
        self.events.append(event)
        self.called.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.reply is not None:
            return self.reply(event)
        text = f"{event.header}\n\ndone"
        return TriggerOutcome(ok=True, messages=(OutboundMessage(OWNER_CHAT, text),), note="ok")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0):
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def make(db: Database, answers: Answers, clock: FakeClock) -> Scheduler:
    return Scheduler(
        triggers=TriggerRepo(db),
        outbox=OutboxRepo(db),
        answer=answers,
        owner_chat=OWNER_CHAT,
        clock=clock,
    )


async def outbox_texts(db: Database) -> list[str]:
    rows = await db.fetch_all("SELECT chat_id, text FROM outbox ORDER BY id")
    assert all(row["chat_id"] == OWNER_CHAT for row in rows)
    return [row["text"] for row in rows]


async def add_once(
    db: Database, at: str, tz: str = "Europe/Berlin", misfire: Misfire = Misfire.RUN_LATE
) -> Schedule:
    return await TriggerRepo(db).add_schedule(
        "call Anna",
        kind=ScheduleKind.ONCE,
        spec=at,
        timezone=tz,
        prompt="Remind: call Anna",
        misfire=misfire,
    )


async def test_a_due_one_off_runs_once_and_its_reply_is_queued(
    db: Database, clock: FakeClock
) -> None:
    once = await add_once(db, "2026-11-27T09:00+01:00")
    answers = Answers()
    scheduler = make(db, answers, clock)
    assert await scheduler.tick(utc(2026, 11, 27, 7, 59)) == []
    clock.set(utc(2026, 11, 27, 8, 0, 1))
    (due,) = await scheduler.tick()
    assert (due.fire_time, due.late) == (utc(2026, 11, 27, 8), False)
    assert await scheduler.tick(utc(2026, 11, 27, 8, 1)) == []  # the ledger: never twice
    (event,) = answers.events
    assert event.trusted and "Remind: call Anna" in event.payload and "late" not in event.payload
    assert event.dedup_key == f"schedule:{once.id}:2026-11-27T08:00:00+00:00"
    assert await outbox_texts(db) == ["⏰ call Anna\n\ndone"]
    run = await TriggerRepo(db).last_run(once.id)
    assert run is not None and (run.state, run.note) == (RunState.DONE, "ok")
    assert OutboxRepo(db).written.is_set()


async def test_restart_with_a_due_reminder_fires_it_once_late(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "db.sqlite"
    async with await Database.open(path, clock=clock) as db:
        await add_once(db, "2026-11-27T09:00")  # Berlin: 08:00 UTC
    clock.set(utc(2026, 11, 27, 10, 15))  # Jobs was down from before 08:00 until now
    async with await Database.open(path, clock=clock) as db:
        answers = Answers()
        scheduler = make(db, answers, clock)
        assert await scheduler.recover() == []
        (due,) = await scheduler.tick()
        assert await scheduler.tick() == []
        assert due.late
        (event,) = answers.events
        assert "runs late, now (Fri 2026-11-27 11:15 CET)" in event.payload
        assert event.header == "⏰ call Anna (late: was due Fri 2026-11-27 09:00 CET)"


async def test_a_run_left_running_by_a_crash_is_reported_not_repeated(
    db: Database, clock: FakeClock
) -> None:
    once = await add_once(db, "2026-11-27T09:00")
    triggers = TriggerRepo(db)
    assert await triggers.claim_run(once.id, utc(2026, 11, 27, 8))  # the killed process' claim
    clock.set(utc(2026, 11, 27, 8, 5))
    answers = Answers()
    scheduler = make(db, answers, clock)
    (interrupted,) = await scheduler.recover()
    assert interrupted.scheduled_for == utc(2026, 11, 27, 8)
    assert await scheduler.tick() == [] and answers.events == []
    (notice,) = await outbox_texts(db)
    assert "Jobs stopped while this was running" in notice and "Remind: call Anna" in notice
    run = await triggers.last_run(once.id)
    assert run is not None and (run.state, run.note) == (RunState.FAILED, "interrupted")


async def test_missed_recurring_firings_coalesce_into_one_late_run(
    db: Database, clock: FakeClock
) -> None:
    daily = await TriggerRepo(db).add_schedule(
        "digest", kind=ScheduleKind.CRON, spec="0 9 * * *", timezone="UTC", prompt="Digest"
    )
    clock.set(utc(2026, 12, 1, 12, 0))  # five 09:00 firings passed while Jobs was down
    answers = Answers()
    (due,) = await make(db, answers, clock).tick()
    assert (due.fire_time, due.first_missed) == (utc(2026, 12, 1, 9), utc(2026, 11, 27, 9))
    (event,) = answers.events
    assert "this one run stands for all of those" in event.payload
    assert [r.scheduled_for for r in await TriggerRepo(db).runs(daily.id)] == [utc(2026, 12, 1, 9)]


async def test_skip_policy_records_and_reports_a_missed_firing(
    db: Database, clock: FakeClock
) -> None:
    once = await add_once(db, "2026-11-27T09:00", misfire=Misfire.SKIP)
    clock.set(utc(2026, 11, 27, 12, 0))
    answers = Answers()
    (due,) = await make(db, answers, clock).tick()
    assert not due.run and answers.events == []
    (notice,) = await outbox_texts(db)
    assert notice.startswith("⏰ call Anna\n\nSkipped: it was due Fri 2026-11-27 09:00 CET")
    run = await TriggerRepo(db).last_run(once.id)
    assert run is not None and run.state is RunState.SKIPPED


async def test_a_failing_run_gets_a_final_state_and_the_owner_is_told(
    db: Database, clock: FakeClock
) -> None:
    def explode(_event: TriggerEvent) -> TriggerOutcome:
        raise RuntimeError("boom")

    once = await add_once(db, "2026-11-27T08:30", tz="UTC")
    clock.set(utc(2026, 11, 27, 8, 30))
    await make(db, Answers(explode), clock).tick()
    run = await TriggerRepo(db).last_run(once.id)
    assert run is not None and (run.state, run.note) == (RunState.FAILED, "boom")
    assert await outbox_texts(db) == ["⏰ call Anna\n\nThis could not run: boom"]


async def test_a_schedule_still_running_is_not_started_again(
    db: Database, clock: FakeClock
) -> None:
    minutely = await TriggerRepo(db).add_schedule(
        "poll", kind=ScheduleKind.INTERVAL, spec="60", timezone="UTC", prompt="Poll"
    )
    answers = Answers()
    answers.gate = asyncio.Event()
    scheduler = make(db, answers, clock)
    clock.advance(minutes=1)
    first = asyncio.create_task(scheduler.tick())
    await answers.called.wait()
    clock.advance(minutes=2)
    assert await scheduler.tick() == []  # the 07:31 run is still going
    answers.gate.set()
    await first
    (due,) = await scheduler.tick()  # what fell due meanwhile: one run
    assert due.first_missed == utc(2026, 11, 27, 7, 32) and due.fire_time == utc(
        2026, 11, 27, 7, 33
    )
    assert len(answers.events) == 2
    assert len(await TriggerRepo(db).runs(minutely.id)) == 2


async def test_the_loop_ticks_at_once_and_again_when_schedules_change(
    db: Database, clock: FakeClock
) -> None:
    answers = Answers()
    scheduler = make(db, answers, clock)
    queued = OutboxRepo(db).written  # set when the run's message is written
    loop = asyncio.create_task(scheduler.run())
    try:
        await asyncio.sleep(0.05)  # the loop's first tick found nothing and waits up to 60 s
        await add_once(db, "2026-11-27T07:30", tz="UTC")  # due now
        scheduler.changed()
        async with asyncio.timeout(5):
            await queued.wait()
        assert len(answers.events) == 1
        assert await outbox_texts(db) == ["⏰ call Anna\n\ndone"]
    finally:
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop


async def test_upcoming_checks_a_would_be_schedule(db: Database, clock: FakeClock) -> None:
    scheduler = make(db, Answers(), clock)
    assert scheduler.upcoming(
        ScheduleKind.CRON, "0 9 * * 1", "UTC", anchor=clock(), after=clock(), count=2
    ) == [utc(2026, 11, 30, 9), utc(2026, 12, 7, 9)]
    with pytest.raises(ValueError, match="5 fields"):
        scheduler.upcoming(ScheduleKind.CRON, "0 9", "UTC", anchor=clock(), after=clock(), count=1)

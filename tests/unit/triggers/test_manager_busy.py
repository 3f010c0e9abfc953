"""TriggerManager while another program locks the database: starting waits, a source ended by
the lock starts again, anything else still ends it."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from jobs.errors import StorageBusy
from jobs.storage import Database, OutboxRepo, TriggerRepo
from jobs.storage.busy import BusyPolicy
from jobs.triggers import ChannelWatch, Heartbeat, Scheduler, TriggerManager
from jobs.triggers.events import TriggerEvent, TriggerOutcome
from tests.chaos.conftest import wait_until
from tests.unit.db_locks import locked
from tests.unit.triggers.conftest import FakeClock

QUICK = BusyPolicy(first=0.01, longest=0.02)


async def nothing(event: TriggerEvent) -> TriggerOutcome:
    raise AssertionError("no trigger fires in these tests")


async def dropped(event: TriggerEvent) -> None:
    raise AssertionError("no channel post arrives in these tests")


def manager(db: Database, tmp_path: Path, clock: FakeClock) -> TriggerManager:
    triggers = TriggerRepo(db)
    scheduler = Scheduler(
        triggers=triggers,
        outbox=OutboxRepo(db),
        answer=nothing,
        owner_chat=1,
        clock=clock,
    )
    heartbeat = Heartbeat(workspace=tmp_path, on_due=dropped, interval=timedelta(0), zone=UTC)
    channels = ChannelWatch(triggers=triggers, on_event=dropped, clock=clock)
    return TriggerManager(scheduler=scheduler, heartbeat=heartbeat, channels=channels, busy=QUICK)


def said(caplog: pytest.LogCaptureFixture, level: str, start: str) -> bool:
    return any(r.levelname == level and r.getMessage().startswith(start) for r in caplog.records)


async def stopped(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_starting_waits_until_the_database_is_free(
    quick_db: Database, tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with locked(quick_db.path) as other:
        running = asyncio.create_task(manager(quick_db, tmp_path, clock).run())
        await wait_until(
            lambda: said(caplog, "WARNING", "Starting the triggers: The database"),
            what="the warning",
        )
        assert not said(caplog, "INFO", "triggers: ")
        other.execute("ROLLBACK")
        await wait_until(lambda: said(caplog, "INFO", "triggers: 0 watched"), what="the start")
    assert said(caplog, "INFO", "Starting the triggers: done")
    assert not running.done()
    await stopped(running)


async def test_a_source_ended_by_the_lock_starts_again(
    quick_db: Database,
    tmp_path: Path,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = manager(quick_db, tmp_path, clock)
    runs: list[int] = []

    async def flaky() -> None:
        runs.append(len(runs) + 1)
        if len(runs) < 3:  # as a TaskGroup inside a source reports it
            raise ExceptionGroup("tasks", [StorageBusy(quick_db.path, 0.05)])
        await asyncio.Event().wait()

    monkeypatch.setattr(made.heartbeat, "run", flaky)
    running = asyncio.create_task(made.run())
    await wait_until(lambda: len(runs) == 3, what="the third start")
    assert not running.done()
    await stopped(running)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and warnings[0].startswith("The heartbeat: The database")


async def test_a_bug_in_a_source_still_ends_the_triggers(
    quick_db: Database, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = manager(quick_db, tmp_path, clock)

    async def broken() -> None:
        raise ExceptionGroup("tasks", [StorageBusy(quick_db.path, 0.05), ValueError("a bug")])

    monkeypatch.setattr(made.heartbeat, "run", broken)
    with pytest.raises(ExceptionGroup) as caught:
        await asyncio.wait_for(made.run(), 10)
    assert caught.group_contains(ValueError, match="a bug", depth=None)

from __future__ import annotations

from datetime import timedelta

from jobs.storage import Database, Misfire, RunState, ScheduleKind, TaskRepo, TriggerRepo
from tests.unit.storage.conftest import START, FakeClock


async def _schedule(triggers: TriggerRepo, name: str = "digest", task_id: int | None = None):
    return await triggers.add_schedule(
        name,
        kind=ScheduleKind.CRON,
        spec="0 9 * * *",
        timezone="Europe/Berlin",
        prompt="Send the digest",
        task_id=task_id,
    )


async def test_schedule_crud(db: Database) -> None:
    triggers = TriggerRepo(db)
    schedule = await _schedule(triggers)
    assert (schedule.kind, schedule.misfire, schedule.enabled) == (
        ScheduleKind.CRON,
        Misfire.RUN_LATE,
        True,
    )
    assert await triggers.get_schedule(schedule.id) == schedule
    once = await triggers.add_schedule(
        "once",
        kind=ScheduleKind.ONCE,
        spec=START.isoformat(),
        timezone="UTC",
        prompt="p",
        misfire=Misfire.SKIP,
    )
    assert await triggers.set_schedule_enabled(once.id, False)
    assert [s.id for s in await triggers.list_schedules()] == [schedule.id, once.id]
    assert [s.id for s in await triggers.list_schedules(enabled_only=True)] == [schedule.id]
    assert await triggers.delete_schedule(schedule.id)
    assert not await triggers.delete_schedule(schedule.id)
    assert await triggers.get_schedule(schedule.id) is None


async def test_claim_run_once_per_scheduled_time(db: Database, clock: FakeClock) -> None:
    triggers = TriggerRepo(db)
    schedule = await _schedule(triggers)
    due = START + timedelta(hours=1)
    assert await triggers.claim_run(schedule.id, due)
    assert not await triggers.claim_run(schedule.id, due)  # already ran: do not run again
    clock.advance(seconds=5)
    assert await triggers.finish_run(schedule.id, due, RunState.DONE, "sent")
    assert not await triggers.finish_run(schedule.id, due, RunState.FAILED)
    (run,) = await triggers.runs(schedule.id)
    assert (run.scheduled_for, run.state, run.note, run.finished_at) == (
        due,
        RunState.DONE,
        "sent",
        clock(),
    )


async def test_skipped_runs_and_newest_first(db: Database) -> None:
    triggers = TriggerRepo(db)
    schedule = await _schedule(triggers)
    times = [START + timedelta(days=n) for n in range(3)]
    for moment in times:
        assert await triggers.claim_run(schedule.id, moment, state=RunState.SKIPPED)
    runs = await triggers.runs(schedule.id)
    assert [r.scheduled_for for r in runs] == times[::-1]
    assert all(r.state is RunState.SKIPPED and r.finished_at is not None for r in runs)
    last = await triggers.last_run(schedule.id)
    assert last is not None and last.scheduled_for == times[-1]


async def test_interrupted_runs_fail_and_deletes_cascade(db: Database) -> None:
    triggers = TriggerRepo(db)
    task = await TaskRepo(db).create("t")
    schedule = await _schedule(triggers, task_id=task.id)
    await triggers.claim_run(schedule.id, START)
    assert await triggers.fail_interrupted_runs() == 1
    run = await triggers.last_run(schedule.id)
    assert run is not None and (run.state, run.note) == (RunState.FAILED, "interrupted")
    await db.execute("DELETE FROM tasks WHERE id = ?", (task.id,))
    assert await triggers.get_schedule(schedule.id) is None
    assert await triggers.runs(schedule.id) == []


async def test_subscriptions(db: Database) -> None:
    triggers = TriggerRepo(db)
    sub = await triggers.add_subscription(
        "tg_channel", "-100123", title="News", keywords=["rust", "sqlite"], instructions="tl;dr"
    )
    assert sub.keywords == ("rust", "sqlite")
    assert sub.enabled
    assert await triggers.set_subscription_enabled(sub.id, False)
    again = await triggers.add_subscription("tg_channel", "-100123", keywords="python")
    assert again.id == sub.id  # same target: updated and re-enabled
    assert (again.keywords, again.enabled, again.title) == (("python",), True, "")
    other = await triggers.add_subscription("rss", "https://example.org/feed")
    assert [s.id for s in await triggers.list_subscriptions()] == [sub.id, other.id]
    assert [s.id for s in await triggers.list_subscriptions(source="rss")] == [other.id]
    await triggers.set_subscription_enabled(other.id, False)
    assert [s.id for s in await triggers.list_subscriptions(enabled_only=True)] == [sub.id]
    assert await triggers.get_subscription(other.id) is not None
    assert await triggers.remove_subscription(other.id)
    assert not await triggers.remove_subscription(other.id)
    assert await triggers.get_subscription(other.id) is None

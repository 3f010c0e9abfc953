"""What the triggers added to TriggerRepo: atomic finish with messages, interrupted runs,
the subscriptions' high-water mark (migration 0004)."""

from __future__ import annotations

from datetime import UTC, datetime

from jobs.messages import OutboundMessage
from jobs.storage import Database, RunState, ScheduleKind, TriggerRepo

DUE = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


async def _schedule(triggers: TriggerRepo) -> int:
    made = await triggers.add_schedule(
        "s", kind=ScheduleKind.CRON, spec="0 8 * * *", timezone="UTC", prompt="p"
    )
    return made.id


async def _outbox(db: Database) -> list[str]:
    return [row["text"] for row in await db.fetch_all("SELECT text FROM outbox ORDER BY id")]


async def test_finish_run_queues_its_messages_in_the_same_transaction(db: Database) -> None:
    triggers = TriggerRepo(db)
    schedule_id = await _schedule(triggers)
    message = OutboundMessage(chat_id=1, text="hello")
    assert not await triggers.finish_run(schedule_id, DUE, RunState.DONE, deliver=[message])
    assert await _outbox(db) == []  # no running row: nothing written
    assert await triggers.claim_run(schedule_id, DUE)
    assert await triggers.finish_run(schedule_id, DUE, RunState.DONE, "ok", deliver=[message])
    assert await _outbox(db) == ["hello"]
    assert not await triggers.finish_run(schedule_id, DUE, RunState.DONE, deliver=[message])
    assert await _outbox(db) == ["hello"]


async def test_take_interrupted_runs_returns_them_failed(db: Database) -> None:
    triggers = TriggerRepo(db)
    schedule_id = await _schedule(triggers)
    await triggers.claim_run(schedule_id, DUE)
    (run,) = await triggers.take_interrupted_runs()
    assert (run.scheduled_for, run.state, run.note) == (DUE, RunState.FAILED, "interrupted")
    assert await triggers.take_interrupted_runs() == []


async def test_subscriptions_remember_the_newest_post(db: Database) -> None:
    triggers = TriggerRepo(db)
    sub = await triggers.add_subscription("tg_channel", "-1000000000777", title="News")
    assert sub.last_msg_id == 0
    assert await triggers.advance_subscription(sub.id, 12)
    assert not await triggers.advance_subscription(sub.id, 12)  # a replay
    assert not await triggers.advance_subscription(sub.id, 5)
    again = await triggers.add_subscription("tg_channel", "-1000000000777", keywords=["x"])
    assert again.last_msg_id == 12  # re-subscribing does not replay old posts

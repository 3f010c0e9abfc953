"""Spending's rows: usage summed by payer, budgets and their notices, model choices, /pause,
held messages and held trigger events; migration 0012 turning running totals into costs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from jobs.messages import InboundMessage
from jobs.storage import (
    BudgetRepo,
    ControlRepo,
    Database,
    HeldEventRepo,
    InboxRepo,
    InboxState,
    Spent,
    UsageRepo,
    load_migrations,
)
from tests.unit.storage.conftest import START, FakeClock


async def test_usage_spent_by_payer_prefix_and_everyone(db: Database, clock: FakeClock) -> None:
    usage = UsageRepo(db)
    await usage.record("external:7", "external", 7, "haiku", payer="person:7", cost_usd=0.25,
                       input_tokens=100, cache_read_tokens=50, cache_write_tokens=5,
                       output_tokens=10)  # fmt: skip
    await usage.record("owner", "owner", None, "opus", payer="trigger:heartbeat", cost_usd=0.5)
    await usage.record("trigger:x", "trigger", None, "haiku", payer="trigger:channel:-1001",
                       payer_label="News", cost_usd=0.125)  # fmt: skip
    await usage.record("owner", "owner", None, "opus", cost_usd=1.0)  # the owner by default
    clock.advance(days=1)
    await usage.record("external:7", "external", 7, "haiku", payer="person:7", cost_usd=2.0)

    assert await usage.spent(START, payer="person:7") == Spent(2, 2.25, 165)
    assert await usage.spent(START + timedelta(hours=1), payer="person:7") == Spent(1, 2.0, 0)
    assert await usage.spent(START, prefix="trigger:") == Spent(2, 0.625, 0)
    assert await usage.spent(START, payer="person:8") == Spent()
    assert (await usage.spent(START)).cost_usd == 3.875
    lines = await usage.lines(START, START + timedelta(hours=1))
    assert [(line.payer, line.label, line.model) for line in lines] == [
        ("owner", "", "opus"),
        ("trigger:heartbeat", "", "opus"),
        ("person:7", "", "haiku"),
        ("trigger:channel:-1001", "News", "haiku"),
    ]
    assert lines[2].totals.tokens == 165


async def test_budgets_and_notices_once(db: Database) -> None:
    repo = BudgetRepo(db)
    await repo.set("people", 0.5, "usd")
    await repo.set("person:7", None, "usd")
    await repo.set("month", 2_000_000, "tokens")
    await repo.set("people", 1.0, "usd")
    stored = await repo.all()
    assert {(s.scope, s.amount, s.unit) for s in stored.values()} == {
        ("people", 1.0, "usd"),
        ("person:7", None, "usd"),
        ("month", 2_000_000, "tokens"),
    }
    assert await repo.drop("person:7") and not await repo.drop("person:7")
    assert await repo.first_notice("person:7", "2026-11-27|$0.50", "owner")
    assert not await repo.first_notice("person:7", "2026-11-27|$0.50", "owner")
    assert await repo.first_notice("person:7", "2026-11-27|$1.00", "owner")  # a raised limit
    assert await repo.first_notice("person:7", "2026-11-27", "person")
    assert await repo.first_notice("person:8", "2026-11-27|$0.50", "owner")
    assert await repo.first_notice("person:8", "2026-11-28|$0.50", "owner")
    assert await repo.count_notices("person:", "2026-11-27", "owner") == 3
    assert await repo.count_notices("task:", "2026-11-27", "owner") == 0


async def test_model_choices_and_pause_survive_reopening(db_path: Path, clock: FakeClock) -> None:
    async with await Database.open(db_path, clock=clock) as db:
        controls = ControlRepo(db)
        await controls.set_model("people", "sonnet", "haiku")
        await controls.set_model("owner", None, "sonnet")
        assert await controls.pause() and not await controls.pause()
    async with await Database.open(db_path, clock=clock) as db:
        controls = ControlRepo(db)
        models = await controls.models()
        assert (models["people"].model, models["people"].fallback) == ("sonnet", "haiku")
        assert (models["owner"].model, models["owner"].fallback) == (None, "sonnet")
        assert await controls.paused_since() == START
        assert await controls.drop_model("people") and not await controls.drop_model("people")
        assert await controls.resume() and not await controls.resume()
        assert await controls.paused_since() is None


async def test_held_messages_are_not_claimed_until_released(db: Database) -> None:
    inbox = InboxRepo(db)
    for n in (1, 2, 3):
        await inbox.add(InboundMessage(chat_id=7, msg_id=n, sender_id=7, text=f"m{n}"))
    first = await inbox.claim_next(7)
    assert first is not None and first.attempts == 1
    assert await inbox.hold([first.id], "paused") == 1
    second = await inbox.claim_next(7)
    assert second is not None and second.msg_id == 2  # the held one is skipped
    assert await inbox.ignore_waiting(7, "muted") == 1  # the held one stays
    assert await inbox.held_count() == 1
    assert await inbox.chats_with_pending() == []
    assert await inbox.release_held() == 1
    assert await inbox.chats_with_pending() == [7]
    again = await inbox.claim_next(7)
    assert again is not None and again.id == first.id and again.attempts == 1  # not counted
    assert await inbox.finish(again.id, InboxState.ANSWERED)


async def test_held_events_coalesce_by_slot(db: Database) -> None:
    held = HeldEventRepo(db)
    await held.hold("schedule:3", '{"n": 1}')
    await held.hold("tg_channel:-100:5-6", '{"n": 2}')
    await held.hold("schedule:3", '{"n": 3}')  # the newest firing stands for the older one
    events = await held.list()
    assert [(e.slot, e.event) for e in events] == [
        ("schedule:3", '{"n": 3}'),
        ("tg_channel:-100:5-6", '{"n": 2}'),
    ]
    assert await held.count() == 2
    assert await held.remove(events[0].id) and not await held.remove(events[0].id)


async def test_migration_turns_running_totals_into_each_turns_cost(
    db_path: Path, clock: FakeClock
) -> None:
    before = [m for m in load_migrations() if m.version < 12]
    async with await Database.open(db_path, clock=clock, migrations=before) as db:
        for key, total in [
            ("owner", 0.10),
            ("external:7", 0.02),
            ("owner", 0.25),
            ("owner", 0.05),  # a fresh session: its total starts again
            ("task:3", 0.5),
            ("trigger:ab12", 0.01),
        ]:
            role = key.split(":")[0]
            await db.execute(
                "INSERT INTO usage (session_key, role, cost_usd, created_at) VALUES (?, ?, ?, ?)",
                (key, role, total, db.now()),
            )
    async with await Database.open(db_path, clock=clock) as db:
        rows = await db.fetch_all("SELECT session_key, payer, cost_usd FROM usage ORDER BY id")
    assert [(r["session_key"], r["payer"], round(r["cost_usd"], 6)) for r in rows] == [
        ("owner", "owner", 0.10),
        ("external:7", "person:7", 0.02),
        ("owner", "owner", 0.15),
        ("owner", "owner", 0.05),
        ("task:3", "task:3", 0.5),
        ("trigger:ab12", "trigger:channel", 0.01),
    ]

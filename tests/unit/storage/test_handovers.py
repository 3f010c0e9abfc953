"""HandoverRepo and ReplyModeRepo: the owner's rules about conversations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobs.messages import OutboundMessage
from jobs.storage import STRANGERS, Database, HandoverRepo, OutboxRepo, ReplyModeRepo
from jobs.storage.handovers import Handover
from tests.unit.storage.conftest import START, FakeClock

HOUR = timedelta(hours=1)


async def test_a_handover_starts_once_lengthens_and_never_shortens(
    db: Database, clock: FakeClock
) -> None:
    repo, outbox = HandoverRepo(db), OutboxRepo(db)
    told: list[Handover] = []

    async def tell(handover: Handover) -> None:
        told.append(handover)
        await outbox.enqueue([OutboundMessage(1000, "told")])

    first, started = await repo.begin(7, now=clock(), until=START + HOUR, on_start=tell)
    assert started and first.until == START + HOUR and len(told) == 1
    clock.advance(minutes=30)
    longer, started = await repo.begin(7, now=clock(), until=clock() + HOUR, on_start=tell)
    assert not started and longer.until == START + 90 * timedelta(minutes=1)
    assert longer.started_at == START and len(told) == 1
    shorter, _ = await repo.begin(7, now=clock(), until=clock(), on_start=tell)
    assert shorter.until == longer.until  # a later message never cuts it short
    held, _ = await repo.begin(7, now=clock(), until=None, on_start=tell)
    assert held.until is None and len(told) == 1  # until the owner says so
    assert await repo.holds(7, clock() + 100 * HOUR)
    assert await outbox.pending_count() == 1


async def test_an_ended_or_expired_handover_starts_afresh(db: Database, clock: FakeClock) -> None:
    repo = HandoverRepo(db)
    await repo.begin(7, now=clock(), until=START + HOUR)
    clock.advance(hours=2)
    assert not await repo.holds(7, clock())
    assert await repo.in_force(clock()) == []
    assert not await repo.end(7, now=clock())  # nothing in force to end
    again, started = await repo.begin(7, now=clock(), until=clock() + HOUR)
    assert started and again.started_at == clock()
    assert await repo.end(7, now=clock())
    assert await repo.get(7) is None


async def test_a_notice_that_cannot_be_written_leaves_no_handover(db: Database) -> None:
    repo = HandoverRepo(db)

    async def fails(_handover: Handover) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        await repo.begin(7, now=START, until=START + HOUR, on_start=fails)
    assert await repo.get(7) is None  # told exactly once: not silently without the notice


async def test_reply_modes_per_person_override_the_strangers_rule(db: Database) -> None:
    modes = ReplyModeRepo(db)
    assert not await modes.drafts_for(7, is_contact=False)
    assert await modes.set(STRANGERS, drafts=True)
    assert not await modes.set(STRANGERS, drafts=True)  # already so
    assert await modes.drafts_for(7, is_contact=False)
    assert not await modes.drafts_for(8, is_contact=True)  # a contact is no stranger
    await modes.set(7, drafts=False)
    assert not await modes.drafts_for(7, is_contact=False)  # their own rule wins
    await modes.set(8, drafts=True)
    assert await modes.drafts_for(8, is_contact=True)
    assert await modes.clear(7) and not await modes.clear(7)
    assert await modes.drafts_for(7, is_contact=False)
    assert [(m.person_id, m.drafts) for m in await modes.all()] == [(0, True), (8, True)]

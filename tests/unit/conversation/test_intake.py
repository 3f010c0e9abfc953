"""Intake: concurrent submits become group commits, the owner's message at the head."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from jobs.conversation.intake import Intake
from jobs.messages import InboundMessage

OWNER = 1


def msg(sender: int, msg_id: int) -> InboundMessage:
    return InboundMessage(chat_id=sender, msg_id=msg_id, sender_id=sender, text=f"m{msg_id}")


class Store:
    """Records each batch; the first batch waits until released (as a slow disk would)."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.seen: set[tuple[int, int]] = set()
        self.fail_next: Exception | None = None

    async def __call__(self, messages: Sequence[InboundMessage]) -> list[object | None]:
        self.batches.append([m.msg_id for m in messages])
        await self.release.wait()
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        out: list[object | None] = []
        for m in messages:
            key = (m.chat_id, m.msg_id)
            out.append(None if key in self.seen else key)
            self.seen.add(key)
        return out


async def test_messages_arriving_during_a_write_share_the_next_one_owner_first() -> None:
    store = Store()
    intake = Intake(store_many=store, owner_id=OWNER, max_batch=3)
    first = asyncio.create_task(intake.store(msg(7, 1)))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(intake.store(msg(7, i))) for i in range(2, 6)]
    owner = asyncio.create_task(intake.store(msg(OWNER, 100)))
    await asyncio.sleep(0)
    store.release.set()
    assert await asyncio.gather(first, *rest, owner) == [True] * 6
    assert store.batches == [[1], [100, 2, 3], [4, 5]]


async def test_a_duplicate_is_false_and_an_error_reaches_every_waiter() -> None:
    store = Store()
    store.release.set()
    intake = Intake(store_many=store, owner_id=OWNER)
    assert await intake.store(msg(7, 1)) is True
    assert await intake.store(msg(7, 1)) is False
    store.fail_next = RuntimeError("database is locked")
    store.release.clear()
    waiting = [asyncio.create_task(intake.store(msg(7, i))) for i in (2, 3)]
    await asyncio.sleep(0)
    store.release.set()
    for task in waiting:
        with pytest.raises(RuntimeError, match="locked"):
            await task
    assert await intake.store(msg(7, 2)) is True  # the next try goes through


async def test_aclose_cancels_those_still_waiting() -> None:
    store = Store()
    intake = Intake(store_many=store, owner_id=OWNER)
    waiting = asyncio.create_task(intake.store(msg(7, 1)))
    await asyncio.sleep(0)
    await intake.aclose()
    with pytest.raises(asyncio.CancelledError):
        await waiting

"""Intake: inbound messages stored by group commit, the owner's first.

Under a flood every update handler waits for its own insert; one transaction per message
would queue thousands of commits ahead of the owner's. Messages that arrive while a batch is
being written join the next batch, the owner's at its head, so the owner waits for at most
one batch and each message is still committed before its handler returns.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from jobs.messages import InboundMessage

StoreMany = Callable[[Sequence[InboundMessage]], Awaitable[Sequence[object | None]]]
"""Stores messages in one transaction; for each, a stored row or None (a duplicate)."""

MAX_BATCH = 256


@dataclass(frozen=True, slots=True)
class _Waiting:
    message: InboundMessage
    stored: asyncio.Future[bool]


class Intake:
    """Batches concurrent `store` calls into transactions of up to `max_batch` messages."""

    def __init__(self, *, store_many: StoreMany, owner_id: int, max_batch: int = MAX_BATCH) -> None:
        self._store_many = store_many
        self._owner_id = owner_id
        self._max_batch = max_batch
        self._owner: list[_Waiting] = []
        self._others: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(self, message: InboundMessage, /) -> bool:
        """Once the message is committed: True, or False when it was stored before."""
        waiting = _Waiting(message, asyncio.get_running_loop().create_future())
        (self._owner if message.sender_id == self._owner_id else self._others).append(waiting)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="inbox-intake")
        # Shielded: a handler cancelled meanwhile must not cancel the batch the others wait on.
        return await asyncio.shield(waiting.stored)

    async def aclose(self) -> None:
        """Stop writing (Jobs is stopping); whoever still waits for a write is cancelled."""
        writer = self._writer
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        self._cancel_waiting([])  # a writer cancelled before it ran cleaned nothing up

    async def _write(self) -> None:
        batch: list[_Waiting] = []
        try:
            while self._owner or self._others:
                batch = self._take()
                try:
                    rows = await self._store_many([w.message for w in batch])
                except Exception as exc:  # noqa: BLE001 - each waiting handler gets it (retries)
                    for w in batch:
                        w.stored.set_exception(exc)
                else:
                    for w, row in zip(batch, rows, strict=True):
                        w.stored.set_result(row is not None)
        finally:
            self._writer = None
            self._cancel_waiting(batch)

    def _cancel_waiting(self, batch: list[_Waiting]) -> None:
        """After a cancel (shutdown): nobody is left waiting on a write that never comes."""
        for w in batch + self._owner + self._others:
            w.stored.cancel()  # a no-op for those already answered
        self._owner.clear()
        self._others.clear()

    def _take(self) -> list[_Waiting]:
        batch = self._owner[: self._max_batch]
        del self._owner[: len(batch)]
        room = self._max_batch - len(batch)
        batch += self._others[:room]
        del self._others[:room]
        return batch

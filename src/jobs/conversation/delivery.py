"""OutboxSender: drains the outbox into a Channel, exactly once per row, retrying flood waits."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from jobs.clock import Clock
from jobs.conversation.floods import FloodNotices
from jobs.errors import JobsError, RetryLater, StorageBusy
from jobs.i18n.speakers import OwnerWords
from jobs.messages import Channel
from jobs.storage.busy import BusyWait
from jobs.storage.outbox import OutboxItem, OutboxRepo
from jobs.storage.people import PeopleRepo

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
_IDLE_WAIT = 30.0  # seconds between looks when nothing wakes us (rows due later, say)


class OutboxSender:
    """The only caller of Channel.send. Rows are claimed, sent, and marked sent or failed."""

    def __init__(
        self,
        *,
        outbox: OutboxRepo,
        channel: Channel,
        clock: Clock,
        only_chat: int | None = None,
        owner_chat: int | None = None,
        people: PeopleRepo | None = None,
        words: OwnerWords | None = None,
    ) -> None:
        """`owner_chat`: told once when Telegram holds back another chat for long (FloodNotices);
        `people`: their names for that notice, `words` its language. Without `owner_chat`
        nobody is told."""
        self._outbox = outbox
        self._only_chat = only_chat  # `jobs chat` must leave Telegram's rows alone
        self._channel = channel
        self._clock = clock
        self._floods = FloodNotices(
            outbox=outbox, owner_chat=owner_chat, people=people, words=words
        )

    async def run(self) -> None:
        """Send forever; cancel to stop (a row being sent stays `sending` and is resent later).

        While another program holds the database's lock, sending pauses and starts again when
        it is free (rows it left `sending` are requeued: the same random_id makes it safe).
        """
        with self._outbox.serving():
            await self._serve()

    async def _serve(self) -> None:
        busy = BusyWait(what="Sending the outbox")  # i18n: skip (the log's)
        requeue = True
        while True:
            try:
                if requeue:
                    await self._outbox.requeue_interrupted()
                    requeue = False
                    busy.over()
                # Cleared before the drain: a row written from now on wakes the sleep below.
                self._outbox.written.clear()
                await self.drain()
                await self._sleep_until_due()
            except StorageBusy as exc:
                requeue = True  # a row sent but not yet marked sent, say
                await busy.pause(exc)

    async def drain(self) -> int:
        """Send every row that is due now; returns how many rows were handled."""
        handled = 0
        while (item := await self._next()) is not None:
            await self._deliver(item)
            handled += 1
        return handled

    async def _next(self) -> OutboxItem | None:
        handed = self._outbox.take_handed(self._only_chat)  # claimed for us while we waited
        if handed is not None:
            return handed
        return await self._outbox.claim_next(self._clock(), chat_id=self._only_chat)

    async def _deliver(self, item: OutboxItem) -> None:
        try:
            ref = await self._channel.send(item.to_message())
        except RetryLater as exc:
            wait = timedelta(seconds=exc.seconds)
            logger.warning("Outbox row %s waits %.0f s: %s", item.id, exc.seconds, exc)
            await self._outbox.retry_later(item.id, self._clock() + wait, str(exc))
            await self._floods.held(item.chat_id, wait)
        except JobsError as exc:
            logger.warning("Outbox row %s cannot be delivered: %s", item.id, exc)
            await self._outbox.mark_failed(item.id, str(exc))
            self._floods.over(item.chat_id)
        except Exception as exc:  # noqa: BLE001 - a network fault must not kill delivery; retried
            await self._retry_or_fail(item, exc)
        else:
            # Shielded: stopping right after a send still records it (the database closes
            # after this write), rather than leaving the row `sending` to be sent again.
            await asyncio.shield(
                self._outbox.mark_sent(item.id, ref.msg_id, all_msg_ids=ref.msg_ids)
            )
            self._floods.over(item.chat_id)

    async def _retry_or_fail(self, item: OutboxItem, exc: Exception) -> None:
        if item.attempts >= MAX_ATTEMPTS:
            logger.error(
                "Outbox row %s failed %d times, giving up: %r", item.id, item.attempts, exc
            )
            await self._outbox.mark_failed(item.id, repr(exc))
            return
        backoff = min(300.0, 2.0**item.attempts)
        logger.warning("Outbox row %s: %r; retrying in %.0f s", item.id, exc, backoff)
        await self._outbox.retry_later(
            item.id, self._clock() + timedelta(seconds=backoff), repr(exc)
        )

    async def _sleep_until_due(self) -> None:
        due = await self._outbox.next_due_at(chat_id=self._only_chat)
        wait = _IDLE_WAIT
        if due is not None:
            wait = min(wait, max(0.0, (due - self._clock()).total_seconds()))
        if wait <= 0:
            return
        try:
            with self._outbox.waiting(self._only_chat):
                async with asyncio.timeout(wait):
                    await self._outbox.written.wait()  # set by every enqueue: rows to send now
        except TimeoutError:
            pass

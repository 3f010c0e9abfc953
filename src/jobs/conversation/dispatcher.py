"""Dispatcher: inbox rows in, one ChatWorker per chat with pending rows (worker.py owns each
chat's queue); the one timer that wakes chats whose rows waited for the model.

A message is committed to the inbox before anything else happens (`submit`). A chat's worker
exits as soon as the chat is idle, so an idle chat costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Final

from jobs.clock import Clock
from jobs.config import ExternalUsers
from jobs.conversation.intake import Intake
from jobs.conversation.worker import ChatServices, ChatWorker
from jobs.errors import StorageError
from jobs.messages import InboundMessage

logger = logging.getLogger(__name__)

LOOK_AGAIN: Final = 5.0  # seconds before the timer reads the inbox again after a storage error


class Dispatcher:
    """Owns the chats' workers: made when a chat has rows, gone when it is idle."""

    def __init__(self, *, services: ChatServices, clock: Clock) -> None:
        """`services`: what the workers share."""
        self._services = services
        self._inbox = services.inbox
        self._clock = clock
        self._policy: ExternalUsers | None = None  # set by start(): known once connected
        self._chats: dict[int, ChatWorker] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._deferred = asyncio.Event()  # a row was deferred: the timer looks again
        self._timer: asyncio.Task[None] | None = None
        self._intake = Intake(store_many=self._inbox.add_many, owner_id=services.owner_id)

    async def submit(self, message: InboundMessage) -> bool:
        """Store a message durably (a group commit with those arriving alongside, the owner's
        first) and wake its chat; False for a duplicate update.

        Before `start` the message is only stored: Telegram may replay missed messages
        while connecting, before Jobs knows which account it runs in.
        """
        if not await self._intake.store(message):
            return False
        if self._policy is not None:
            self._kick(message.chat_id)
        return True

    async def start(self, *, policy: ExternalUsers) -> int:
        """Begin work: rows a crash left `processing` go back to pending, every chat resumes;
        rows waiting for the model keep waiting (their chats were told)."""
        self._policy = policy
        requeued = await self._inbox.requeue_interrupted()
        await self._services.outages.restore()
        now = self._clock()
        for chat_id in await self._inbox.chats_with_pending(due_by=now):
            self._kick(chat_id)
        self._timer = asyncio.create_task(self._wake_deferred(now), name="inbox-deferred")
        return requeued

    @property
    def active_chats(self) -> int:
        """Chats with a worker right now (an idle chat has none)."""
        return len(self._chats)

    async def wait_idle(self) -> None:
        """Until no chat has a worker (tests, benchmarks, graceful stop)."""
        await self._idle.wait()

    async def aclose(self) -> None:
        await self._intake.aclose()
        tasks = list(self._tasks.values())
        if self._timer is not None:
            tasks.append(self._timer)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- ChatHost ------------------------------------------------------------------------------

    def policy(self) -> ExternalUsers:
        assert self._policy is not None  # workers run only after start()
        return self._policy

    def deferred(self) -> None:
        self._deferred.set()

    async def release_held(self) -> int:
        """/resume: the messages /pause held are due again, and their chats resume."""
        released = await self._inbox.release_held()
        await self.model_back()
        return released

    async def model_back(self) -> None:
        """The model is back: every chat with rows due resumes."""
        for chat_id in await self._inbox.chats_with_pending():
            self._kick(chat_id)

    async def _wake_deferred(self, horizon: datetime) -> None:
        """The one timer: wakes the chats whose deferred rows fall due. It looks again after
        every deferral too, so a row never waits for a later wake-up than its own."""
        while True:
            self._deferred.clear()
            try:
                due = await self._inbox.next_due_at(after=horizon)  # rows due by then: woken
                wait = None if due is None else max(0.0, (due - self._clock()).total_seconds())
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._deferred.wait()
                horizon = self._clock()
                for chat_id in await self._inbox.chats_with_pending(due_by=horizon):
                    self._kick(chat_id)
            except StorageError as exc:  # busy, say: the rows stay; look again soon
                logger.warning("Could not read the inbox's deferred messages: %s", exc)
                await asyncio.sleep(LOOK_AGAIN)

    def _kick(self, chat_id: int) -> None:
        worker = self._chats.get(chat_id)
        if worker is None:
            worker = self._chats[chat_id] = ChatWorker(chat_id, self._services, self)
            self._idle.clear()
            self._tasks[chat_id] = asyncio.create_task(self._work(worker), name=f"chat-{chat_id}")
        worker.more.set()

    async def _work(self, worker: ChatWorker) -> None:
        try:
            await worker.run()
        finally:
            self._chats.pop(worker.chat_id, None)
            self._tasks.pop(worker.chat_id, None)
            if not self._chats:
                self._idle.set()

"""Dispatcher: inbox rows → one worker per chat, in order; commands, routing, then a turn.

A message is committed to the inbox before anything else happens (`submit`). Each chat with
pending rows has one worker; it exits as soon as the chat is idle, so an idle chat costs nothing.
Messages that arrive while the chat's turn runs are injected into that turn (see `turns.py`).
While the model is down, turns wait in the inbox (`outage.py`); one timer wakes their chats.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from jobs.clock import Clock
from jobs.config import ExternalUsers
from jobs.conversation.commands import Command, CommandTable
from jobs.conversation.intake import Intake
from jobs.conversation.limits import RateLimiter
from jobs.conversation.outage import Outages
from jobs.conversation.router import Route, RouteKind, Sender, route
from jobs.conversation.turns import TurnRunner, command_context
from jobs.conversation.untrusted import one_line, preview
from jobs.errors import StorageError
from jobs.messages import Body, InboundMessage, OutboundMessage
from jobs.richtext import RichText
from jobs.storage.busy import retry_busy
from jobs.storage.inbox import InboxItem, InboxRepo, InboxState
from jobs.storage.outbox import OutboxRepo
from jobs.storage.people import PeopleRepo
from jobs.storage.tasks import TaskRepo

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
_LOOK_AGAIN = 5.0  # seconds before the timer reads the inbox again after a storage error


@dataclass(slots=True)
class _ChatState:
    task: asyncio.Task[None] | None = None
    more: asyncio.Event = field(default_factory=asyncio.Event)
    held: deque[InboxItem] = field(default_factory=deque)
    """Rows claimed during a turn that it could not take: answered next, before newer ones."""


class Dispatcher:
    """Owns the per-chat workers and the decision of what each inbox row becomes."""

    def __init__(  # noqa: PLR0913 - the last one is an optional feature hook (delegated tasks)
        self,
        *,
        inbox: InboxRepo,
        outbox: OutboxRepo,
        people: PeopleRepo,
        commands: CommandTable,
        turns: TurnRunner,
        outages: Outages,
        limiter: RateLimiter,
        owner_id: int,
        clock: Clock,
        max_concurrent_turns: int = 8,
        tasks: TaskRepo | None = None,
    ) -> None:
        """`tasks`: with it, a person a conversation task talks with is routed to that task."""
        self._inbox = inbox
        self._outbox = outbox
        self._people = people
        self._commands = commands
        self._turns = turns
        self._outages = outages
        self._limiter = limiter
        self._owner_id = owner_id
        self._clock = clock
        self._tasks = tasks
        self._policy: ExternalUsers | None = None  # set by start(): known once connected
        self._slots = asyncio.Semaphore(max_concurrent_turns)
        self._chats: dict[int, _ChatState] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._deferred = asyncio.Event()  # a row was deferred: the timer looks again
        self._timer: asyncio.Task[None] | None = None
        self._intake = Intake(store_many=inbox.add_many, owner_id=owner_id)

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
        await self._outages.restore()
        now = self._clock()
        for chat_id in await self._inbox.chats_with_pending(due_by=now):
            self._kick(chat_id)
        self._timer = asyncio.create_task(self._wake_deferred(now), name="inbox-deferred")
        return requeued

    async def wait_idle(self) -> None:
        """Until no chat has a worker (tests, benchmarks, graceful stop)."""
        await self._idle.wait()

    async def aclose(self) -> None:
        await self._intake.aclose()
        tasks = [s.task for s in self._chats.values() if s.task is not None]
        if self._timer is not None:
            tasks.append(self._timer)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

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
                await asyncio.sleep(_LOOK_AGAIN)

    def _kick(self, chat_id: int) -> None:
        state = self._chats.get(chat_id)
        if state is None:
            state = self._chats[chat_id] = _ChatState()
            self._idle.clear()
            state.task = asyncio.create_task(self._work(chat_id, state), name=f"chat-{chat_id}")
        state.more.set()

    async def _work(self, chat_id: int, state: _ChatState) -> None:
        try:
            while True:
                state.more.clear()
                item = state.held.popleft() if state.held else await self._claim(chat_id)
                if item is None:
                    if state.more.is_set():
                        continue
                    return  # no await between the check and the removal below
                await self._handle_safely(item, state)
        finally:
            self._chats.pop(chat_id, None)
            if not self._chats:
                self._idle.set()

    async def _handle_safely(self, item: InboxItem, state: _ChatState) -> None:
        try:
            await self._handle(item, state)
        except asyncio.CancelledError:
            raise  # stays `processing`; recover() picks it up at the next start
        except Exception:
            logger.exception("Message %s in chat %s failed", item.msg_id, item.chat_id)
            sorry = (
                "Sorry, something went wrong on my side while handling that message. "
                "Please try again."
            )
            await retry_busy(  # never left `processing` because the database was locked
                lambda: self._reply(item, sorry, InboxState.FAILED),
                what=f"Finishing message {item.msg_id} in chat {item.chat_id}",
            )

    async def _claim(self, chat_id: int) -> InboxItem | None:
        return await retry_busy(
            lambda: self._inbox.claim_next(chat_id),
            what=f"Taking the next message of chat {chat_id}",
        )

    async def _handle(self, item: InboxItem, state: _ChatState) -> None:
        if item.attempts > MAX_ATTEMPTS:  # it was taken this often and never finished: a crash loop
            await self._reply(
                item,
                "Sorry, I tried to handle this message several times and "
                "failed each time, so I'm giving up on it.",
                InboxState.FAILED,
            )
            return
        if item.sender_id != self._owner_id and self._limiter.muted(item.sender_id):
            # A flood: what the person queued meanwhile goes in the same write, so the
            # database stays free for the owner's messages.
            await self._inbox.finish(item.id, InboxState.IGNORED, "rate limited")
            await self._inbox.ignore_waiting(item.chat_id, "rate limited")
            return
        person = await self._people.upsert_seen(
            item.sender_id,
            username=item.sender_username,
            display_name=item.sender_name,
            is_contact=item.sender_is_contact,
        )
        assert self._policy is not None  # workers run only after start()
        decision = route(
            Sender(
                person.user_id,
                str(person.access),
                person.is_contact,
                task_id=await self._conversation_task(person.user_id),
            ),
            owner_id=self._owner_id,
            policy=self._policy,
        )
        if decision.kind is RouteKind.IGNORE:
            await self._inbox.finish(item.id, InboxState.IGNORED, decision.reason)
        elif decision.kind is RouteKind.ANNOUNCE:
            await self._announce(item)
        elif (command := await self._turns.command_of(item)) is not None:
            if await self._within_limits(item):
                await self._command(item, decision, command)
        elif not await self._outages.admit(item, owner=decision.kind is RouteKind.OWNER):
            self._deferred.set()  # the model is down: it waits, and uses no rate limit meanwhile
        elif await self._within_limits(item):
            await self._turn(item, decision, state)

    async def _turn(self, item: InboxItem, decision: Route, state: _ChatState) -> None:
        """A turn. If it meets an outage its rows wait (follow-ups too); if it finds the
        model back after one, every chat with rows due resumes."""
        owner = decision.kind is RouteKind.OWNER
        # The owner's turns never queue behind other people's: the slots bound theirs.
        slot = self._slots if not owner else contextlib.nullcontext()
        async with slot:
            outcome = await self._turns.run(
                item, decision, more=state.more, held=state.held, admit=self._within_limits
            )
        if outcome.outage is not None:
            released = await self._outages.hold(item, outcome, owner=owner)
            self._deferred.set()
        else:
            released = outcome.reached_model and await self._outages.answered()
        if released:  # the waiting rows are due: every chat with one resumes
            for chat_id in await self._inbox.chats_with_pending():
                self._kick(chat_id)

    async def _conversation_task(self, user_id: int) -> int | None:
        if self._tasks is None or user_id == self._owner_id:
            return None
        task = await self._tasks.conversation_with(user_id)
        return None if task is None else task.id

    async def _within_limits(self, item: InboxItem) -> bool:
        if item.sender_id == self._owner_id:
            return True
        verdict = self._limiter.check(item.sender_id)
        if verdict.allowed:
            return True
        if verdict.warn:
            minutes = max(1, round(verdict.retry_after / 60))
            why = (
                "I'm getting more messages than I can answer right now"
                if verdict.busy
                else "You're sending messages faster than I can answer"
            )
            await self._reply(
                item,
                f"{why}. Please wait about {minutes} min and send it again.",
                InboxState.IGNORED,
            )
        else:
            await self._inbox.finish(item.id, InboxState.IGNORED, "rate limited")
        return False

    async def _command(self, item: InboxItem, decision: Route, command: Command) -> None:
        text = await self._commands.run(command_context(item, decision), command)
        await self._reply(item, text, InboxState.ANSWERED)

    async def _announce(self, item: InboxItem) -> None:
        if not await self._people.mark_announced(item.sender_id):
            await self._inbox.finish(item.id, InboxState.IGNORED, "waiting for the owner")
            return
        # Names and text are the stranger's: plain and quoted, never formatting or links.
        username = one_line(item.sender_username)
        notice = RichText().plain(one_line(item.sender_name) or "Someone")
        notice.plain(f" (@{username})" if username else "")
        notice.text(f", id {item.sender_id}, wrote to you:\n\n")
        notice.quote(preview(item.text, limit=300)).text(
            f"\n\nShould I answer them? /allow_{item.sender_id} lets me talk with them, "
            f"/block_{item.sender_id} ignores them for good."
        )
        await self._outbox.enqueue(
            [OutboundMessage.formatted(self._owner_id, notice.build())],
            inbox_id=item.id,
            finish_inbox=InboxState.IGNORED,
        )

    async def _reply(self, item: InboxItem, body: Body, state: InboxState) -> None:
        message = OutboundMessage.formatted(item.chat_id, body, reply_to=item.msg_id)
        await self._outbox.enqueue([message], inbox_id=item.id, finish_inbox=state)

"""Model outages: while the AI service is down, messages wait in the inbox and are answered later.

A turn that ends because the model cannot be reached (`judge`: server errors, rate limits,
login or billing trouble, a Claude Code that does not start) is not failed: its rows go back
to pending with a `not_before`, and each chat is told once per outage. While the gate is down
new turns wait at once, without starting the model; when the retry time comes one turn probes,
and when a turn reaches the model again every waiting message is due. `ModelGate` is the pure
state (time from an injected clock); `Outages` adds the inbox and outbox writes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal, cast

from jobs.clock import Clock
from jobs.errors import RoleViolation, SessionError, TurnTimeout
from jobs.messages import OutboundMessage
from jobs.sessions.replies import Reply
from jobs.storage.inbox import InboxItem, InboxRepo, InboxState
from jobs.storage.outbox import OutboxRepo

logger = logging.getLogger(__name__)

OutageKind = Literal[
    "server_error", "rate_limit", "authentication_failed", "billing_error", "cli_failed"
]
"""Why the model cannot be reached: a Reply's error kind, or Claude Code failing (SessionError)."""
_REPLY_OUTAGES: Final = frozenset(
    {"server_error", "rate_limit", "authentication_failed", "billing_error"}
)
_API_ANSWERED: Final = frozenset({"invalid_request", "max_turns"})  # failed, but the model answered
MAX_WAIT_SECONDS: Final = 600.0
GIVE_UP_SECONDS: Final = 24 * 3600.0

_SAVED = "Your message is saved and I'll answer as soon as it's back."
NOTICE: Final = f"I can't reach the AI service right now. {_SAVED}"
"""What a chat is told once per outage; strangers never hear more than this."""
_OWNER_NOTICES: Final[dict[str, str]] = {
    "rate_limit": "I'm over the AI service's usage limit right now. Your message is saved and "
    "I'll answer as soon as the limit lets me.",
    "authentication_failed": "I can't reach the AI service: my Claude login is not accepted. "
    "Run `jobs login` where Jobs runs (or set ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN). "
    "Your message is saved and I'll answer once that is fixed.",
    "billing_error": "I can't reach the AI service: the Claude account has a billing problem. "
    "Please check its billing or plan. Your message is saved and I'll answer once that is "
    "fixed.",
    "cli_failed": "I can't start Claude Code right now (`jobs doctor` shows what is missing). "
    f"{_SAVED}",
}
GIVE_UP: Final = (
    "Sorry, I couldn't reach the AI service for a whole day, so I've given up on this "
    "message. Please send it again if it still matters."
)


def notice(kind: OutageKind, *, owner: bool) -> str:
    """The one message a chat gets when its first message has to wait for the model."""
    return _OWNER_NOTICES.get(kind, NOTICE) if owner else NOTICE


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a finished turn means: a reply and the row's final state, or an outage."""

    text: str
    state: InboxState
    outage: OutageKind | None = None
    """Set when the model could not be reached: the rows wait (`state` stays pending)."""
    reached_model: bool = False
    """The model answered (whatever it said): an outage, if any, is over."""
    followed: tuple[InboxItem, ...] = field(default=())
    """Follow-ups injected into the turn: they share its reply, or its wait."""


def judge(turn: asyncio.Task[Reply], followed: Sequence[InboxItem] = ()) -> Outcome:
    """The outcome of a finished turn task."""
    rest = tuple(followed)
    try:
        reply = turn.result()
    except TurnTimeout as exc:
        return Outcome(
            f"That took longer than {exc.seconds:.0f} s, so I stopped it. Please try "
            "again, perhaps asking for a smaller piece at once.",
            InboxState.FAILED,
            followed=rest,
        )
    except RoleViolation:
        logger.exception("Session refused: role violation")
        text = (
            "Sorry, I can't answer right now: my setup offered this conversation tools "
            "it must not have, so I refused to start it."
        )
        return Outcome(text, InboxState.FAILED, followed=rest)
    except SessionError as exc:
        logger.warning("Claude Code cannot take the turn: %s", exc)
        return Outcome("", InboxState.PENDING, outage="cli_failed", followed=rest)
    if reply.error_kind in _REPLY_OUTAGES:
        kind = cast("OutageKind", reply.error_kind)
        return Outcome("", InboxState.PENDING, outage=kind, followed=rest)
    # A reply made without the model (a file too large, say) has no session: it says nothing.
    reached = reply.session_id is not None and not reply.interrupted
    reached = reached and (not reply.is_error or reply.error_kind in _API_ANSWERED)
    if reply.is_error:  # the reply's text ends with an apology fitting the error
        return Outcome(reply.text, InboxState.FAILED, reached_model=reached, followed=rest)
    if reply.interrupted:
        text = (reply.text + "\n\n(stopped)") if reply.text else "Stopped."
        return Outcome(text, InboxState.ANSWERED, followed=rest)
    return Outcome(reply.text, InboxState.ANSWERED, reached_model=reached, followed=rest)


@dataclass(frozen=True, slots=True)
class Hold:
    """A turn that waits for the model: until when, why, and whether its chat is told now."""

    until: datetime
    kind: OutageKind
    notify: bool


class ModelGate:
    """Whether turns may reach the model now: open, or down until a retry time (backoff)."""

    def __init__(
        self,
        *,
        first_wait: float,
        clock: Clock,
        max_wait: float = MAX_WAIT_SECONDS,
        give_up_after: float = GIVE_UP_SECONDS,
    ) -> None:
        if first_wait <= 0:
            raise ValueError(f"first_wait must be positive, not {first_wait}")
        self._first_wait = first_wait
        self._max_wait = max(max_wait, first_wait)
        self._give_up = timedelta(seconds=give_up_after)
        self._clock = clock
        self._failures = 0  # outage outcomes in a row; 0 while the gate is open
        self._probing = False  # a turn was let through to see whether the model is back
        self._retry_at = clock()
        self._kind: OutageKind = "server_error"
        self._told: set[int] = set()  # chats told about this outage

    @property
    def is_down(self) -> bool:
        return self._failures > 0

    def wait(self, failures: int, /) -> float:
        """Seconds to wait after `failures` outage outcomes in a row: doubling, capped."""
        return min(self._first_wait * 2.0 ** max(0, failures - 1), self._max_wait)

    def admit(self, chat_id: int, /) -> Hold | None:
        """None: the turn may run (the gate is open, or this turn is the probe); else it waits."""
        if not self.is_down:
            return None
        now = self._clock()
        if now < self._retry_at:
            return self._hold(chat_id)
        self._probing = True
        # While the probe runs, others wait as long as its failure would make them wait.
        self._retry_at = now + timedelta(seconds=self.wait(self._failures + 1))
        return None

    def failed(self, chat_id: int, kind: OutageKind, /) -> Hold:
        """A turn met an outage: the gate closes, or stays closed, and the turn waits."""
        self._kind = kind
        # A turn that started before the gate closed and fails the same way changes nothing.
        if not self.is_down or self._probing:
            self._failures += 1
            self._probing = False
            self._retry_at = self._clock() + timedelta(seconds=self.wait(self._failures))
        return self._hold(chat_id)

    def answered(self) -> bool:
        """A turn reached the model: the gate opens. True when it was down."""
        was_down = self.is_down
        self._failures = 0
        self._probing = False
        self._told.clear()
        return was_down

    def restore(self, chats: Iterable[int], retry_at: datetime | None) -> None:
        """After a restart: `chats` have messages deferred before it (they were told), due
        from `retry_at`; the gate stays down until a turn reaches the model."""
        waiting = set(chats)
        if not waiting:
            return
        self._told |= waiting
        self._failures = max(self._failures, 1)
        self._retry_at = retry_at or self._clock()

    def expired(self, deferred_at: datetime | None, /) -> bool:
        """True when a message has waited for the model past the give-up age."""
        return deferred_at is not None and self._clock() - deferred_at >= self._give_up

    def _hold(self, chat_id: int) -> Hold:
        notify = chat_id not in self._told
        self._told.add(chat_id)
        return Hold(self._retry_at, self._kind, notify)


class Outages:
    """The gate's writes: rows deferred (their chat told once), given up, due again."""

    def __init__(
        self,
        *,
        first_wait: float,
        clock: Clock,
        inbox: InboxRepo,
        outbox: OutboxRepo,
        on_outbox: Callable[[], None],
    ) -> None:
        self._gate = ModelGate(first_wait=first_wait, clock=clock)
        self._inbox = inbox
        self._outbox = outbox
        self._on_outbox = on_outbox
        # The gate's decision and its write happen together: a row deferred while the gate
        # opens would otherwise wait for a retry that never comes.
        self._lock = asyncio.Lock()

    async def restore(self) -> None:
        """At start: messages deferred before a restart keep waiting, their chats told."""
        chats = await self._inbox.deferred_chats()
        self._gate.restore(chats, await self._inbox.next_due_at())

    async def admit(self, item: InboxItem, /, *, owner: bool) -> bool:
        """True: run the turn. False: the model is down and the row waits (or is given up)."""
        if not self._gate.is_down:
            return True
        async with self._lock:
            hold = self._gate.admit(item.chat_id)
            if hold is None:
                logger.info("Trying the model again with message %s", item.msg_id)
                return True
            await self._wait([item], hold, owner=owner)
            return False

    async def hold(self, item: InboxItem, outcome: Outcome, /, *, owner: bool) -> None:
        """`item`'s turn (and its follow-ups) met an outage: they wait for the model."""
        assert outcome.outage is not None
        async with self._lock:
            hold = self._gate.failed(item.chat_id, outcome.outage)
            logger.warning(
                "The model is unavailable (%s); trying again at %s", hold.kind, hold.until
            )
            await self._wait([item, *outcome.followed], hold, owner=owner)

    async def answered(self) -> bool:
        """A turn reached the model. True when that ended an outage: every waiting row is due."""
        if not self._gate.is_down:
            return False
        async with self._lock:
            if not self._gate.answered():
                return False
            released = await self._inbox.release_deferred()
        logger.info("The model answers again; %d waiting messages are due", released)
        return True

    async def _wait(self, items: Sequence[InboxItem], hold: Hold, *, owner: bool) -> None:
        waiting = [item for item in items if not self._gate.expired(item.deferred_at)]
        for item in items:
            if item not in waiting:
                await self._give_up(item)
        if not waiting:
            return
        first = waiting[0]
        text = notice(hold.kind, owner=owner)
        told = [OutboundMessage(chat_id=first.chat_id, text=text, reply_to=first.msg_id)]
        await self._inbox.defer(
            [item.id for item in waiting],
            hold.until,
            along=(lambda: self._outbox.enqueue(told)) if hold.notify else None,
        )
        if hold.notify:
            self._on_outbox()

    async def _give_up(self, item: InboxItem) -> None:
        logger.warning(
            "Message %s in chat %s waited a day for the model", item.msg_id, item.chat_id
        )
        reply = OutboundMessage(chat_id=item.chat_id, text=GIVE_UP, reply_to=item.msg_id)
        await self._outbox.enqueue([reply], inbox_id=item.id, finish_inbox=InboxState.FAILED)
        self._on_outbox()

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from jobs.clock import Clock
from jobs.conversation.outcome import OutageKind, Outcome
from jobs.i18n.speakers import WordsFor, english_for
from jobs.i18n.translator import Translator, english
from jobs.messages import OutboundMessage
from jobs.storage.inbox import InboxItem, InboxRepo, InboxState
from jobs.storage.outbox import OutboxRepo

logger = logging.getLogger(__name__)

MAX_WAIT_SECONDS: Final = 600.0
CRASHES_PER_MESSAGE: Final = 3
"""Claude Code stopping this often on one message gives that message up, not everyone's."""
_CRASHES_KEPT: Final = 256
GIVE_UP_SECONDS: Final = 24 * 3600.0


def notice(kind: OutageKind, t: Translator, *, owner: bool) -> str:
    """The one message a chat gets when its first message has to wait for the model;
    strangers never hear more than that the service cannot be reached."""
    saved = t.gettext("Your message is saved and I'll answer as soon as it's back.")
    if not owner or kind == "server_error":
        return t.gettext("I can't reach the AI service right now.") + " " + saved
    if kind == "rate_limit":
        return t.gettext(
            "I'm over the AI service's usage limit right now. Your message is saved and I'll "
            "answer as soon as the limit lets me."
        )
    if kind == "authentication_failed":
        return t.gettext(
            "I can't reach the AI service: my Claude login is not accepted. Run `jobs login` "
            "where Jobs runs (or set ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN). Your "
            "message is saved and I'll answer once that is fixed."
        )
    if kind == "billing_error":
        return t.gettext(
            "I can't reach the AI service: the Claude account has a billing problem. Please "
            "check its billing or plan. Your message is saved and I'll answer once that is fixed."
        )
    if kind == "cli_failed":
        start = t.gettext(
            "I can't start Claude Code right now (`jobs doctor` shows what is missing)."
        )
        return start + " " + saved
    return t.gettext("Claude Code stopped unexpectedly while working on this.") + " " + saved


def _why(kind: OutageKind, t: Translator) -> str:
    reasons = {
        "server_error": t.gettext("overloaded or down"),
        "rate_limit": t.gettext("over the usage limit"),
        "authentication_failed": t.gettext("the Claude login is not accepted: run `jobs login`"),
        "billing_error": t.gettext("a billing problem on the Claude account"),
        "cli_failed": t.gettext("Claude Code does not start: see `jobs doctor`"),
        "cli_crashed": t.gettext("Claude Code stopped unexpectedly"),
    }
    return reasons.get(kind, kind)


def crashed(t: Translator) -> str:
    return t.gettext(
        "Sorry, Claude Code stopped every time it worked on this message, so I've given up on "
        "it. Please try again with a smaller or simpler request."
    )


def given_up(t: Translator) -> str:
    return t.gettext(
        "Sorry, I couldn't reach the AI service for a whole day, so I've given up on this "
        "message. Please send it again if it still matters."
    )


NOTICE: Final = notice("server_error", english(), owner=False)
"""What a chat is told once per outage, in English (strangers never hear more than this)."""
CRASHED: Final = crashed(english())
GIVE_UP: Final = given_up(english())


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

    @property
    def retry_at(self) -> datetime:
        """When a turn may try the model again (meaningful while down)."""
        return self._retry_at

    @property
    def kind(self) -> OutageKind:
        """Why it is down (the latest outage outcome)."""
        return self._kind

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
        words_for: WordsFor | None = None,
    ) -> None:
        """`words_for`: each person's language, for what their chat is told."""
        self._words_for = words_for or english_for
        self._gate = ModelGate(first_wait=first_wait, clock=clock)
        self._clock = clock
        self._inbox = inbox
        self._outbox = outbox
        # The gate's decision and its write happen together: a row deferred while the gate
        # opens would otherwise wait for a retry that never comes.
        self._lock = asyncio.Lock()
        self._crashes: dict[int, int] = {}  # inbox row id → Claude Code stopped on it, in a row

    def is_down(self) -> bool:
        """The model was unreachable at the last try (triggers that can wait skip meanwhile)."""
        return self._gate.is_down

    def describe(self, t: Translator | None = None) -> str | None:
        """A line for /status while the model is unreachable (in `t`'s words); None while it
        answers."""
        if not self._gate.is_down:
            return None
        t = t or english()
        wait = max(0, round((self._gate.retry_at - self._clock()).total_seconds()))
        when = (
            t.gettext("in {n} s", n=wait)
            if wait < 120
            else t.gettext("in {n} min", n=round(wait / 60))
        )
        return t.gettext(
            "AI service: unreachable ({why}); messages wait, next try {when}",
            why=_why(self._gate.kind, t),
            when=when,
        )

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

    async def hold(self, item: InboxItem, outcome: Outcome, /, *, owner: bool) -> bool:
        """`item`'s turn (and its follow-ups) met an outage: they wait for the model. True when
        instead `item` was given up (Claude Code stopped on it too often) and so every waiting
        row is due again: the trouble may have been this message alone."""
        assert outcome.outage is not None
        items = [item, *outcome.followed]
        async with self._lock:
            if self._crashed_too_often(item, outcome.outage):
                for each in items:
                    await self._give_up(each, crashed(await self._words_for(each.sender_id)))
                if not self._gate.answered():
                    return False
                await self._inbox.release_deferred()
                return True
            hold = self._gate.failed(item.chat_id, outcome.outage)
            logger.warning(
                "The model is unavailable (%s); trying again at %s", hold.kind, hold.until
            )
            await self._wait(items, hold, owner=owner)
            return False

    def _crashed_too_often(self, item: InboxItem, kind: OutageKind) -> bool:
        if kind != "cli_crashed":
            self._crashes.pop(item.id, None)
            return False
        crashes = self._crashes[item.id] = self._crashes.get(item.id, 0) + 1
        if len(self._crashes) > _CRASHES_KEPT:  # rows that were answered in the end
            del self._crashes[next(iter(self._crashes))]
        if crashes < CRASHES_PER_MESSAGE:
            return False
        del self._crashes[item.id]
        logger.error(
            "Claude Code stopped %d times on message %s in chat %s: giving it up",
            crashes,
            item.msg_id,
            item.chat_id,
        )
        return True

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
                await self._give_up(item, given_up(await self._words_for(item.sender_id)))
        if not waiting:
            return
        first = waiting[0]
        text = notice(hold.kind, await self._words_for(first.sender_id), owner=owner)
        told = [OutboundMessage(chat_id=first.chat_id, text=text, reply_to=first.msg_id)]
        await self._inbox.defer(
            [item.id for item in waiting],
            hold.until,
            along=(lambda: self._outbox.enqueue(told)) if hold.notify else None,
        )

    async def _give_up(self, item: InboxItem, text: str) -> None:
        logger.warning("Message %s in chat %s is given up", item.msg_id, item.chat_id)
        reply = OutboundMessage(chat_id=item.chat_id, text=text, reply_to=item.msg_id)
        await self._outbox.enqueue([reply], inbox_id=item.id, finish_inbox=InboxState.FAILED)

"""ChatWorker: one chat's queue, owned whole. It claims the chat's rows in order, decides what
each becomes (a command, an announcement, nothing, or a turn), keeps the rows a running turn
cannot take until their own turn, lets the others join that turn, and writes every row's
final state. It exits as soon as its chat is idle.

Flow, one way: row → route (pure) → command | Turn (turn.py) → Outcome → Answers (one write
with the final state) — or, while the model is down, the row waits (outage.py); while /pause
holds what the owner did not start, it is held until /resume; past its budget it is refused
(the writer told once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from jobs.account import Account
from jobs.config import ExternalUsers
from jobs.conversation.answer import Answers
from jobs.conversation.commands import Command, CommandContext, CommandTable, parse_command
from jobs.conversation.limits import RateLimiter
from jobs.conversation.outage import Outages
from jobs.conversation.routes import AnnounceRoute, IgnoreRoute, PersonRoute, TurnRoute, route
from jobs.conversation.senders import GroupCheck, HandoverCheck, Senders
from jobs.conversation.turn import Turn, Turns
from jobs.conversation.untrusted import one_line, preview
from jobs.errors import TurnRefused
from jobs.i18n.speakers import Speakers
from jobs.i18n.translator import Translator, english
from jobs.messages import OutboundMessage
from jobs.richtext import RichText
from jobs.spending import Spending
from jobs.storage.busy import retry_busy
from jobs.storage.inbox import InboxItem, InboxRepo, InboxState
from jobs.storage.outbox import OutboxRepo
from jobs.storage.people import PeopleRepo
from jobs.storage.reply_modes import ReplyModeRepo
from jobs.storage.tasks import TaskRepo

logger = logging.getLogger(__name__)

MAX_ATTEMPTS: Final = 3
ReplyCommand = Callable[[InboxItem], Awaitable[Command | None]]
"""A command a reply to one of Jobs' messages stands for (the owner's yes to an approval)."""


@dataclass(frozen=True, slots=True)
class ChatServices:
    """What every chat's worker shares (made once by the Dispatcher)."""

    inbox: InboxRepo
    outbox: OutboxRepo
    people: PeopleRepo
    commands: CommandTable
    turns: Turns
    answers: Answers
    outages: Outages
    limiter: RateLimiter
    owner_id: int
    slots: asyncio.Semaphore
    """Bounds the turns of people other than the owner (the owner's never queue)."""
    tasks: TaskRepo | None = None
    reply_command: ReplyCommand | None = None
    handovers: HandoverCheck | None = None
    """Conversations the owner took over (own account): Jobs keeps out of them."""
    reply_modes: ReplyModeRepo | None = None
    """Whose answers are drafts for the owner instead of messages."""
    groups: GroupCheck | None = None
    """The groups Jobs may answer in when addressed (without it: none)."""
    account: Account | None = None
    """Which account Jobs runs in (groups are answered only in an account of its own)."""

    spending: Spending | None = None
    """Budgets and /pause: asked before a turn starts (and by every turn itself)."""
    speakers: Speakers | None = None
    """Who speaks what: each person is answered in their language (English without it)."""
    senders: Senders = field(init=False)
    """One for every chat: it remembers that the owner's sighting is recorded in this run."""

    def __post_init__(self) -> None:
        senders = Senders(
            people=self.people,
            owner_id=self.owner_id,
            tasks=self.tasks,
            reply_modes=self.reply_modes,
            handovers=self.handovers,
            groups=self.groups,
        )
        object.__setattr__(self, "senders", senders)  # frozen: set once, here


class ChatHost(Protocol):
    """What a worker asks of the Dispatcher that runs it."""

    def policy(self) -> ExternalUsers:
        """Who may talk (known once Telegram is connected)."""

    async def model_back(self) -> None:
        """The model answers again after an outage: every chat with rows due resumes."""

    def deferred(self) -> None:
        """A row was deferred: the timer looks again."""


@dataclass(eq=False)
class ChatWorker:
    """The queue of one chat (see the module docstring). `more` is set when rows arrive."""

    chat_id: int
    services: ChatServices
    host: ChatHost
    more: asyncio.Event = field(default_factory=asyncio.Event)
    held: deque[InboxItem] = field(default_factory=deque)
    """Rows claimed during a turn that it could not take: answered next, before newer ones."""

    async def run(self) -> None:
        """Work until the chat has nothing left (no await between the check and returning)."""
        while True:
            self.more.clear()
            item = self.held.popleft() if self.held else await self._claim()
            if item is None:
                if self.more.is_set():
                    continue
                return
            await self._handle_safely(item)

    async def _words(self, person_id: int, /) -> Translator:
        speakers = self.services.speakers
        return english() if speakers is None else await speakers.words_for(person_id)

    async def _claim(self) -> InboxItem | None:
        inbox = self.services.inbox
        return await retry_busy(
            lambda: inbox.claim_next(self.chat_id),
            what=f"Taking the next message of chat {self.chat_id}",  # i18n: skip
        )

    async def _handle_safely(self, item: InboxItem) -> None:
        try:
            await self._handle(item)
        except asyncio.CancelledError:
            raise  # stays `processing`; recover() picks it up at the next start
        except Exception:
            logger.exception("Message %s in chat %s failed", item.msg_id, item.chat_id)
            sorry = (await self._words(item.sender_id)).gettext(
                "Sorry, something went wrong on my side while handling that message. "
                "Please try again."
            )
            await retry_busy(  # never left `processing` because the database was locked
                lambda: self.services.answers.finish(item, sorry, InboxState.FAILED),
                what=f"Finishing message {item.msg_id} in chat {item.chat_id}",  # i18n: skip
            )

    async def _handle(self, item: InboxItem) -> None:
        s = self.services
        if item.attempts > MAX_ATTEMPTS:  # taken this often and never finished: a crash loop
            await s.answers.finish(
                item, _given_up(await self._words(item.sender_id)), InboxState.FAILED
            )
            return
        if await self._muted(item):
            return
        if s.speakers is not None:  # before its answer: the first one is in their language
            await s.speakers.heard(item.sender_id, item.text)
        where = await self._route(item)
        if isinstance(where, IgnoreRoute):
            await s.inbox.finish(item.id, InboxState.IGNORED, where.reason)
        elif isinstance(where, AnnounceRoute):
            await self._announce(item)  # once per stranger: no limit needed
        # Where Jobs does not speak (the owner's drafts), a command is text for the session.
        elif where.speaks and (command := await self._command_of(item)) is not None:
            if await self._within_limits(item):
                ctx = _context(item, where, await self._words(item.sender_id))
                answer = await s.commands.run(ctx, command)
                await s.answers.finish(item, answer, InboxState.ANSWERED)
        elif not await s.outages.admit(item, owner=where.is_owner, speaks=where.speaks):
            self.host.deferred()  # the model is down: it waits, and uses no rate limit meanwhile
        elif await self._admitted(item, where) and await self._within_limits(
            item, speaks=where.speaks
        ):
            await self._turn(item, where)

    async def _muted(self, item: InboxItem) -> bool:
        """A flood: the row is dropped, and what the person queued meanwhile goes in the same
        write, so the database stays free for the owner's messages."""
        s = self.services
        if item.sender_id == s.owner_id or not s.limiter.muted(item.sender_id):
            return False
        await s.inbox.finish(item.id, InboxState.IGNORED, "rate limited")  # i18n: skip
        if item.group is None:  # a group's queue holds other people's messages too
            await s.inbox.ignore_waiting(item.chat_id, "rate limited")  # i18n: skip
        return True

    async def _route(self, item: InboxItem) -> TurnRoute | AnnounceRoute | IgnoreRoute:
        s = self.services
        sender = await s.senders.of(item)
        own = s.account is None or not s.account.is_assistants  # unknown: the careful answer
        return route(sender, owner_id=s.owner_id, policy=self.host.policy(), own_account=own)

    async def _turn(self, item: InboxItem, where: TurnRoute) -> None:
        """A turn. If it meets an outage its rows wait (follow-ups too); if it finds the
        model back after one, every chat with rows due resumes."""
        s = self.services
        # The owner's turns never queue behind other people's: the slots bound theirs.
        slot = contextlib.nullcontext() if where.is_owner else s.slots
        async with slot:
            turn = s.turns.start(item, where)
            try:
                while not turn.done:
                    await turn.wait(self.more)
                    if self.more.is_set():
                        self.more.clear()
                        await self._take_followups(turn)
            except BaseException:
                await turn.cancel()
                raise
            outcome = await turn.outcome()
        if outcome.refused is not None:
            await self._refused(item, outcome.followed, outcome.refused, where)
            return
        if outcome.outage is not None:
            released = await s.outages.hold(
                item, outcome, owner=where.is_owner, speaks=where.speaks
            )
            self.host.deferred()
        elif isinstance(where, PersonRoute) and await s.senders.handed_over(where.person_id):
            # The owner began talking with them while the turn ran: Jobs does not talk over them.
            await s.answers.withheld(
                item, outcome, "the owner took the conversation over"
            )  # i18n: skip (the row's stored note)
            released = False
        else:
            await s.answers.turn_done(
                item, where, outcome, random_id=turn.random_id, edit_of=await turn.edit_of()
            )
            released = outcome.reached_model and await s.outages.answered()
        if released:
            await self.host.model_back()

    async def _take_followups(self, turn: Turn) -> None:
        """Rows that came in during `turn`: an immediate command (/stop) runs now, text joins
        the turn, the rest waits for a turn of its own. While a row waits, nothing joins: no
        message overtakes one sent before it."""
        s = self.services
        for extra in await s.inbox.claim_pending_for(self.chat_id):
            command = await self._command_of(extra) if turn.route.speaks else None
            ctx = _context(extra, turn.route, await self._words(extra.sender_id))
            immediate = command is not None and s.commands.is_immediate(
                command, is_owner=ctx.is_owner
            )
            # A file waits for a turn of its own: it is downloaded when its turn comes. In a
            # group, someone else's message is a turn (a session) of its own.
            joins = command is None and not extra.media and not self.held
            joins = joins and extra.sender_id == turn.item.sender_id
            if not (immediate or (joins and turn.takes_follow_ups)):
                self.held.append(extra)  # its limits are checked when its own turn comes
            elif not await self._within_limits(extra, speaks=turn.route.speaks):
                continue  # over the rate limit: it has its final state
            elif command is not None:
                answer = await s.commands.run(ctx, command)
                await s.answers.finish(extra, answer, InboxState.ANSWERED)
            elif not await turn.join(extra):
                self.held.append(extra)  # the turn ended meanwhile

    async def _command_of(self, item: InboxItem) -> Command | None:
        """The command `item` gives: `/name …`, or a reply standing for one; None for text."""
        command = parse_command(item.text)
        reply_command = self.services.reply_command
        if command is None and reply_command is not None and item.reply_to is not None:
            command = await reply_command(item)
        return command

    async def _admitted(self, item: InboxItem, where: TurnRoute) -> bool:
        """Whether /pause and the budgets let `item`'s turn start (before anything of it
        starts: no download, no "typing…"); if not, the row is held or refused."""
        spending = self.services.spending
        if spending is None:
            return True
        try:
            await spending.admit(where.charge)
        except TurnRefused as refused:
            await self._refused(item, (), refused, where)
            return False
        return True

    async def _refused(
        self,
        item: InboxItem,
        followed: Sequence[InboxItem],
        refused: TurnRefused,
        where: TurnRoute,
    ) -> None:
        """A held turn's rows wait for /resume (nothing is lost); a refused one's are
        finished, the writer told once per period (the owner each time: their own cap)."""
        s = self.services
        rows = [item, *followed]
        if refused.paused:
            await s.inbox.hold([row.id for row in rows], "paused")
            return
        assert s.spending is not None  # only the gate refuses
        words = await self._words(item.sender_id)
        note = await s.spending.writer_note(item.sender_id, refused, words, owner=where.is_owner)
        if note:
            await s.answers.finish(item, note, InboxState.IGNORED, followed)
            return
        for row in rows:
            await s.inbox.finish(row.id, InboxState.IGNORED, "over budget")  # i18n: skip

    async def _within_limits(self, item: InboxItem, *, speaks: bool = True) -> bool:
        """`speaks` False: over the limit, the writer is not told (their answers are drafts)."""
        s = self.services
        if item.sender_id == s.owner_id:
            return True
        verdict = s.limiter.check(item.sender_id)
        if verdict.allowed:
            return True
        if verdict.warn and speaks:
            t = await self._words(item.sender_id)
            minutes = max(1, round(verdict.retry_after / 60))
            text = (
                t.gettext(
                    "I'm getting more messages than I can answer right now. Please wait about "
                    "{minutes} min and send it again.",
                    minutes=minutes,
                )
                if verdict.busy
                else t.gettext(
                    "You're sending messages faster than I can answer. Please wait about "
                    "{minutes} min and send it again.",
                    minutes=minutes,
                )
            )
            await s.answers.finish(item, text, InboxState.IGNORED)
        else:
            await s.inbox.finish(item.id, InboxState.IGNORED, "rate limited")  # i18n: skip
        return False

    async def _announce(self, item: InboxItem) -> None:
        s = self.services
        if not await s.people.mark_announced(item.sender_id):
            await s.inbox.finish(item.id, InboxState.IGNORED, "waiting for the owner")  # i18n: skip
            return
        # Names and text are the stranger's: plain and quoted, never formatting or links.
        t = await s.speakers.owner() if s.speakers is not None else english()
        username = one_line(item.sender_username)
        who = (one_line(item.sender_name) or t.gettext("Someone")) + (
            f" (@{username})" if username else ""
        )
        notice = t.rich(
            RichText(), "{who}, id {id}, wrote to you:\n\n", who=who, id=str(item.sender_id)
        )
        notice.quote(preview(item.text, limit=300)).text(
            t.gettext(
                "\n\nShould I answer them? /allow_{id} lets me talk with them, /block_{id} "
                "ignores them for good.",
                id=item.sender_id,
            )
        )
        await s.answers.store(
            [OutboundMessage.formatted(s.owner_id, notice.build())], item, InboxState.IGNORED
        )


def _given_up(t: Translator) -> str:
    return t.gettext(
        "Sorry, I tried to handle this message several times and failed each time, so I'm "
        "giving up on it."
    )


def _context(item: InboxItem, where: TurnRoute, words: Translator) -> CommandContext:
    """A command acts on its writer's own session (a task's counterpart's, never the task's),
    and answers in its writer's language."""
    return CommandContext(
        person_id=item.sender_id,
        chat_id=item.chat_id,
        session_key=where.own_key,
        is_owner=where.is_owner,
        words=words,
    )

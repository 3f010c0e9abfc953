"""Turns: one message's turn of a session while it runs — its attachment taken in, its prompt,
the session's answer, "typing…" and the 👀 acknowledgement alongside, follow-ups injected —
ending in an Outcome. A turn never claims inbox rows: the chat worker owns the queue and
hands it what may join.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

from jobs.conversation.attachments import Attachments, Intake, save_long_text
from jobs.conversation.draft import Draft, Preview, PreviewStore
from jobs.conversation.outcome import Outcome, judge
from jobs.conversation.plan import is_long, outside_text, prompt_text
from jobs.conversation.routes import OwnerRoute, PersonRoute, TaskRoute, TurnRoute
from jobs.i18n.speakers import WordsFor, english_for
from jobs.messages import Channel, OutboundMessage
from jobs.sessions.port import Sessions
from jobs.sessions.replies import Reply, Usage
from jobs.sessions.stream import ReplyStream
from jobs.storage.inbox import InboxItem

TYPING_EVERY: Final = 4.5  # Telegram shows "typing…" for about 5 s

LanguageNote = Callable[[int], Awaitable[str | None]]
"""For a writer's id, a line telling the model their language (None: English, nothing said)."""
OwnerNote = Callable[[], Awaitable[str | None]]
"""A line for the owner's turn about their tools' health (the browser is down), or None."""


class TaskTurns(Protocol):
    """The sessions of conversation tasks (jobs.delegation.TaskSessions): a message from the
    person a task talks with becomes a turn of that task's session, and what the turn says
    goes to the owner, not back to the writer."""

    def frame(self, item: InboxItem, text: str, /) -> str:
        """The message as the session reads it: marked as the writer's words, not the owner's."""

    async def counterpart_turn(self, task_id: int, item: InboxItem, prompt: str, /) -> Reply:
        """One tainted turn of the task's session (after any turn of it already running)."""

    async def report(self, task_id: int, text: str, /) -> list[OutboundMessage]:
        """The owner's message(s) from the turn's reply (none when there is nothing to say)."""


@dataclass(frozen=True, slots=True)
class TurnHooks:
    """The optional features a turn uses; an absent one is skipped."""

    attachments: Attachments | None = None
    """Downloads and voice (Telegram); without it files are only named."""
    task_turns: TaskTurns | None = None
    """Answers TaskRoutes (without it they go to the writer's own session)."""
    owner_note: OwnerNote | None = None
    language_note: LanguageNote | None = None
    """The line telling the model the writer's language (Speakers.model_note), said last."""


class Turns:
    """Starts turns (one per message that reaches a session)."""

    def __init__(
        self,
        *,
        sessions: Sessions,
        channel: Channel,
        uploads_dir: Path,
        hooks: TurnHooks | None = None,
        previews: PreviewStore | None = None,
        words_for: WordsFor | None = None,
    ) -> None:
        """`previews`: where replies streamed into a message of their own are remembered
        (without it, a chat that shows no drafts shows "typing…")."""
        self._sessions = sessions
        self._channel = channel
        self._uploads = uploads_dir
        self.hooks = hooks or TurnHooks()
        self._previews = previews
        self.words_for = words_for or english_for
        """Each writer's language, for what Jobs itself says about their turn."""

    def start(self, item: InboxItem, route: TurnRoute, /) -> Turn:
        """The turn for `item`, running from now on."""
        return Turn(self, item, self._effective(route))

    def prompt(self, item: InboxItem, route: TurnRoute, /, *, intake: Intake | None = None) -> str:
        """What the session is told of `item` (a task's counterpart's words framed as theirs)."""
        saved = save_long_text(self._uploads, item) if is_long(item) and route.is_owner else ""
        text = prompt_text(item, intake=intake, owner=route.is_owner, saved=saved)
        task_turns = self.hooks.task_turns
        return task_turns.frame(item, text) if isinstance(route, TaskRoute) and task_turns else text

    def _effective(self, route: TurnRoute) -> TurnRoute:
        """Without task sessions, a task's counterpart talks in a session of their own."""
        if isinstance(route, TaskRoute) and self.hooks.task_turns is None:
            return PersonRoute(route.person_id)
        return route

    async def answer(
        self, item: InboxItem, route: TurnRoute, /, *, stream: ReplyStream | None = None
    ) -> Reply:
        """The turn's work: the attachment first (download, transcription), then the session,
        whose reply `stream` is shown while it is written."""
        intake: Intake | None = None  # None: the attachment is only named in the prompt
        attachments = self.hooks.attachments
        # A task counterpart's files are not taken in: the task session only reads the text.
        if item.media and attachments is not None and not isinstance(route, TaskRoute):
            intake = await attachments.take(item, owner=route.is_owner)
        if intake is not None and intake.reply is not None:  # answered without the model
            return Reply(intake.reply, None, Usage())
        prompt = self.prompt(item, route, intake=intake)
        if isinstance(route, OwnerRoute) and self.hooks.owner_note is not None:
            note = await self.hooks.owner_note()
            prompt = f"{note}\n{prompt}" if note else prompt
        if self.hooks.language_note is not None:
            # Last, in the turn's own text: the cached prompt prefix stays the same.
            language = await self.hooks.language_note(item.sender_id)
            prompt = f"{prompt}\n{language}" if language else prompt
        if isinstance(route, TaskRoute):
            assert self.hooks.task_turns is not None  # _effective made it a PersonRoute else
            return await self.hooks.task_turns.counterpart_turn(route.task_id, item, prompt)
        # Its usage and summary are written after the reply is handed to the outbox.
        return await self._sessions.run_turn(
            route.key,
            route.role,
            prompt,
            person_id=item.sender_id,
            taint=outside_text(item, owner=route.is_owner),
            record_later=True,
            stream=stream,
        )

    async def follow_up(self, route: TurnRoute, extra: InboxItem, /) -> bool:
        """Inject `extra` into `route`'s running turn; False when none takes it."""
        text = self.prompt(extra, route)
        taint = outside_text(extra, owner=route.is_owner)
        if not await self._sessions.follow_up(route.key, text, taint=taint):
            return False
        await self._channel.acknowledge(extra.chat_id, extra.msg_id)
        return True

    def running(self, route: TurnRoute, /) -> bool:
        return self._sessions.running(route.key)

    async def keep_typing(self, chat_id: int, draft: Draft | None, /) -> None:
        """ "typing…" until the turn ends, unless its draft is on screen (typing would hide it)."""
        while True:
            if draft is None or not draft.showing:
                await self._channel.typing(chat_id)
            await asyncio.sleep(TYPING_EVERY)

    def draft_for(self, item: InboxItem, route: TurnRoute, /) -> Draft | None:
        """A live draft of the reply, for turns whose reply goes back to its writer."""
        if isinstance(route, TaskRoute):
            return None  # its reply is a report to the owner, not an answer in this chat
        preview = None
        if self._previews is not None:
            preview = Preview(
                channel=self._channel, store=self._previews, inbox_id=item.id, chat_id=item.chat_id
            )
        return Draft(channel=self._channel, chat_id=item.chat_id, preview=preview)

    async def acknowledge(self, item: InboxItem, /) -> None:
        await self._channel.acknowledge(item.chat_id, item.msg_id)


@dataclass(eq=False)
class Turn:
    """One running turn; `outcome()` once `done`."""

    turns: Turns
    item: InboxItem
    route: TurnRoute
    followed: list[InboxItem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.draft = self.turns.draft_for(self.item, self.route)
        self._work = asyncio.create_task(
            self.turns.answer(self.item, self.route, stream=self.draft)
        )
        self._helpers = [
            asyncio.create_task(self.turns.keep_typing(self.item.chat_id, self.draft)),
            # Alongside the work, not before it: the reaction's round trip would delay replies.
            asyncio.create_task(self.turns.acknowledge(self.item)),
        ]
        if self.draft is not None:
            self._helpers.append(asyncio.create_task(self.draft.run()))

    @property
    def random_id(self) -> int:
        """The reply's random id: its draft's, so the sent reply takes the draft's place."""
        return 0 if self.draft is None else self.draft.random_id

    async def edit_of(self) -> int | None:
        """The message the reply was streamed into, which it replaces (None: a new message).
        A row tried before (Jobs restarted mid-turn, the model went away) may have one from
        that earlier run."""
        preview = None if self.draft is None else self.draft.preview
        if preview is None:
            return None
        tried = self.item.attempts > 1 or self.item.deferred_at is not None
        return await preview.earlier() if tried else preview.msg_id

    @property
    def done(self) -> bool:
        return self._work.done()

    @property
    def takes_follow_ups(self) -> bool:
        """A message sent now may join this turn (it runs and is not sealed)."""
        return not self.done and self.turns.running(self.route)

    async def wait(self, more: asyncio.Event, /) -> None:
        """Until the turn is done or `more` is set (rows for the chat came in)."""
        waiter = asyncio.create_task(more.wait())
        try:
            await asyncio.wait({self._work, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()

    async def join(self, extra: InboxItem, /) -> bool:
        """`extra` joins this turn as a follow-up; False when the turn no longer takes it."""
        if not await self.turns.follow_up(self.route, extra):
            return False
        self.followed.append(extra)
        return True

    async def outcome(self) -> Outcome:
        """What the finished turn means. The helpers stop first (the ack's request went out
        at the start; cancelling ends only the wait for its answer)."""
        await _settled(*self._helpers)
        return judge(self._work, self.followed, await self.turns.words_for(self.item.sender_id))

    async def cancel(self) -> None:
        self._work.cancel()
        await _settled(*self._helpers, self._work)


async def _settled(*tasks: asyncio.Task[None] | asyncio.Task[Reply]) -> None:
    """Cancel tasks and wait for them to end."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

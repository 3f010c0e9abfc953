"""Answers: what a finished turn or a command says, written to the outbox together with the
final state of the rows it answers (one transaction: a reply exists if and only if its message
is finished). The owner's reply from a session that read someone else's text shows none of
their markup and no link preview; a task turn's reply goes to the owner as a report; an owner
exchange goes to the memory's log.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from jobs.conversation.outcome import Outcome
from jobs.conversation.plan import memorable
from jobs.conversation.routes import TaskRoute, TurnRoute
from jobs.conversation.turn import TaskTurns
from jobs.i18n.speakers import WordsFor, english_for
from jobs.messages import Body, OutboundMessage
from jobs.richtext import FormattedText, visible
from jobs.sessions.port import Sessions
from jobs.storage.busy import retry_busy
from jobs.storage.inbox import InboxItem, InboxRepo, InboxState
from jobs.storage.outbox import OutboxItem, OutboxRepo

RecordExchange = Callable[[str, str, str, datetime], Awaitable[object]]
"""`record(session_key, prompt, reply, at)`: called after an owner turn was answered."""
GuardMarkup = Callable[[str], FormattedText]
"""Markdown → text and entities with nothing another person could have put there."""
AFTER_THE_REPLY: Final = 0.5
"""How long a turn's own writes (the memory's log, its records) wait for its reply to be on
its way: they would compete with its send, which the person is waiting for."""


@dataclass(frozen=True, slots=True)
class Form:
    """How a reply goes out (see OutboundMessage for each)."""

    link_preview: bool = False
    random_id: int = 0
    """The live draft the reply replaces."""
    trusted: bool = False
    """The owner's untainted session wrote it."""
    edit_of: int | None = None
    """The message it was streamed into, which it becomes."""
    as_draft: bool = False
    """Kept as the chat's draft for the owner, never sent."""


PLAIN: Final = Form()


def _plain(text: str) -> FormattedText:
    return FormattedText(visible(text))


class Answers:
    """The final writes of a chat's rows."""

    def __init__(
        self,
        *,
        inbox: InboxRepo,
        outbox: OutboxRepo,
        sessions: Sessions,
        task_turns: TaskTurns | None = None,
        record: RecordExchange | None = None,
        guard_markup: GuardMarkup | None = None,
        words_for: WordsFor | None = None,
    ) -> None:
        """`record`: keeps each answered owner exchange (the memory's daily log).
        `guard_markup`: renders a tainted session's reply to the owner without their markup
        (telegram.formatting.render_guarded); without it such a reply goes as plain text."""
        self._words_for = words_for or english_for
        self._inbox = inbox
        self._outbox = outbox
        self._sessions = sessions
        self._task_turns = task_turns
        self._record = record
        self._guard = guard_markup or _plain

    async def finish(
        self,
        item: InboxItem,
        body: Body,
        state: InboxState,
        followed: Sequence[InboxItem] = (),
        *,
        form: Form = PLAIN,
    ) -> list[OutboxItem]:
        """Reply to `item` (nothing when `body` is empty) and give it, and the follow-ups that
        shared its turn, their final `state`; `form`: how the reply goes out. The reply
        quotes `item` only when messages came in after the last one it answers: then the
        writer sees which one it is for."""
        last = max([item.msg_id, *(f.msg_id for f in followed)])
        # A streamed reply's message is where it is: an edit cannot make it a reply.
        edit_of = form.edit_of
        # In a group, always: the answer is for the one who asked, among everyone there.
        # Elsewhere only when something came after `last` (the outbox checks as it stores).
        quote_after = None if item.group is not None else last
        if edit_of is not None and not (body if isinstance(body, str) else body.text).strip():
            # The half-written reply on screen must not stay as it is.
            body = (await self._words_for(item.sender_id)).gettext("(no answer)")
        reply = OutboundMessage.formatted(
            item.chat_id,
            body,
            reply_to=item.msg_id if edit_of is None else None,
            link_preview=form.link_preview,
            random_id=form.random_id,
            trusted=form.trusted,
            edit_of=edit_of,
            as_draft=form.as_draft,
        )
        replies = [reply] if reply.text.strip() else []
        return await self.store(replies, item, state, followed, quote_after=quote_after)

    async def turn_done(
        self,
        item: InboxItem,
        route: TurnRoute,
        outcome: Outcome,
        *,
        random_id: int = 0,
        edit_of: int | None = None,
    ) -> None:
        """A finished turn: its reply (or a task's report), then, once the sender has it, the
        session's held records and the memory's log. Not for an outage: its rows wait.
        `random_id`: the reply's (its draft's); `edit_of`: the message it was streamed into."""
        if isinstance(route, TaskRoute) and self._task_turns is not None:
            if outcome.state is InboxState.ANSWERED:
                report = await self._task_turns.report(route.task_id, outcome.text)
                sent = await self.store(report, item, outcome.state, outcome.followed)
            else:
                sent = await self.finish(item, outcome.text, outcome.state, outcome.followed)
        else:
            sent = await self._reply(item, route, outcome, random_id, edit_of)
        # The turn's usage and summary, held until now (budgets read the usage): written once
        # the sender has claimed the reply, they queue behind its claim, not ahead of it.
        await self._outbox.claimed(sent, within=AFTER_THE_REPLY)
        await self._sessions.flush(route.key)
        if self._record is not None and route.is_owner and outcome.state is InboxState.ANSWERED:
            # The log's file and index work (CPU) waits until the reply is out.
            await self._outbox.handled(sent, within=AFTER_THE_REPLY)
            asked, said = memorable(item, outcome)
            await self._record(str(route.key), asked, said, item.received_at)

    async def withheld(self, item: InboxItem, outcome: Outcome, why: str, /) -> None:
        """A finished turn whose answer must not go out (the owner took the conversation over
        while it ran): its rows end ignored with `why`; the session's records are kept."""
        for row in (item, *outcome.followed):
            await retry_busy(
                functools.partial(self._inbox.finish, row.id, InboxState.IGNORED, why),
                what=f"Finishing message {row.msg_id} in chat {row.chat_id}",  # i18n: skip
            )
        await self._sessions.flush()

    async def store(
        self,
        messages: Sequence[OutboundMessage],
        item: InboxItem,
        state: InboxState,
        followed: Sequence[InboxItem] = (),
        *,
        quote_after: int | None = None,
    ) -> list[OutboxItem]:
        """The messages and the rows' final state in one transaction; returns the rows. Another
        program's lock only delays it: a busy BEGIN IMMEDIATE wrote nothing, so trying again
        is safe. `quote_after`: OutboxRepo.enqueue's."""
        return await retry_busy(
            lambda: self._outbox.enqueue(
                messages,
                inbox_id=item.id,
                finish_inbox=state,
                also_finish=[f.id for f in followed],
                quote_after=quote_after,
            ),
            what=f"Storing the reply to message {item.msg_id} in chat {item.chat_id}",  # i18n: skip
        )

    async def _reply(
        self,
        item: InboxItem,
        route: TurnRoute,
        outcome: Outcome,
        random_id: int,
        edit_of: int | None,
    ) -> list[OutboxItem]:
        """To the owner from a session that read someone else's text: their markup is not
        rendered and no link preview is made (Telegram's servers would fetch a URL they
        chose); from the owner's own untainted session: Markdown and previews as usual."""
        draft = not route.speaks  # the owner's rule: kept in the chat as a draft for them
        if not route.is_owner or not outcome.tainted or not outcome.text:
            own = route.is_owner and not outcome.tainted  # the owner session's own words
            form = Form(
                link_preview=own,
                random_id=random_id,
                trusted=own,
                edit_of=edit_of,
                as_draft=draft,
            )
            return await self.finish(item, outcome.text, outcome.state, outcome.followed, form=form)
        guarded = self._guard(outcome.text)
        form = Form(random_id=random_id, edit_of=edit_of, as_draft=draft)
        return await self.finish(item, guarded, outcome.state, outcome.followed, form=form)

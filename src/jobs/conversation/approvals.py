"""ApprovalBroker: asks the owner about a call a tainted turn may not make alone, and waits.

It is the Approver of sessions/taint.py. Each request is a row in `approvals` (a short code,
an expiry) and a message to the owner saying because of whom, where, and exactly what would
run, uncut (approval_notices builds it; a long action goes as an attached file, one past
MAX_ACTION_CHARS is denied without asking). The owner answers `/approve_<code>` or
`/deny_<code>`, or replies yes / no to that message; no answer before the deadline counts as
no. The PreToolUse guard that asked is waiting on a future the answer resolves, and writes
the outcome to the audit log.

With a GrantBook, a call the owner approved "for this task / session" (/grant_<code>, or the
button) runs again there unasked (see conversation/grants.py). With ApprovalCards (the
companion bot), the question is a card with buttons, and the card shows how it ended; a tap
and a command resolve the same approval exactly once (the row's state changes once).
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Final, Protocol

from jobs.conversation import approval_notices as notices
from jobs.conversation.approval_notices import MAX_ACTION_CHARS
from jobs.conversation.commands import Command
from jobs.conversation.grants import GrantBook, scope_of
from jobs.errors import JobsError
from jobs.i18n.speakers import OwnerWords, english_words
from jobs.i18n.translator import Translator
from jobs.messages import MESSAGE_LIMIT, OutboundMessage
from jobs.richtext import FormattedText, utf16_len
from jobs.sessions.taint import ApprovalAnswer, ApprovalRequest, TaintSource
from jobs.storage import (
    Approval,
    ApprovalRepo,
    ApprovalState,
    AuditRepo,
    InboxItem,
    OutboxRepo,
    OutboxState,
)

logger = logging.getLogger(__name__)

__all__ = ["MAX_ACTION_CHARS", "ApprovalBroker", "ApprovalCards", "describe_call"]

_ANSWERS: Final = {
    "yes": "approve",
    "y": "approve",
    "ok": "approve",
    "approve": "approve",
    "allow": "approve",
    "no": "deny",
    "n": "deny",
    "deny": "deny",
}
"""A reply to an approval message that is one of these words answers it."""
_LEFT_OUTBOX: Final = (OutboxState.SENT, OutboxState.FAILED)
_CARD_WAIT: Final = 15.0
"""Seconds the bot may take to show a card before the question goes through the account."""


class ApprovalCards(Protocol):
    """Approval questions as cards with buttons, shown to the owner alone (the companion bot).

    `post` shows the question with buttons to approve once, to approve for `scope` (when not
    None) and to deny, and returns False when the card could not be shown (the question then
    goes the usual way). A tap is answered through `decide` (ApprovalBroker.decide, given
    once by `answer_with`, with the audit where refused taps are written). `settle` replaces
    the buttons with how the approval ended; it never raises. `words` are the owner's (its
    buttons' language); `app_language` is told the owner's Telegram app language if seen."""

    def answer_with(
        self,
        decide: Callable[..., Awaitable[str]],
        audit: AuditRepo,
        /,
        *,
        words: OwnerWords | None = None,
        app_language: Callable[[str], Awaitable[None]] | None = None,
    ) -> None: ...

    async def post(
        self, approval: Approval, question: FormattedText, *, scope: str | None
    ) -> bool: ...

    async def settle(self, code: str, outcome: FormattedText, /) -> None: ...


@dataclass(slots=True)
class _Waiting:
    """An approval the guard waits on: the answer, and the request a grant would be made of."""

    answer: asyncio.Future[bool]
    request: ApprovalRequest
    carded: bool


def describe_call(tool: str, tool_input: Mapping[str, Any], /) -> str:
    """The exact action, for the owner to read, whole: the command, or every input."""
    command = tool_input.get("command")
    if tool == "Bash" and isinstance(command, str):
        return command
    return json.dumps(dict(tool_input), ensure_ascii=False, indent=2, default=str)


class ApprovalBroker:
    """The Approver over Telegram (see the module docstring); one per app."""

    def __init__(
        self,
        *,
        approvals: ApprovalRepo,
        outbox: OutboxRepo,
        owner_chat: int,
        timeout: timedelta,
        files: Path,
        grants: GrantBook | None = None,
        cards: ApprovalCards | None = None,
        words: OwnerWords | None = None,
    ) -> None:
        """`files`: a folder of Jobs' own (under DATA_DIR, where no session writes) for the
        actions too long for one message. `grants`: the owner's scoped grants (none offered
        without it); `cards`: questions as cards with buttons (the companion bot); `words`: the
        owner's language (default English)."""
        self._words = words or english_words
        self._approvals = approvals
        self._outbox = outbox
        self._owner_chat = owner_chat
        self._timeout = timeout
        self._files = files
        self._grants = grants
        self._cards = cards
        self._waiting: dict[str, _Waiting] = {}

    @property
    def wait_seconds(self) -> float:
        return self._timeout.total_seconds()

    async def recover(self) -> int:
        """At start: approvals a previous run asked about end (nothing waits for them), and
        the files that showed their actions go."""
        await asyncio.to_thread(shutil.rmtree, self._files, ignore_errors=True)
        return await self._approvals.expire_pending()

    async def ask(self, request: ApprovalRequest, /) -> ApprovalAnswer:
        """Ask the owner and wait for the answer (see sessions.taint.Approver)."""
        if self._grants is not None and (grant := await self._grants.covering(request)):
            return ApprovalAnswer(ApprovalState.APPROVED, f"grant-{grant.id}", grant.approval_id)
        action = describe_call(request.tool, request.tool_input)
        if len(action) > MAX_ACTION_CHARS:
            return await self._refuse_unasked(request, len(action))
        try:
            approval, carded = await self._post(request, action)
        except JobsError:
            logger.exception("could not ask the owner about %s", request.tool)
            return ApprovalAnswer(ApprovalState.DENIED)
        future = asyncio.get_running_loop().create_future()
        self._waiting[approval.code] = _Waiting(future, request, carded)
        answer = ApprovalAnswer(ApprovalState.PENDING, approval.code, approval.id)  # ended
        try:
            async with asyncio.timeout(self.wait_seconds):
                approved = await future
            state = ApprovalState.APPROVED if approved else ApprovalState.DENIED
            answer = ApprovalAnswer(state, approval.code, approval.id)
        except TimeoutError:
            answer = await self._no_answer(approval, notify=not carded)
        except asyncio.CancelledError:  # the turn ended (/stop, its time limit): nothing runs
            await self._end_quietly(approval)
            raise
        finally:
            self._waiting.pop(approval.code, None)
            await self._drop_file(approval)
            if carded and self._cards is not None:
                ended = notices.settled(approval, answer.state, await self._words())
                await self._cards.settle(approval.code, ended)
        return answer

    async def decide(self, code: str, /, *, approve: bool, scoped: bool = False) -> str:
        """The owner's answer (a command, a reply or a tap); returns what to tell the owner.
        `scoped`: approve for the request's task or session (a grant), not just once."""
        state = ApprovalState.APPROVED if approve else ApprovalState.DENIED
        t = await self._words()
        decided = await self._approvals.decide(code, state)
        if decided is None:
            known = await self._approvals.get_by_code(code)
            if known is None:
                return t.gettext("I have no approval request with the code {code}.", code=code[:16])
            return t.gettext(
                "Approval {code} is already {state}; nothing changed.",
                code=known.code,
                state=_state_word(known.state, t),
            )
        waiting = self._waiting.get(decided.code)
        if waiting is None or waiting.answer.done():
            return t.gettext(
                "Noted, but nothing waits for approval {code} any more: nothing runs.",
                code=decided.code,
            )
        granted = await self._grant(waiting.request, decided, t) if approve and scoped else ""
        waiting.answer.set_result(approve)
        # The tool's name in a code span: an MCP name's "__" would be Markdown emphasis.
        if approve:
            said = t.gettext(
                "Approved: `{tool}` runs now ({code}).", tool=decided.tool, code=decided.code
            )
            return said + granted
        return t.gettext(
            "Denied: `{tool}` will not run ({code}).", tool=decided.tool, code=decided.code
        )

    async def _grant(self, request: ApprovalRequest, approval: Approval, t: Translator) -> str:
        """A grant of `approval` for its session; the sentence telling the owner so."""
        once = t.gettext(" It was approved this once: no grant can be made there.")
        if self._grants is None or scope_of(request.session_key, t) is None:
            return once
        try:
            grant = await self._grants.grant(request, approval)
        except JobsError:
            logger.exception("could not record a grant for approval %s", approval.code)
            return t.gettext(" Recording the grant failed: it was approved this once.")
        if grant is None:
            return once
        return t.gettext(
            " Grant #{id}: exactly this runs again in {scope} without asking.",
            id=grant.id,
            scope=scope_of(request.session_key, t),
        )

    async def command_for_reply(self, item: InboxItem, /) -> Command | None:
        """`/approve_<code>` or `/deny_<code>` for a yes / no replying to an approval message
        (in English, or in the owner's language)."""
        said = item.text.strip().lower().rstrip(".!")
        verdict = _ANSWERS.get(said) or _answer_in(said, await self._words())
        if item.reply_to is None or verdict is None:
            return None
        approval = await self._approvals.asked_in(item.chat_id, item.reply_to)
        return None if approval is None else Command(verdict, (approval.code,))

    # -- internals ---------------------------------------------------------------------------

    async def _post(self, request: ApprovalRequest, action: str) -> tuple[Approval, bool]:
        """The approval row and its question (a card when the bot can show it); True: a card."""
        source = request.source
        approval = await self._approvals.create(
            request.session_key,
            source.person_id,
            request.tool,
            action,
            self._timeout,
            caused_by=source.caused_by,
        )
        t = await self._words()
        scope = scope_of(request.session_key, t) if self._grants is not None else None
        if self._cards is not None and await self._card(approval, source, scope, t):
            return approval, True
        question = await asyncio.to_thread(
            notices.question_message,
            self._owner_chat,
            approval,
            source,
            self._timeout,
            t,
            files=self._files,
            scope=scope,
        )
        [first, *_] = await self._outbox.enqueue([question])
        await self._approvals.attach_message(approval.id, first.id)
        return replace(approval, outbox_id=first.id), False

    async def _card(
        self, approval: Approval, source: TaintSource, scope: str | None, t: Translator
    ) -> bool:
        """Show the question as a card, when it fits in one message (a longer action goes as
        an attached file, through the account)."""
        assert self._cards is not None
        body = notices.question(approval, source, self._timeout, t, scope=scope, card=True)
        if utf16_len(body.text) > MESSAGE_LIMIT:
            return False
        try:
            async with asyncio.timeout(_CARD_WAIT):  # the owner's wait must not go to the bot
                return await self._cards.post(approval, body, scope=scope)
        except TimeoutError:
            logger.warning("The approval card %s took too long; asking in the chat", approval.code)
            return False

    async def _no_answer(self, approval: Approval, *, notify: bool) -> ApprovalAnswer:
        expired = ApprovalAnswer(ApprovalState.EXPIRED, approval.code, approval.id)
        try:
            if await self._approvals.expire(approval.id) is None:
                # Decided in the very last moment: that answer stands.
                latest = await self._approvals.get(approval.id)
                if latest is not None and latest.state is ApprovalState.APPROVED:
                    return ApprovalAnswer(ApprovalState.APPROVED, approval.code, approval.id)
            if not notify:  # the card itself says so
                return expired
            ended = notices.expired(approval, await self._words())
            notice = OutboundMessage.formatted(self._owner_chat, ended)
            await self._outbox.enqueue([notice])
        except JobsError:
            logger.exception("could not record that approval %s expired", approval.code)
            return expired
        return expired

    async def _refuse_unasked(self, request: ApprovalRequest, size: int) -> ApprovalAnswer:
        """Deny a call whose action is past MAX_ACTION_CHARS, and tell the owner so."""
        body = notices.refused_unasked(request, size, await self._words())
        try:
            await self._outbox.enqueue([OutboundMessage.formatted(self._owner_chat, body)])
        except JobsError:
            logger.exception("could not tell the owner that %s was denied", request.tool)
        return ApprovalAnswer(ApprovalState.DENIED)

    async def _drop_file(self, approval: Approval) -> None:
        """The file that showed a long action, once the question has left the outbox (the
        ones still waiting there go at the next start)."""
        try:
            row = await self._outbox.get(approval.outbox_id) if approval.outbox_id else None
        except JobsError:
            logger.exception("could not look up the question of approval %s", approval.code)
            return
        if row is not None and row.file_path and row.state in _LEFT_OUTBOX:
            await asyncio.to_thread(Path(row.file_path).unlink, missing_ok=True)

    async def _end_quietly(self, approval: Approval) -> None:
        try:
            await self._approvals.expire(approval.id)
        except JobsError:
            logger.exception("could not end approval %s", approval.code)


def _answer_in(said: str, t: Translator) -> str | None:
    """A yes or no in the owner's language (the catalog's words for them)."""
    yes = {w.strip() for w in t.pgettext("approval answer", "yes, y, ok").split(",")}
    no = {w.strip() for w in t.pgettext("approval answer", "no, n").split(",")}
    return "approve" if said in yes else "deny" if said in no else None


def _state_word(state: ApprovalState, t: Translator) -> str:
    words = {
        ApprovalState.APPROVED: t.pgettext("approval state", "approved"),
        ApprovalState.DENIED: t.pgettext("approval state", "denied"),
        ApprovalState.EXPIRED: t.pgettext("approval state", "expired"),
        ApprovalState.PENDING: t.pgettext("approval state", "pending"),
    }
    return words[state]

"""ApprovalBroker: asks the owner about a call a tainted turn may not make alone, and waits.

It is the Approver of sessions/taint.py. Each request is a row in `approvals` (a short code,
an expiry) and a message to the owner saying exactly what would run, where, and because of
whom. The owner answers `/approve_<code>` or `/deny_<code>`, or replies yes / no to that
message; no answer before the deadline counts as no. The PreToolUse guard that asked is
waiting on a future the answer resolves, and writes the outcome to the audit log.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Final

from jobs.conversation.commands import Command
from jobs.errors import JobsError
from jobs.messages import OutboundMessage
from jobs.sessions.taint import ApprovalAnswer, ApprovalRequest, TaintSource
from jobs.storage import Approval, ApprovalRepo, ApprovalState, InboxItem, OutboxRepo

logger = logging.getLogger(__name__)

MAX_ACTION_CHARS: Final = 3000
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


def describe_call(tool: str, tool_input: Mapping[str, Any], /) -> str:
    """The exact action, for the owner to read: the command, or every input of the call."""
    command = tool_input.get("command")
    if tool == "Bash" and isinstance(command, str):
        text = command
    else:
        text = json.dumps(dict(tool_input), ensure_ascii=False, indent=2, default=str)
    if len(text) > MAX_ACTION_CHARS:
        text = f"{text[:MAX_ACTION_CHARS]}\n… ({len(text) - MAX_ACTION_CHARS} more characters)"
    return text


class ApprovalBroker:
    """The Approver over Telegram (see the module docstring); one per app."""

    def __init__(
        self,
        *,
        approvals: ApprovalRepo,
        outbox: OutboxRepo,
        owner_chat_id: int,
        on_outbox: Callable[[], None],
        timeout: timedelta,
    ) -> None:
        self._approvals = approvals
        self._outbox = outbox
        self._owner_chat = owner_chat_id
        self._on_outbox = on_outbox
        self._timeout = timeout
        self._waiting: dict[str, asyncio.Future[bool]] = {}

    @property
    def wait_seconds(self) -> float:
        return self._timeout.total_seconds()

    async def recover(self) -> int:
        """At start: approvals a previous run asked about end (nothing waits for them)."""
        return await self._approvals.expire_pending()

    async def ask(self, request: ApprovalRequest, /) -> ApprovalAnswer:
        """Ask the owner and wait for the answer (see sessions.taint.Approver)."""
        try:
            approval = await self._post(request)
        except JobsError:
            logger.exception("could not ask the owner about %s", request.tool)
            return ApprovalAnswer(ApprovalState.DENIED)
        waiter = self._waiting[approval.code] = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(self.wait_seconds):
                approved = await waiter
        except TimeoutError:
            return await self._no_answer(approval)
        except asyncio.CancelledError:  # the turn ended (/stop, its time limit): nothing runs
            await self._end_quietly(approval)
            raise
        finally:
            self._waiting.pop(approval.code, None)
        state = ApprovalState.APPROVED if approved else ApprovalState.DENIED
        return ApprovalAnswer(state, approval.code, approval.id)

    async def decide(self, code: str, /, *, approve: bool) -> str:
        """The owner's answer (a command or a reply); returns what to tell the owner."""
        state = ApprovalState.APPROVED if approve else ApprovalState.DENIED
        decided = await self._approvals.decide(code, state)
        if decided is None:
            known = await self._approvals.get_by_code(code)
            if known is None:
                return f"I have no approval request with the code {code[:16]}."
            return f"Approval {known.code} is already {known.state.value}; nothing changed."
        waiter = self._waiting.get(decided.code)
        if waiter is None or waiter.done():
            return f"Noted, but nothing waits for approval {decided.code} any more: nothing runs."
        waiter.set_result(approve)
        if approve:
            return f"Approved: {decided.tool} runs now ({decided.code})."
        return f"Denied: {decided.tool} will not run ({decided.code})."

    async def command_for_reply(self, item: InboxItem, /) -> Command | None:
        """`/approve_<code>` or `/deny_<code>` for a yes / no replying to an approval message."""
        verdict = _ANSWERS.get(item.text.strip().lower().rstrip(".!"))
        if item.reply_to is None or verdict is None:
            return None
        approval = await self._approvals.asked_in(item.chat_id, item.reply_to)
        return None if approval is None else Command(verdict, (approval.code,))

    # -- internals ---------------------------------------------------------------------------

    async def _post(self, request: ApprovalRequest) -> Approval:
        action = describe_call(request.tool, request.tool_input)
        source = request.source
        approval = await self._approvals.create(
            request.session_key,
            source.person_id,
            request.tool,
            action,
            self._timeout,
            caused_by=source.caused_by,
        )
        question = OutboundMessage(chat_id=self._owner_chat, text=self._question(approval, source))
        [first, *_] = await self._outbox.enqueue([question])
        await self._approvals.attach_message(approval.id, first.id)
        self._on_outbox()
        return approval

    def _question(self, approval: Approval, source: TaintSource) -> str:
        code = approval.code
        return (
            f"🔐 Approval needed ({code})\n\n"
            f"{source.where[:1].upper()}{source.where[1:]} wants to run {approval.tool}:\n"
            f"```\n{approval.action}\n```\n"
            f"It asks because of {source.caused_by}.\n\n"
            f"/approve_{code} lets it run once, /deny_{code} refuses it (or reply yes or no "
            f"to this message). No answer within {_duration(self._timeout)} means no."
        )

    async def _no_answer(self, approval: Approval) -> ApprovalAnswer:
        expired = ApprovalAnswer(ApprovalState.EXPIRED, approval.code, approval.id)
        try:
            if await self._approvals.expire(approval.id) is None:
                # Decided in the very last moment: that answer stands.
                latest = await self._approvals.get(approval.id)
                if latest is not None and latest.state is ApprovalState.APPROVED:
                    return ApprovalAnswer(ApprovalState.APPROVED, approval.code, approval.id)
            notice = (
                f"⌛ No answer to approval {approval.code} in time: {approval.tool} did not run."
            )
            await self._outbox.enqueue([OutboundMessage(chat_id=self._owner_chat, text=notice)])
        except JobsError:
            logger.exception("could not record that approval %s expired", approval.code)
            return expired
        self._on_outbox()
        return expired

    async def _end_quietly(self, approval: Approval) -> None:
        try:
            await self._approvals.expire(approval.id)
        except JobsError:
            logger.exception("could not end approval %s", approval.code)


def _duration(span: timedelta) -> str:
    seconds = span.total_seconds()
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"

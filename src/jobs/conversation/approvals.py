"""ApprovalBroker: asks the owner about a call a tainted turn may not make alone, and waits.

It is the Approver of sessions/taint.py. Each request is a row in `approvals` (a short code,
an expiry) and a message to the owner saying because of whom, where, and exactly what would
run, uncut (approval_notices builds it; a long action goes as an attached file, one past
MAX_ACTION_CHARS is denied without asking). The owner answers `/approve_<code>` or
`/deny_<code>`, or replies yes / no to that message; no answer before the deadline counts as
no. The PreToolUse guard that asked is waiting on a future the answer resolves, and writes
the outcome to the audit log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from jobs.conversation import approval_notices as notices
from jobs.conversation.approval_notices import MAX_ACTION_CHARS
from jobs.conversation.commands import Command
from jobs.errors import JobsError
from jobs.messages import OutboundMessage
from jobs.sessions.taint import ApprovalAnswer, ApprovalRequest
from jobs.storage import Approval, ApprovalRepo, ApprovalState, InboxItem, OutboxRepo, OutboxState

logger = logging.getLogger(__name__)

__all__ = ["MAX_ACTION_CHARS", "ApprovalBroker", "describe_call"]

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
    ) -> None:
        """`files`: a folder of Jobs' own (under DATA_DIR, where no session writes) for the
        actions too long for one message."""
        self._approvals = approvals
        self._outbox = outbox
        self._owner_chat = owner_chat
        self._timeout = timeout
        self._files = files
        self._waiting: dict[str, asyncio.Future[bool]] = {}

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
        action = describe_call(request.tool, request.tool_input)
        if len(action) > MAX_ACTION_CHARS:
            return await self._refuse_unasked(request, len(action))
        try:
            approval = await self._post(request, action)
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
            await self._drop_file(approval)
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
        # The tool's name in a code span: an MCP name's "__" would be Markdown emphasis.
        if approve:
            return f"Approved: `{decided.tool}` runs now ({decided.code})."
        return f"Denied: `{decided.tool}` will not run ({decided.code})."

    async def command_for_reply(self, item: InboxItem, /) -> Command | None:
        """`/approve_<code>` or `/deny_<code>` for a yes / no replying to an approval message."""
        verdict = _ANSWERS.get(item.text.strip().lower().rstrip(".!"))
        if item.reply_to is None or verdict is None:
            return None
        approval = await self._approvals.asked_in(item.chat_id, item.reply_to)
        return None if approval is None else Command(verdict, (approval.code,))

    # -- internals ---------------------------------------------------------------------------

    async def _post(self, request: ApprovalRequest, action: str) -> Approval:
        source = request.source
        approval = await self._approvals.create(
            request.session_key,
            source.person_id,
            request.tool,
            action,
            self._timeout,
            caused_by=source.caused_by,
        )
        question = await asyncio.to_thread(
            notices.question_message,
            self._owner_chat,
            approval,
            source,
            self._timeout,
            files=self._files,
        )
        [first, *_] = await self._outbox.enqueue([question])
        await self._approvals.attach_message(approval.id, first.id)
        return replace(approval, outbox_id=first.id)

    async def _no_answer(self, approval: Approval) -> ApprovalAnswer:
        expired = ApprovalAnswer(ApprovalState.EXPIRED, approval.code, approval.id)
        try:
            if await self._approvals.expire(approval.id) is None:
                # Decided in the very last moment: that answer stands.
                latest = await self._approvals.get(approval.id)
                if latest is not None and latest.state is ApprovalState.APPROVED:
                    return ApprovalAnswer(ApprovalState.APPROVED, approval.code, approval.id)
            notice = OutboundMessage.formatted(self._owner_chat, notices.expired(approval))
            await self._outbox.enqueue([notice])
        except JobsError:
            logger.exception("could not record that approval %s expired", approval.code)
            return expired
        return expired

    async def _refuse_unasked(self, request: ApprovalRequest, size: int) -> ApprovalAnswer:
        """Deny a call whose action is past MAX_ACTION_CHARS, and tell the owner so."""
        body = notices.refused_unasked(request, size)
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

"""TurnRunner: one routed message through a session turn, with typing, follow-ups and /stop.

Every row it touches ends in one final state with at most one reply: the reply and the final
state are written in one transaction (OutboxRepo.enqueue).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from jobs.conversation.commands import CommandContext, CommandTable, parse_command
from jobs.conversation.router import Route, RouteKind
from jobs.errors import RoleViolation, SessionError, TurnTimeout
from jobs.messages import Channel, OutboundMessage
from jobs.sessions.manager import SessionManager
from jobs.sessions.replies import Reply
from jobs.sessions.roles import EXTERNAL, OWNER, RoleSpec
from jobs.storage.inbox import InboxItem, InboxRepo, InboxState
from jobs.storage.outbox import OutboxRepo

logger = logging.getLogger(__name__)

MAX_INPUT_CHARS = 16_000
_TYPING_EVERY = 4.5  # Telegram shows "typing…" for about 5 s
ROLES: dict[RouteKind, RoleSpec] = {RouteKind.OWNER: OWNER, RouteKind.EXTERNAL: EXTERNAL}


def command_context(item: InboxItem, decision: Route) -> CommandContext:
    return CommandContext(
        person_id=item.sender_id,
        chat_id=item.chat_id,
        session_key=decision.session_key or "",
        is_owner=decision.kind is RouteKind.OWNER,
    )


class TurnRunner:
    """Runs turns for the dispatcher and writes their outcome to the outbox."""

    def __init__(
        self,
        *,
        sessions: SessionManager,
        inbox: InboxRepo,
        outbox: OutboxRepo,
        channel: Channel,
        commands: CommandTable,
        on_outbox: Callable[[], None],
        uploads_dir: Path,
    ) -> None:
        self._sessions = sessions
        self._inbox = inbox
        self._outbox = outbox
        self._channel = channel
        self._commands = commands
        self._on_outbox = on_outbox
        self._uploads = uploads_dir

    def delivered(self) -> None:
        """Something was written to the outbox: wake the sender."""
        self._on_outbox()

    async def run(
        self, item: InboxItem, decision: Route, *, more: asyncio.Event
    ) -> list[InboxItem]:
        """Answer `item`; returns rows claimed meanwhile that the turn could not take."""
        assert decision.session_key is not None
        await self._channel.acknowledge(item.chat_id, item.msg_id)
        key, role = decision.session_key, ROLES[decision.kind]
        turn = asyncio.create_task(
            self._sessions.run_turn(
                key, role, self.prompt(item, decision), person_id=item.sender_id
            )
        )
        typing = asyncio.create_task(self._keep_typing(item.chat_id))
        followed: list[InboxItem] = []
        leftovers: list[InboxItem] = []
        try:
            while not turn.done():
                waiter = asyncio.create_task(more.wait())
                await asyncio.wait({turn, waiter}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if more.is_set():
                    more.clear()
                    await self._take_followups(item, decision, followed, leftovers)
        finally:
            typing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await typing
            if not turn.done():
                turn.cancel()
        text, state = self._outcome(turn)
        await self._finish(item, text, state, followed)
        return leftovers

    async def _take_followups(
        self,
        item: InboxItem,
        decision: Route,
        followed: list[InboxItem],
        leftovers: list[InboxItem],
    ) -> None:
        key = decision.session_key or ""
        for extra in await self._inbox.claim_pending_for(item.chat_id):
            command = parse_command(extra.text)
            ctx = command_context(extra, decision)
            if command is not None and self._commands.is_immediate(command, is_owner=ctx.is_owner):
                answer = await self._commands.run(ctx, command)
                await self._finish(extra, answer, InboxState.ANSWERED, [])
            elif command is None and await self._sessions.follow_up(
                key, self.prompt(extra, decision)
            ):
                await self._channel.acknowledge(extra.chat_id, extra.msg_id)
                followed.append(extra)
            else:
                leftovers.append(extra)

    def _outcome(self, turn: asyncio.Task[Reply]) -> tuple[str, InboxState]:
        try:
            reply = turn.result()
        except TurnTimeout as exc:
            return (
                f"That took longer than {exc.seconds:.0f} s, so I stopped it. Please try "
                "again, perhaps asking for a smaller piece at once.",
                InboxState.FAILED,
            )
        except RoleViolation:
            logger.exception("Session refused: role violation")
            return (
                "Sorry, I can't answer right now: my setup offered this conversation tools "
                "it must not have, so I refused to start it.",
                InboxState.FAILED,
            )
        except SessionError as exc:
            logger.warning("Turn failed: %s", exc)
            return (
                f"Sorry, I couldn't reach the assistant just now ({exc}). Your message is "
                "saved; please try again in a minute.",
                InboxState.FAILED,
            )
        if reply.is_error:
            return (
                "Sorry, the AI service isn't answering right now. Please try again in a few "
                "minutes.",
                InboxState.FAILED,
            )
        if reply.interrupted:
            return (
                (reply.text + "\n\n(stopped)") if reply.text else "Stopped.",
                InboxState.ANSWERED,
            )
        return reply.text, InboxState.ANSWERED

    async def _finish(
        self, item: InboxItem, text: str, state: InboxState, followed: list[InboxItem]
    ) -> None:
        messages = [OutboundMessage(chat_id=item.chat_id, text=text, reply_to=item.msg_id)]
        await self._outbox.enqueue(
            messages if text.strip() else [],
            inbox_id=item.id,
            finish_inbox=state,
            also_finish=[f.id for f in followed],
        )
        self._on_outbox()

    async def _keep_typing(self, chat_id: int) -> None:
        while True:
            await self._channel.typing(chat_id)
            await asyncio.sleep(_TYPING_EVERY)

    def prompt(self, item: InboxItem, decision: Route) -> str:
        """What the session is told: the text, and what it cannot see (attachments, length)."""
        parts = []
        if item.media:
            name = item.media.get("file_name") or item.media.get("kind", "file")
            parts.append(
                f"[The message came with an attachment ({name}); files are not "
                "supported yet, so say so if it matters.]"
            )
        text = item.text
        if len(text) > MAX_INPUT_CHARS:
            saved = self._save_long_text(item) if decision.kind is RouteKind.OWNER else ""
            parts.append(
                f"[The message is {len(text)} characters long; only the first "
                f"{MAX_INPUT_CHARS} are shown here.{saved}]"
            )
            text = text[:MAX_INPUT_CHARS]
        parts.append(text)
        return "\n".join(p for p in parts if p)

    def _save_long_text(self, item: InboxItem) -> str:
        try:
            self._uploads.mkdir(parents=True, exist_ok=True)
            path = self._uploads / f"message-{item.chat_id}-{item.msg_id}.txt"
            path.write_text(item.text, encoding="utf-8")
        except OSError:
            return ""
        return f" The full text is saved at {path}."

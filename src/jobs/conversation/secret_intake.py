"""SecretIntake: `/secret NAME` and the value that follows it, taken from the owner's messages
before anything stores them, so a value never reaches the inbox, a prompt, a log or a reply.

The owner sends `/secret NAME`, then the value as the next message (within WAIT), or both at
once (`/secret NAME value`). The value goes to the SecretStore (masked from then on), the
message is deleted for both sides, and the owner is told the name only. A command sent while
a value is awaited ends the wait and is handled as usual. `/secrets` lists the names,
`/secrets delete NAME` forgets one. Anyone else's `/secret` is refused (and nothing kept).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final, Protocol

from jobs.clock import Clock
from jobs.conversation.commands import Command, CommandContext, CommandSpec, CommandTable
from jobs.errors import JobsError
from jobs.extensions.secret_store import SecretStore, check_name
from jobs.i18n.speakers import OwnerWords, english_words
from jobs.i18n.translator import Translator, gettext_noop
from jobs.messages import Body, InboundMessage, OutboundMessage
from jobs.richtext import RichText
from jobs.storage import OutboxRepo

logger = logging.getLogger(__name__)

WAIT: Final = timedelta(minutes=5)
_SECRET = re.compile(r"^/secret(?:@\w+)?(?:\s+(\S+)(?:\s+(.+))?)?\s*$", re.IGNORECASE | re.DOTALL)

Submit = Callable[[InboundMessage], Awaitable[bool]]


class MessageEraser(Protocol):
    """Deletes a message for both sides of a chat (telegram.erase.TelegramEraser)."""

    async def erase(self, chat_id: int, msg_id: int, /) -> bool:
        """True when it is gone; False (never raising) when it could not be deleted."""


class SecretIntake:
    """See the module docstring; `wrap` puts it in front of the dispatcher's submit."""

    def __init__(
        self,
        *,
        store: SecretStore,
        owner_id: int,
        outbox: OutboxRepo,
        clock: Clock,
        eraser: MessageEraser | None = None,
        words: OwnerWords | None = None,
    ) -> None:
        """`eraser`: None where there is nothing to delete (the terminal); `words`: the
        owner's language (default English)."""
        self._words = words or english_words
        self._store = store
        self._owner_id = owner_id
        self._outbox = outbox
        self._clock = clock
        self._eraser = eraser

    def wrap(self, submit: Submit, /) -> Submit:
        async def submit_unless_secret(message: InboundMessage) -> bool:
            if await self.take(message):
                return True
            return await submit(message)

        return submit_unless_secret

    async def take(self, message: InboundMessage, /) -> bool:
        """True when `message` was the owner's /secret or a secret's value (handled here, and
        never to be stored); False: an ordinary message."""
        if message.sender_id != self._owner_id:
            return False
        text = message.text.strip()
        awaited = self._store.awaited(message.chat_id, self._clock())
        if awaited is not None and not text.startswith("/") and message.media is None:
            await self._keep(message, awaited, text)
            return True
        if awaited is not None:
            self._store.stop_waiting()
        match = _SECRET.match(text)
        if match is None:
            return False
        await self._command(message, match.group(1), match.group(2))
        return True

    def add_commands(self, table: CommandTable, /) -> None:
        """/secret (what others get: a refusal) and /secrets (the owner's list, delete)."""

        async def secret(ctx: CommandContext, command: Command) -> Body:
            if not ctx.is_owner:
                return ctx.words.gettext(
                    "Only my owner can give me secrets. I kept nothing from that message."
                )
            return RichText().text(_usage(ctx.words)).build()

        async def secrets(ctx: CommandContext, command: Command) -> Body:
            return RichText().text(self._manage(command.args, ctx.words)).build()

        summary = gettext_noop("store a secret (the owner only)")
        table.add("secret", CommandSpec(secret, summary, usage=gettext_noop("NAME")))
        table.add(
            "secrets",
            CommandSpec(
                secrets,
                gettext_noop("list your stored secrets (names only)"),
                owner_only=True,
                usage=gettext_noop("[delete NAME]"),
            ),
        )

    # -- internals ---------------------------------------------------------------------------

    async def _command(self, message: InboundMessage, name: str | None, value: str | None) -> None:
        t = await self._words()
        if name is None:
            await self._tell(message.chat_id, _usage(t))
            return
        if value is not None:
            await self._keep(message, name, value)
            return
        try:
            self._store.expect(message.chat_id, check_name(name), self._clock() + WAIT)
        except JobsError as exc:
            await self._tell(message.chat_id, str(exc))
            return
        await self._tell(
            message.chat_id,
            t.gettext(
                "Send the value of {name} as your next message (within {minutes} min). I will "
                "store it, delete your message for both of us, and never show it to the model.",
                name=name,
                minutes=int(WAIT.total_seconds() // 60),
            ),
        )

    async def _keep(self, message: InboundMessage, name: str, value: str) -> None:
        """Store the value (masked from now on), delete the message, tell the owner."""
        t = await self._words()
        try:
            replaced = self._store.put(name, value)
            said = (
                t.gettext("🔐 Replaced {name}; its value stays hidden.", name=name)
                if replaced
                else t.gettext("🔐 Stored {name}; its value stays hidden.", name=name)
            )
        except JobsError as exc:
            said = t.gettext("🔐 {name} was not stored: {error}", name=name, error=exc)
        finally:
            self._store.stop_waiting()
        erased = self._eraser is None or await self._eraser.erase(message.chat_id, message.msg_id)
        if not erased:
            said += t.gettext(" I could not delete your message: please delete it yourself.")
        elif self._eraser is not None:
            said += t.gettext(" Your message is deleted for both of us.")
        if name in self._store:
            said += t.gettext(
                " MCP servers use it as ${{{name}}} in a stdio server's env; /secrets lists "
                "the names.",
                name=name,
            )
        await self._tell(message.chat_id, said)

    def _manage(self, args: tuple[str, ...], t: Translator) -> str:
        if len(args) == 2 and args[0].lower() == "delete":
            if self._store.remove(args[1]):
                return t.gettext("Deleted the secret {name}.", name=args[1])
            return t.gettext("There is no secret named {name}.", name=args[1][:64])
        if args:
            return t.gettext("Usage: /secrets, or /secrets delete NAME.")
        names = self._store.names()
        if not names:
            return t.gettext("No secrets stored. ") + _usage(t)
        return t.gettext("Stored secrets (values hidden): {names}", names=", ".join(names))

    async def _tell(self, chat_id: int, text: str) -> None:
        try:
            notice = RichText().text(text).build()  # never Markdown: names hold "_"
            await self._outbox.enqueue([OutboundMessage.formatted(chat_id, notice)])
        except JobsError:
            logger.exception("could not answer a /secret command")
            return


def _usage(t: Translator) -> str:
    return t.gettext(
        "Usage: /secret NAME, then send the value as your next message (or /secret NAME "
        "value). NAME is like GITHUB_TOKEN."
    )

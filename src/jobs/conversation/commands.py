"""Slash commands: parsing (pure) and a name → handler table, with help per role."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from jobs.i18n.translator import Translator, english
from jobs.messages import Body
from jobs.sessions.keys import SessionKey

_COMMAND = re.compile(r"^/([A-Za-z][A-Za-z0-9_]{0,31})(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)
_SHORT_ARG = re.compile(r"^([a-z]+)_(\w+)$")  # /allow_123 is /allow 123


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    args: tuple[str, ...] = ()


def parse_command(text: str) -> Command | None:
    """A command if the text starts with `/name`; None for ordinary text (and for `/ hello`)."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    name = match.group(1).lower()
    args = tuple((match.group(2) or "").split())
    short = _SHORT_ARG.match(name)
    if short and not args:
        name, args = short.group(1), (short.group(2),)
    return Command(name, args)


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who gave the command and in which conversation."""

    person_id: int
    chat_id: int
    session_key: SessionKey
    is_owner: bool
    words: Translator = field(default_factory=english)
    """The writer's language: every answer is said in it."""


Handler = Callable[[CommandContext, Command], Awaitable[Body]]
"""An answer is Markdown, or a notice built with jobs.richtext when it shows others' text."""


@dataclass(frozen=True, slots=True)
class CommandSpec:
    handler: Handler
    summary: str
    """Marked with `gettext_noop` where written; /help shows it in the reader's language."""
    owner_only: bool = False
    usage: str = ""
    """Its arguments, e.g. `gettext_noop("<code>")` (translated too; the name never is)."""
    immediate: bool = False
    """Runs at once even while the writer's turn is running (e.g. /stop)."""


@dataclass(slots=True)
class CommandTable:
    """The commands a chat understands; `/help` is answered from the table itself."""

    specs: dict[str, CommandSpec] = field(default_factory=dict)

    def add(self, name: str, spec: CommandSpec) -> None:
        self.specs[name] = spec

    def is_immediate(self, command: Command, *, is_owner: bool) -> bool:
        spec = self.specs.get(command.name)
        return spec is not None and spec.immediate and (is_owner or not spec.owner_only)

    async def run(self, ctx: CommandContext, command: Command) -> Body:
        if command.name in ("help", "start"):
            return self.help(is_owner=ctx.is_owner, t=ctx.words)
        spec = self.specs.get(command.name)
        if spec is None or (spec.owner_only and not ctx.is_owner):
            return ctx.words.gettext(
                "I don't know the command /{name}. Send /help to see what I understand.",
                name=command.name,
            )
        return await spec.handler(ctx, command)

    def help(self, *, is_owner: bool, t: Translator | None = None) -> str:
        """The commands this reader may give, in their language (names stay English)."""
        t = t or english()
        lines = [t.gettext("Commands:"), t.gettext("/help — this list")]
        for name, spec in sorted(self.specs.items()):
            if is_owner or not spec.owner_only:
                usage = f" {t.later(spec.usage)}" if spec.usage else ""
                lines.append(f"/{name}{usage} — {t.later(spec.summary)}")
        lines.append("")
        lines.append(t.gettext("Anything else you write goes to the assistant."))
        return "\n".join(lines)

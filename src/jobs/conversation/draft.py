"""Draft: the reply shown live while the model writes it — Telegram's draft of the message in
the chat, the first words DRAFT_FIRST after the model's first text, then at most every
DRAFT_EVERY seconds — until the finished reply, sent with the same random id, replaces it.
Nothing is stored or sent for good while it streams, so a crash mid-stream leaves nothing to
send twice: the restarted turn answers once.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Final

from jobs.messages import Channel

DRAFT_FIRST: Final = 0.3
"""Seconds from the first text to the first draft: a reply finished sooner (a short answer)
goes out without one, saving a request and a flicker; a longer one shows well within 1 s."""
DRAFT_EVERY: Final = 0.6
"""Seconds between updates (Telegram clients animate the draft in between)."""
DRAFT_CHARS: Final = 4000
"""A draft shows the end of a reply longer than one message."""
_RANDOM_ID_SPAN: Final = 2**63 - 1


class Draft:
    """A ReplyStream (sessions/stream.py) that shows the reply in `chat_id` while it grows."""

    def __init__(
        self,
        *,
        channel: Channel,
        chat_id: int,
        first: float = DRAFT_FIRST,
        every: float = DRAFT_EVERY,
    ) -> None:
        self.random_id = secrets.randbelow(_RANDOM_ID_SPAN) + 1
        """Also the finished reply's: the client puts it in the draft's place."""
        self._channel = channel
        self._chat_id = chat_id
        self._first = first
        self._every = every
        self._text = ""
        self._tool: str | None = None
        self._changed = asyncio.Event()
        self._shown = ""
        self.working = True
        """False once the chat refused a draft (then "typing…" is shown instead)."""

    @property
    def showing(self) -> bool:
        """A draft is on screen: "typing…" would replace it."""
        return self.working and bool(self._shown)

    # -- ReplyStream ------------------------------------------------------------------------

    def text(self, so_far: str, /) -> None:
        self._text, self._tool = so_far, None
        self._changed.set()

    def tool(self, name: str, /) -> None:
        self._tool = name
        self._changed.set()

    # -- showing it ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Show each change (cancel when the turn ends)."""
        await self._changed.wait()
        await asyncio.sleep(self._first)
        while self.working:
            await self._changed.wait()
            self._changed.clear()
            shown = self.view()
            if shown and shown != self._shown:
                self.working = await self._channel.draft(self._chat_id, self.random_id, shown)
                self._shown = shown if self.working else ""
            await asyncio.sleep(self._every)

    def view(self) -> str:
        """What the draft shows now: the reply so far (its end, when long), and the tool
        being used, briefly."""
        text = self._text
        if len(text) > DRAFT_CHARS:
            text = "…" + text[-(DRAFT_CHARS - 1) :]
        if self._tool is not None:
            doing = f"⏳ {_friendly(self._tool)}…"
            return f"{text}\n\n{doing}" if text else doing
        return text


def _friendly(tool: str) -> str:
    """`mcp__memory__memory_search` → "memory search"; built-ins as they are."""
    name = tool.rsplit("__", 1)[-1] if tool.startswith("mcp__") else tool
    return name.replace("_", " ")

"""Draft: the reply shown live while the model writes it, the first words DRAFT_FIRST after the
model's first text.

Where Telegram shows drafts (a chat with someone), it is the draft of the message in the chat,
updated at most every DRAFT_EVERY seconds, until the finished reply, sent with the same random
id, takes its place. Nothing is stored or sent for good while it streams, so a crash mid-stream
leaves nothing to send twice: the restarted turn answers once.

Where no draft shows (Saved Messages, the owner's own chat with Jobs in their account), the
reply streams into a message of its own (a Preview: sent once, edited at most every
PREVIEW_EVERY seconds) and the finished reply is an edit of that message. The preview is
recorded before it is sent, so a restarted turn edits it too: one message either way.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Final, Protocol

from jobs.messages import Channel

DRAFT_FIRST: Final = 0.3
"""Seconds from the first text to the first draft: a reply finished sooner (a short answer)
goes out without one, saving a request and a flicker; a longer one shows well within 1 s."""
DRAFT_EVERY: Final = 0.6
"""Seconds between draft updates (Telegram clients animate the draft in between)."""
PREVIEW_EVERY: Final = 1.5
"""Seconds between edits of a preview message: edits count against Telegram's flood limits."""
DRAFT_CHARS: Final = 4000
"""A draft shows the end of a reply longer than one message; a preview shows its start (the
message it is in becomes the reply's first part)."""
_RANDOM_ID_SPAN: Final = 2**63 - 1


class PreviewStore(Protocol):
    """Where a preview's message is remembered (OutboxRepo)."""

    async def preview_begin(self, inbox_id: int, chat_id: int, text: str, /) -> None: ...

    async def preview_sent(self, inbox_id: int, chat_id: int, msg_id: int, /) -> None: ...

    async def preview_of(self, inbox_id: int, /) -> int | None: ...


class Preview:
    """The reply to inbox row `inbox_id` streamed into a message of its own."""

    def __init__(
        self, *, channel: Channel, store: PreviewStore, inbox_id: int, chat_id: int
    ) -> None:
        self._channel = channel
        self._store = store
        self._inbox_id = inbox_id
        self._chat_id = chat_id
        self._looked = False
        self.msg_id: int | None = None
        """The preview's message, once sent (or found from before a restart)."""

    async def earlier(self) -> int | None:
        """The message an earlier run of this turn streamed into (before a restart), if any."""
        if not self._looked:
            self._looked = True
            self.msg_id = self.msg_id or await self._store.preview_of(self._inbox_id)
        return self.msg_id

    async def show(self, text: str, /) -> bool:
        """Send or update the preview; False once that fails (then "typing…" is shown)."""
        if await self.earlier() is None:
            await self._store.preview_begin(self._inbox_id, self._chat_id, text)
            sent = await self._channel.preview(self._chat_id, text)
            if sent is None:
                return False
            await self._store.preview_sent(self._inbox_id, self._chat_id, sent)
            self.msg_id = sent
            return True
        return await self._channel.preview(self._chat_id, text, msg_id=self.msg_id) is not None


class Draft:
    """A ReplyStream (sessions/stream.py) that shows the reply in `chat_id` while it grows:
    as a live draft, else in `preview` when given (where drafts do not show)."""

    def __init__(
        self,
        *,
        channel: Channel,
        chat_id: int,
        preview: Preview | None = None,
        first: float = DRAFT_FIRST,
        every: float = DRAFT_EVERY,
        preview_every: float = PREVIEW_EVERY,
    ) -> None:
        self.random_id = secrets.randbelow(_RANDOM_ID_SPAN) + 1
        """Also the finished reply's: the client puts it in the draft's place."""
        self.preview = preview
        self._channel = channel
        self._chat_id = chat_id
        self._first = first
        self._every = every
        self._preview_every = preview_every
        self._previewing = False
        self._text = ""
        self._tool: str | None = None
        self._changed = asyncio.Event()
        self._shown = ""
        self.working = True
        """False once neither a draft nor a preview could be shown ("typing…" instead)."""

    @property
    def showing(self) -> bool:
        """A draft is on screen: "typing…" would replace it."""
        return self.working and bool(self._shown) and not self._previewing

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
                self.working = await self._show(shown)
                self._shown = shown if self.working else ""
            await asyncio.sleep(self._preview_every if self._previewing else self._every)

    async def _show(self, shown: str) -> bool:
        if not self._previewing:
            if await self._channel.draft(self._chat_id, self.random_id, shown):
                return True
            if self.preview is None:
                return False
            self._previewing = True
            shown = self.view()
        return self.preview is not None and await self.preview.show(shown)

    def view(self) -> str:
        """What is shown now: the reply so far (a draft shows the end of a long one, a preview
        its start) and the tool being used, briefly."""
        text = self._text
        if len(text) > DRAFT_CHARS:
            text = text[:DRAFT_CHARS] + " …" if self._previewing else "…" + text[1 - DRAFT_CHARS :]
        if self._tool is not None:
            doing = f"⏳ {_friendly(self._tool)}…"
            return f"{text}\n\n{doing}" if text else doing
        return text


def _friendly(tool: str) -> str:
    """`mcp__memory__memory_search` → "memory search"; built-ins as they are."""
    name = tool.rsplit("__", 1)[-1] if tool.startswith("mcp__") else tool
    return name.replace("_", " ")

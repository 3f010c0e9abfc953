"""Draft: the reply shown while it is written — the first words `first` seconds after the
first text (none for a reply finished sooner), then at most every `every` seconds, the end
of a long reply, the tool in use; a chat that cannot show drafts gets "typing…" instead."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from jobs.conversation.draft import DRAFT_CHARS, Draft, Preview
from jobs.messages import OutboundMessage, SentRef


@dataclass
class Screen:
    shown: list[str] = field(default_factory=list)
    refuse: bool = False
    messages: dict[int, str] = field(default_factory=dict)
    """Preview messages by id (a chat where drafts do not show)."""

    async def send(self, message: OutboundMessage, /) -> SentRef:
        raise AssertionError("a draft is never sent")

    async def typing(self, chat_id: int, /) -> None:
        return None

    async def acknowledge(self, chat_id: int, msg_id: int, /) -> None:
        return None

    async def draft(self, chat_id: int, random_id: int, text: str, /) -> bool:
        if self.refuse:
            return False
        self.shown.append(text)
        return True

    async def preview(self, chat_id: int, text: str, /, *, msg_id: int | None = None) -> int | None:
        msg_id = msg_id or 100 + len(self.messages)
        self.messages[msg_id] = text
        return msg_id


@dataclass
class Store:
    """PreviewStore over a dict; `log` says what was recorded, in order."""

    rows: dict[int, tuple[str, int | None]] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    async def preview_begin(self, inbox_id: int, chat_id: int, text: str, /) -> None:
        self.rows[inbox_id] = (text, None)
        self.log.append(f"begin {text}")

    async def preview_sent(self, inbox_id: int, chat_id: int, msg_id: int, /) -> None:
        self.rows[inbox_id] = (self.rows[inbox_id][0], msg_id)
        self.log.append(f"sent {msg_id}")

    async def preview_of(self, inbox_id: int, /) -> int | None:
        return self.rows.get(inbox_id, ("", None))[1]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_the_first_words_show_soon_then_at_most_every_interval() -> None:
    screen = Screen()
    draft = Draft(channel=screen, chat_id=1, first=0.05, every=0.2)
    running = asyncio.create_task(draft.run())
    try:
        draft.text("Hel")
        await settle()
        assert screen.shown == []  # not yet: a reply done by now would need no draft
        draft.text("Hello")
        await asyncio.sleep(0.07)
        assert screen.shown == ["Hello"] and draft.showing
        draft.text("Hello, wor")
        draft.text("Hello, world")
        await settle()
        assert screen.shown == ["Hello"]  # within the interval: nothing new yet
        await asyncio.sleep(0.25)
        assert screen.shown == ["Hello", "Hello, world"]  # the newest, not every step
    finally:
        running.cancel()


async def test_a_tool_in_use_shows_briefly_and_a_long_reply_shows_its_end() -> None:
    draft = Draft(channel=Screen(), chat_id=1)
    draft.tool("mcp__memory__memory_search")
    assert draft.view() == "⏳ memory search…"
    draft.text("Found it.")
    assert draft.view() == "Found it."
    draft.tool("Read")
    assert draft.view() == "Found it.\n\n⏳ Read…"
    draft.text("x" * 10_000 + "END")
    assert len(draft.view()) == DRAFT_CHARS and draft.view().endswith("END")


async def test_a_chat_that_cannot_show_drafts_gets_typing_instead() -> None:
    draft = Draft(channel=Screen(refuse=True), chat_id=1, first=0, every=0.01)
    running = asyncio.create_task(draft.run())
    draft.text("Hello")
    await asyncio.wait_for(running, 1)  # it stops trying
    assert not draft.working and not draft.showing


async def test_a_reply_finished_before_the_first_draft_is_due_shows_none() -> None:
    screen = Screen()
    draft = Draft(channel=screen, chat_id=1, first=0.2)
    running = asyncio.create_task(draft.run())
    draft.text("Yes.")
    await asyncio.sleep(0.05)
    running.cancel()  # the turn ended: its reply goes out
    await asyncio.gather(running, return_exceptions=True)
    assert screen.shown == []


async def test_where_no_draft_shows_the_reply_streams_into_a_message_it_recorded_first() -> None:
    screen, store = Screen(refuse=True), Store()
    preview = Preview(channel=screen, store=store, inbox_id=7, chat_id=1)
    draft = Draft(channel=screen, chat_id=1, preview=preview, first=0, every=0, preview_every=0.05)
    running = asyncio.create_task(draft.run())
    try:
        draft.text("Hello")
        await asyncio.sleep(0.02)
        assert screen.messages == {100: "Hello"} and store.log == ["begin Hello", "sent 100"]
        draft.text("Hello, world. " + "x" * 5000)
        await asyncio.sleep(0.1)
        [(msg_id, shown)] = screen.messages.items()  # edited, never a second message
        assert msg_id == 100 and preview.msg_id == 100
        assert shown.startswith("Hello, world.") and len(shown) == DRAFT_CHARS + 2  # its start
        assert not draft.showing  # a preview does not hide "typing…"
    finally:
        running.cancel()


async def test_a_restarted_turn_finds_the_message_its_earlier_run_streamed_into() -> None:
    screen, store = Screen(refuse=True), Store(rows={7: ("Hel", 100)})
    screen.messages[100] = "Hel"
    preview = Preview(channel=screen, store=store, inbox_id=7, chat_id=1)
    assert await preview.earlier() == 100
    assert await preview.show("Hello again")
    assert screen.messages == {100: "Hello again"} and store.log == []

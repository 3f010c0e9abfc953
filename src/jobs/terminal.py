"""`jobs chat`'s channel: replies printed in the terminal (Markdown rendered as ANSI styles)."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from jobs.messages import OutboundMessage, SentRef
from jobs.richtext import Entity, FormattedText
from jobs.telegram.formatting import render_markdown

TERMINAL_CHAT_ID = 0
"""The terminal's chat: no Telegram chat has id 0, so its rows never mix with Telegram's."""


_ANSI = {
    "bold": "1",
    "italic": "3",
    "underline": "4",
    "strikethrough": "9",
    "code": "36",
    "pre": "36",
    "blockquote": "2",
}
_QUOTE_BAR = "│ "


def _utf16_to_index(text: str) -> list[int]:
    """UTF-16 offset → str index, for every offset an entity may start or end at."""
    index = [0]
    for i, ch in enumerate(text):
        index.extend([i + 1] * (2 if ord(ch) > 0xFFFF else 1))
    return index


def render_for_terminal(message: str | FormattedText, *, color: bool) -> str:
    """A message as the terminal shows it: a reply's Markdown (a str) rendered as for Telegram
    (no stray `**` or escapes), a notice's entities as built; links followed by their address,
    quoted lines marked "│ ", and with `color` the styles as ANSI codes."""
    formatted = render_markdown(message) if isinstance(message, str) else message
    text, entities = formatted.text, formatted.entities
    at = _utf16_to_index(text)
    inserts = _inserts(text, entities, at)
    marks: set[int] = set()
    for entity in entities if color else ():
        if entity.kind in _ANSI:
            marks.add(at[min(entity.offset, len(at) - 1)])
            marks.add(at[min(entity.offset + entity.length, len(at) - 1)])
    if not inserts and not marks:
        return text
    out: list[str] = []
    for i in range(len(text) + 1):
        out.extend(inserts.get(i, []))
        if i in marks:  # re-state every style open here: nesting without a style stack
            codes = [
                _ANSI[e.kind]
                for e in entities
                if e.kind in _ANSI
                and at[min(e.offset, len(at) - 1)] <= i < at[min(e.offset + e.length, len(at) - 1)]
            ]
            out.append("\x1b[0m" + (f"\x1b[{';'.join(codes)}m" if codes else ""))
        if i < len(text):
            out.append(text[i])
    return "".join(out)


def _inserts(text: str, entities: tuple[Entity, ...], at: list[int]) -> dict[int, list[str]]:
    """What goes before each index: a link's address after it, a bar before each quoted line
    (a quote must look different from Jobs' own words without colour too)."""
    inserts: dict[int, list[str]] = {}
    for entity in entities:
        start = at[min(entity.offset, len(at) - 1)]
        end = at[min(entity.offset + entity.length, len(at) - 1)]
        if entity.kind == "text_url" and entity.url:
            inserts.setdefault(end, []).append(f" <{entity.url}>")
        if entity.kind == "blockquote":
            for i in range(start, end):
                if i == start or text[i - 1] == "\n":
                    inserts.setdefault(i, []).append(_QUOTE_BAR)
    return inserts


class TerminalChannel:
    """Channel that prints replies; `jobs chat` drains only rows for TERMINAL_CHAT_ID."""

    def __init__(self, *, out: TextIO | None = None, color: bool | None = None) -> None:
        """`out`: where replies go (default: sys.stdout as it is at each reply, so a prompt
        that patches it keeps them above itself); `color`: ANSI styles, by default when
        stdout is a terminal."""
        self._out = out
        self._color = (out or sys.stdout).isatty() if color is None else color
        self._sent = 0
        self.replied = asyncio.Event()

    async def send(self, message: OutboundMessage, /) -> SentRef:
        label = "" if message.kind == "text" else f"[{message.kind}: {message.file_path}]\n"
        entities = message.entities
        body = message.text if entities is None else FormattedText(message.text, entities)
        text = render_for_terminal(body, color=self._color)
        print(f"jobs> {label}{text}\n", file=self._out or sys.stdout, flush=True)
        self._sent += 1
        self.replied.set()
        return SentRef(chat_id=message.chat_id, msg_id=self._sent)

    async def typing(self, chat_id: int, /) -> None:
        return None

    async def draft(self, chat_id: int, random_id: int, text: str, /) -> bool:
        return False  # the terminal shows the finished reply only

    async def preview(self, chat_id: int, text: str, /, *, msg_id: int | None = None) -> int | None:
        return None

    async def acknowledge(self, chat_id: int, msg_id: int, /) -> None:
        return None

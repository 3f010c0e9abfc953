"""An outbox message as Telegram shows it: its text and entities (a reply's Markdown rendered,
or a notice's own entities as built), secrets masked, cut into message chunks or a caption."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from jobs.messages import OutboundMessage
from jobs.richtext import FormattedText, map_text, utf16_len
from jobs.telegram.formatting import CAPTION_LIMIT, MESSAGE_LIMIT, render_markdown, split_message


def body_of(message: OutboundMessage, /, mask: Callable[[str], str] = str) -> FormattedText:
    """The whole text with its entities; `mask` hides secrets without moving any formatting."""
    if message.entities is None:
        return render_markdown(mask(message.text))
    return map_text(FormattedText(message.text, message.entities), mask)


def text_chunks(body: FormattedText, /) -> list[FormattedText]:
    """Message-sized chunks (≤ 4096 UTF-16 units each), entities clipped to each."""
    return split_message(body, MESSAGE_LIMIT)


def caption_parts(body: FormattedText, /) -> tuple[FormattedText, list[FormattedText]]:
    """The first ≤1024 units as the caption, the rest as ≤4096 text chunks."""
    parts = split_message(body, CAPTION_LIMIT)
    if len(parts) <= 1:
        return (parts[0] if parts else FormattedText("")), []
    end = body.text.find(parts[0].text) + len(parts[0].text)
    lo = utf16_len(body.text[:end])
    tail = [
        replace(e, offset=max(e.offset, lo) - lo, length=e.offset + e.length - max(e.offset, lo))
        for e in body.entities
        if e.offset + e.length > lo
    ]
    return parts[0], text_chunks(FormattedText(body.text[end:], tuple(tail)))

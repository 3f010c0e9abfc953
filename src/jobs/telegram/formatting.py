"""Claude's Markdown → Telegram plain text + UTF-16 entities, and those entities as Telethon's."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from jobs.richtext import Entity, EntityKind, FormattedText, utf16_len
from jobs.telegram.inline_markdown import TextBuilder, render_inline
from jobs.telegram.splitting import CAPTION_LIMIT, MESSAGE_LIMIT, split_message, split_plain

__all__ = [
    "CAPTION_LIMIT",
    "MESSAGE_LIMIT",
    "Entity",
    "EntityKind",
    "FormattedText",
    "render_markdown",
    "split_message",
    "split_plain",
    "to_telethon",
    "utf16_len",
]

_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})[ \t]*([^\s`]*)[^`]*$")
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+(.*)$")
_QUOTE = re.compile(r"^(?: {0,3}> ?)+")  # nested quotes flatten: Telegram cannot nest them
_RULE_TEXT = "──────────"


def render_markdown(md: str, /) -> FormattedText:
    """Markdown → plain text + entities. Never raises; markers it cannot pair stay as text."""
    lines = md.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    out = TextBuilder()
    _render_blocks(out, lines)
    return out.build()


def to_telethon(entities: Iterable[Entity], /) -> list[Any]:
    """Entities as Telethon `MessageEntity*` objects, for `formatting_entities=`."""
    from telethon.tl import types as tl  # lazily: the pure core stays Telethon-free

    plain = {
        "bold": tl.MessageEntityBold,
        "italic": tl.MessageEntityItalic,
        "code": tl.MessageEntityCode,
        "strikethrough": tl.MessageEntityStrike,
        "blockquote": tl.MessageEntityBlockquote,
        "underline": tl.MessageEntityUnderline,
    }
    out: list[Any] = []
    for e in entities:
        if e.kind == "pre":
            out.append(tl.MessageEntityPre(e.offset, e.length, e.language or ""))
        elif e.kind == "text_url":
            out.append(tl.MessageEntityTextUrl(e.offset, e.length, e.url or ""))
        else:
            out.append(plain[e.kind](e.offset, e.length))
    return out


def _render_blocks(out: TextBuilder, lines: list[str]) -> None:
    i = 0
    while i < len(lines):
        if i:
            out.append("\n")
        i = _render_block(out, lines, i)


def _render_block(out: TextBuilder, lines: list[str], i: int) -> int:
    """Render the block that starts at line `i`; return the index of the line after it."""
    line = lines[i]
    if fence := _FENCE.match(line):
        return _render_fence(out, lines, i, fence)
    if _QUOTE.match(line):
        return _render_quote(out, lines, i)
    if heading := _HEADING.match(line):
        start = out.offset
        render_inline(out, heading[1] or "")
        out.entity("bold", start)
    elif _RULE.match(line):
        out.append(_RULE_TEXT)
    elif bullet := _BULLET.match(line):
        out.append(f"{bullet[1]}• ")
        render_inline(out, bullet[2])
    elif line.strip():
        end = i + 1
        while end < len(lines) and _continues_paragraph(lines[end]):
            end += 1
        render_inline(out, "\n".join(lines[i:end]))
        return end
    return i + 1


def _continues_paragraph(line: str) -> bool:
    starts_block = (_FENCE, _QUOTE, _HEADING, _RULE, _BULLET)
    return bool(line.strip()) and not any(p.match(line) for p in starts_block)


def _render_fence(out: TextBuilder, lines: list[str], i: int, fence: re.Match[str]) -> int:
    """A fenced code block; unclosed, it runs to the end (as in CommonMark)."""
    indent, marker, language = len(fence[1]), fence[2], fence[3]
    closing = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}[ \t]*$")
    end = i + 1
    while end < len(lines) and not closing.match(lines[end]):
        end += 1
    body = [line[min(indent, len(line) - len(line.lstrip(" "))) :] for line in lines[i + 1 : end]]
    start = out.offset
    out.append("\n".join(body))
    out.entity("pre", start, language=language or None)
    return end + 1


def _render_quote(out: TextBuilder, lines: list[str], i: int) -> int:
    end = i
    inner: list[str] = []
    while end < len(lines) and (marker := _QUOTE.match(lines[end])):
        inner.append(lines[end][marker.end() :])
        end += 1
    quoted = TextBuilder()
    _render_blocks(quoted, inner)
    start = out.offset
    out.extend(quoted.build(), drop="blockquote")
    out.entity("blockquote", start)
    return end

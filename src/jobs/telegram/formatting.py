"""Claude's Markdown → Telegram plain text + UTF-16 entities, and those entities as Telethon's."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Final

from jobs.richtext import Entity, EntityKind, FormattedText, utf16_len, visible
from jobs.telegram.inline_markdown import TextBuilder, render_inline
from jobs.telegram.splitting import CAPTION_LIMIT, MESSAGE_LIMIT, split_message, split_plain

__all__ = [
    "CAPTION_LIMIT",
    "MESSAGE_LIMIT",
    "Entity",
    "EntityKind",
    "FormattedText",
    "render_guarded",
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


GUARDED_KINDS: Final = frozenset({"code", "pre"})
"""What a reply that may echo someone else's text keeps: monospace cannot hide a link or pass
for one of Jobs' own notices."""


def render_guarded(md: str, /) -> FormattedText:
    """Markdown from a session that read someone else's text → its text with every link
    spelled out ("label (https://…)"), invisible characters shown (⟦U+202E⟧), and only code
    and pre kept: no link, bold frame or quote the other person wrote becomes formatting."""
    rendered = render_markdown(visible(md))
    text, entities = rendered.text, list(rendered.entities)
    links = sorted((e for e in entities if e.kind == "text_url"), key=lambda e: -e.offset)
    for link in links:
        shown = f" ({link.url})"
        if (link.url or "") in _slice(text, link.offset, link.length):
            continue  # the label already says where it goes
        end = link.offset + link.length
        at = _py_index(text, end)
        text = text[:at] + shown + text[at:]
        entities = [_shifted(e, end, utf16_len(shown)) for e in entities]
    kept = tuple(e for e in entities if e.kind in GUARDED_KINDS)
    return FormattedText(text, kept)


def _py_index(text: str, units: int) -> int:
    """The str index at a UTF-16 offset."""
    count = 0
    for index, ch in enumerate(text):
        if count >= units:
            return index
        count += 2 if ord(ch) > 0xFFFF else 1
    return len(text)


def _slice(text: str, offset: int, length: int) -> str:
    return text[_py_index(text, offset) : _py_index(text, offset + length)]


def _shifted(entity: Entity, at: int, by: int) -> Entity:
    """`entity` after `by` units were inserted at offset `at`."""
    if entity.offset >= at:
        return replace(entity, offset=entity.offset + by)
    if entity.offset + entity.length > at:
        return replace(entity, length=entity.length + by)
    return entity

"""Text other people control (names, usernames, message previews), bounded for the owner's
messages: for a notice built with jobs.richtext (which shows it literally, invisible characters
spelled out) `one_line` and `preview`; for a Markdown answer `plain_name` (escaped)."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

MAX_NAME: Final = 64
_INVISIBLE: Final = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
"""Controls (NUL, newlines), format characters (RTL/LTR overrides, zero-width), unassigned."""
_MARKDOWN = re.compile(r"([!-/:-@\[-`{-~])")
"""ASCII punctuation: each may start Markdown, and each may be escaped with a backslash."""
_SPACES = re.compile(r"\s+")


def _visible(text: str, *, keep_lines: bool) -> str:
    kept = []
    for ch in text:
        if keep_lines and ch == "\n":
            kept.append(ch)
        elif unicodedata.category(ch) in _INVISIBLE:
            kept.append(" ")
        else:
            kept.append(ch)
    return "".join(kept)


def one_line(text: str | None, /, *, limit: int = MAX_NAME) -> str:
    """A name or title on one line, cut to `limit` (for RichText.plain, which shows it)."""
    line = _SPACES.sub(" ", text or "").strip()
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def preview(text: str, /, *, limit: int) -> str:
    """The start of someone's message, cut to `limit` characters (for RichText.quote)."""
    shown = text.strip()
    return shown if len(shown) <= limit else shown[:limit] + "…"


def plain_name(name: str | None, /, *, limit: int = MAX_NAME) -> str:
    """A display name or username as literal Markdown text on one line ("" when nothing is
    left): invisible characters dropped, Markdown escaped."""
    text = one_line(_visible(name or "", keep_lines=False), limit=limit)
    return _MARKDOWN.sub(r"\\\1", text)

"""Text other people control (names, usernames, message previews) made safe to quote in the
owner's messages: no control or invisible characters, no Markdown of theirs, bounded length."""

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


def plain_name(name: str | None, /, *, limit: int = MAX_NAME) -> str:
    """A display name or username as literal text on one line ("" when nothing is left)."""
    text = _SPACES.sub(" ", _visible(name or "", keep_lines=False)).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return _MARKDOWN.sub(r"\\\1", text)


def quoted(text: str, /, *, limit: int) -> str:
    """A message of someone else's, cut to `limit` characters, shown literally (lines kept)."""
    shown = _visible(text, keep_lines=True).strip()
    if len(shown) > limit:
        shown = shown[:limit] + "…"
    return _MARKDOWN.sub(r"\\\1", shown)

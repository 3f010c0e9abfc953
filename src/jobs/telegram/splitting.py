"""Splitting formatted text (jobs.richtext) under Telegram's size limits, entities kept valid."""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from dataclasses import replace
from itertools import accumulate

from jobs.messages import CAPTION_LIMIT, MESSAGE_LIMIT
from jobs.richtext import FormattedText

__all__ = ["CAPTION_LIMIT", "MESSAGE_LIMIT", "split_message", "split_plain"]

# Cut points are searched only in the last three quarters of the window, so a stray early break
# does not leave a tiny chunk followed by a hard cut.
_MIN_FILL = 4
# Characters that glue to the previous one (combining marks, ZWJ sequences, variation selectors,
# skin tones): a hard cut is moved back before them, at most this far.
_MAX_GLUE_BACKOFF = 16


def split_plain(text: str, /, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split unformatted text like `split_message`: chunks of at most `limit` UTF-16 units."""
    return [chunk.text for chunk in split_message(FormattedText(text), limit)]


def split_message(ft: FormattedText, /, limit: int = MESSAGE_LIMIT) -> list[FormattedText]:
    """Split into self-contained chunks of at most `limit` UTF-16 units, none empty.

    Cuts prefer a blank line, then a line end, then a space, then any character boundary (never
    inside a surrogate pair). Entities are clipped and re-based per chunk, so a code block cut
    in two is a `pre` in both halves. Whitespace at the cuts and at both ends is dropped, except
    the indentation of a code line that starts a chunk.
    """
    if limit < 2:
        raise ValueError(f"limit must be at least 2 UTF-16 units, not {limit}")
    text = ft.text
    units = list(accumulate((2 if ord(ch) > 0xFFFF else 1 for ch in text), initial=0))
    pre = [(e.offset, e.offset + e.length) for e in ft.entities if e.kind == "pre"]
    chunks: list[FormattedText] = []
    start = _skip_blank(text, 0, units, pre)
    while start < len(text):
        end = _cut(text, start, units, limit)
        stop = end
        while stop > start and text[stop - 1].isspace():
            stop -= 1
        if stop > start:
            chunks.append(_slice(ft, units, start, stop))
        start = _skip_blank(text, end, units, pre)
    return chunks


def _skip_blank(text: str, start: int, units: list[int], pre: list[tuple[int, int]]) -> int:
    """First index a chunk may start at: past whitespace, but not past a code line's indent."""
    i = start
    while i < len(text) and text[i].isspace():
        i += 1
    if i == len(text):
        return i
    newline = text.rfind("\n", start, i)
    if newline >= 0:
        line_start = newline + 1
    elif start == 0 or text[start - 1] == "\n":
        line_start = start
    else:  # a cut inside a line: its spaces are not indentation
        return i
    if line_start < i and any(a <= units[line_start] < b for a, b in pre):
        return line_start
    return i


def _cut(text: str, start: int, units: list[int], limit: int) -> int:
    """End (exclusive, in code points) of the chunk that starts at `start`."""
    if units[-1] - units[start] <= limit:
        return len(text)
    # Largest index whose prefix still fits; a code point is at most 2 units, so it is > start.
    max_end = bisect_right(units, units[start] + limit) - 1
    floor = start + (max_end - start) // _MIN_FILL
    for sep in ("\n\n", "\n", " "):
        at = text.rfind(sep, floor, max_end)
        if at >= 0:
            return at + len(sep)
    return _hard_cut(text, start, max_end)


def _hard_cut(text: str, start: int, end: int) -> int:
    """`end`, moved back (a little) so a grapheme such as a ZWJ emoji stays whole."""
    cut = end
    for _ in range(_MAX_GLUE_BACKOFF):
        if cut <= start + 1 or not _glued(text, cut):
            break
        cut -= 1
    return end if _glued(text, cut) else cut


def _glued(text: str, i: int) -> bool:
    """Whether a cut before `text[i]` would split a visible character."""
    ch, prev = text[i], text[i - 1]
    return (
        bool(unicodedata.combining(ch))
        or ch in "\u200d\ufe0e\ufe0f"
        or prev == "\u200d"
        or 0x1F3FB <= ord(ch) <= 0x1F3FF
    )


def _slice(ft: FormattedText, units: list[int], start: int, stop: int) -> FormattedText:
    """`ft.text[start:stop]` with the entities that overlap it, clipped and re-based."""
    lo, hi = units[start], units[stop]
    entities = []
    for e in ft.entities:
        a, b = max(e.offset, lo), min(e.offset + e.length, hi)
        if b > a:
            entities.append(replace(e, offset=a - lo, length=b - a))
    return FormattedText(ft.text[start:stop], tuple(entities))

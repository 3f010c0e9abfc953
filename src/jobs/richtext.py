"""Formatted text (plain text + UTF-16 entities) and RichText, the builder of Jobs' own notices.

A notice that shows the owner what someone else wrote is built here, never through the
Markdown parser: Jobs' own words may be bold, other people's text is plain (inline) or a
blockquote with no entities of its own, and an action is a `pre` entity made directly. So no
`[/approve_x](https://evil)` link, fake bold frame or closing ``` of theirs becomes formatting.
Invisible and direction-changing characters in their text are spelled out (⟦U+202E⟧), so they
cannot reorder or hide what the owner reads.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal, Self, cast, get_args

EntityKind = Literal[
    "bold", "italic", "code", "pre", "text_url", "strikethrough", "blockquote", "underline"
]
_KINDS = frozenset(get_args(EntityKind))

# Categories shown as ⟦U+XXXX⟧ in other people's text: format (bidi overrides and isolates,
# zero-width characters, tags), controls, line/paragraph separators, surrogates, private use.
_HIDDEN_CATEGORIES = frozenset({"Cf", "Cc", "Zl", "Zp", "Cs", "Co"})
# Letters and marks that render as nothing at all (Hangul fillers, grapheme joiner, blank braille).
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u034f\u2800")
_KEEP = frozenset("\n\t")
_ZWJ = "\u200d"
_LINE_BREAK = " ⏎ "


@dataclass(frozen=True, slots=True)
class Entity:
    """One formatting span; `offset` and `length` count UTF-16 code units, as Telegram does."""

    kind: EntityKind
    offset: int
    length: int
    url: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class FormattedText:
    """Plain text and its entities, ready to send (rendered ones sort by offset, outer first)."""

    text: str
    entities: tuple[Entity, ...] = ()


def utf16_len(s: str, /) -> int:
    """Length of `s` in UTF-16 code units (astral characters such as most emoji count 2)."""
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def visible(text: str, /) -> str:
    """`text` with every invisible or direction-changing character spelled out as ⟦U+XXXX⟧.

    Line breaks and tabs stay. A zero-width joiner between two pictographs (👩‍💻, 🏳️‍🌈) stays
    too: it joins emoji and can neither reorder nor hide text.
    """
    out: list[str] = []
    for i, ch in enumerate(text):
        if _hidden(ch) and not (ch == _ZWJ and _joins_emoji(text, i)):
            out.append(f"⟦U+{ord(ch):04X}⟧")
        else:
            out.append(ch)
    return "".join(out)


def _hidden(ch: str) -> bool:
    if ch in _KEEP:
        return False
    return ch in _BLANK or unicodedata.category(ch) in _HIDDEN_CATEGORIES


def _joins_emoji(text: str, i: int) -> bool:
    if i == 0 or i + 1 >= len(text):
        return False
    before, after = text[i - 1], text[i + 1]
    pictograph_before = before == "\ufe0f" or unicodedata.category(before) in ("So", "Sk")
    return pictograph_before and unicodedata.category(after) == "So"


class RichText:
    """A notice built piece by piece; `build()` gives its text and entities.

    `text` is Jobs' own words (optionally bold). `plain` is someone else's inline value (a
    name, a title): one line, no entities. `lines` is text that may carry others' words, as
    plain lines. `quote` is someone else's text as a blockquote with no entities inside. `pre`
    is an exact action, preformatted. Pieces are joined as given: put line breaks in `text`.
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._entities: list[Entity] = []
        self._offset = 0

    def text(self, words: str, /, *, bold: bool = False) -> Self:
        """Jobs' own words, as written (never parsed as Markdown)."""
        return self._add(words, "bold" if bold else None)

    def plain(self, value: str, /) -> Self:
        """Another person's inline value: invisible characters spelled out, line breaks as ⏎."""
        one_line = value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", _LINE_BREAK)
        return self._add(visible(one_line.replace("\t", " ")), None)

    def lines(self, text: str, /) -> Self:
        """Text that may carry others' words (a trigger's result): plain lines, no entities."""
        return self._add(visible(text.replace("\r\n", "\n")), None)

    def quote(self, untrusted: str, /) -> Self:
        """Another person's text, as plain text inside one blockquote (blank ends dropped)."""
        body = untrusted.replace("\r\n", "\n").strip()
        return self._add(visible(body), "blockquote")

    def pre(self, exact: str, /, *, language: str | None = None) -> Self:
        """An exact action, preformatted and uncut (only invisible characters spelled out)."""
        return self._add(visible(exact), "pre", language=language)

    def build(self) -> FormattedText:
        entities = sorted(self._entities, key=lambda e: (e.offset, -e.length))
        return FormattedText("".join(self._parts), tuple(entities))

    def _add(self, piece: str, kind: EntityKind | None, *, language: str | None = None) -> Self:
        size = utf16_len(piece)
        if kind is not None and size:
            self._entities.append(Entity(kind, self._offset, size, language=language))
        self._parts.append(piece)
        self._offset += size
        return self


def map_text(ft: FormattedText, change: Callable[[str], str], /) -> FormattedText:
    """`change` applied to each stretch between entity boundaries, the entities moved with it
    (masking secrets in a notice without breaking its formatting).

    When `change` would still alter the result as a whole (a match across a boundary), the
    entities are dropped and the whole text is changed: what `change` hides stays hidden.
    """
    bounds = sorted({0, utf16_len(ft.text)} | _edges(ft.entities))
    units = _unit_index(ft.text)
    if not all(b in units for b in bounds):  # entities off the text: it goes out plain
        return FormattedText(change(ft.text))
    moved = {bounds[0]: 0}
    pieces: list[str] = []
    for lo, hi in pairwise(bounds):
        pieces.append(change(ft.text[units[lo] : units[hi]]))
        moved[hi] = moved[lo] + utf16_len(pieces[-1])
    text = "".join(pieces)
    if change(text) != text:
        return FormattedText(change(ft.text))
    entities = []
    for e in ft.entities:
        start, end = moved[e.offset], moved[e.offset + e.length]
        if end > start:
            entities.append(Entity(e.kind, start, end - start, e.url, e.language))
    return FormattedText(text, tuple(entities))


def _edges(entities: tuple[Entity, ...]) -> set[int]:
    return {e.offset for e in entities} | {e.offset + e.length for e in entities}


def _unit_index(text: str) -> dict[int, int]:
    """UTF-16 offset → str index, for each code point boundary."""
    index, unit = {0: 0}, 0
    for i, ch in enumerate(text, start=1):
        unit += 2 if ord(ch) > 0xFFFF else 1
        index[unit] = i
    return index


def entities_to_json(entities: tuple[Entity, ...], /) -> str:
    """The stored form of entities (the outbox keeps a notice's formatting with its text)."""
    rows = [
        {k: v for k, v in (("url", e.url), ("language", e.language)) if v is not None}
        | {"kind": e.kind, "offset": e.offset, "length": e.length}
        for e in entities
    ]
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


def entities_from_json(stored: str, /) -> tuple[Entity, ...]:
    """Entities back from `entities_to_json`; a kind this version does not know is dropped."""
    entities = []
    for row in json.loads(stored):
        if row.get("kind") in _KINDS:
            kind = cast(EntityKind, row["kind"])
            url, language = row.get("url"), row.get("language")
            entities.append(Entity(kind, int(row["offset"]), int(row["length"]), url, language))
    return tuple(entities)

"""Inline Markdown (emphasis, code spans, links) written into text + UTF-16 entities.

Emphasis pairs by CommonMark's delimiter-run algorithm, so unpaired markers stay as text.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass, field, replace

from jobs.richtext import Entity, EntityKind, FormattedText, utf16_len

_SPECIAL = re.compile(r"[\\`*_~\[]")
_TARGET = re.compile(
    r"\([ \t]*<?([^\s()<>]*(?:\([^\s()]*\)[^\s()<>]*)*)>?(?:[ \t]+\"[^\"]*\")?[ \t]*\)"
)
# Only URLs Telegram accepts in a text_url become links; any other [label](target) stays text.
_URL = re.compile(r"^(?:https?|ftp|tg|ton)://\S+$", re.IGNORECASE)
_ESCAPABLE = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


class TextBuilder:
    """Text appended piece by piece, with entities at UTF-16 offsets into it."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._entities: list[Entity] = []
        self.offset = 0

    def append(self, text: str) -> None:
        self._parts.append(text)
        self.offset += utf16_len(text)

    def entity(
        self, kind: EntityKind, start: int, *, url: str | None = None, language: str | None = None
    ) -> None:
        """Mark `start` up to here as `kind`; an empty span marks nothing."""
        if self.offset > start:
            self._entities.append(Entity(kind, start, self.offset - start, url, language))

    def extend(self, ft: FormattedText, *, drop: EntityKind) -> None:
        base = self.offset
        self.append(ft.text)
        self._entities += [
            replace(e, offset=e.offset + base) for e in ft.entities if e.kind != drop
        ]

    def build(self) -> FormattedText:
        entities = sorted(self._entities, key=lambda e: (e.offset, -e.length))
        return FormattedText("".join(self._parts), tuple(entities))


@dataclass(slots=True)
class _Span:
    kind: EntityKind
    start: int = 0


@dataclass(slots=True, eq=False)
class _Delim:
    """A run of `*`, `_` or `~~`; `count` is what pairing has not used (left as text)."""

    char: str
    length: int
    can_open: bool
    can_close: bool
    count: int = 0
    opens: list[_Span] = field(default_factory=list)
    closes: list[_Span] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Code:
    text: str


@dataclass(frozen=True, slots=True)
class _Link:
    children: list[_Token]
    url: str


_Token = str | _Code | _Link | _Delim


def render_inline(out: TextBuilder, text: str, /) -> None:
    """Append `text` with its inline Markdown turned into entities."""
    _emit(out, _pair(_Scanner(text, links=True).tokens()))


def _emit(out: TextBuilder, tokens: list[_Token]) -> None:
    for tok in tokens:
        if isinstance(tok, str):
            out.append(tok)
        elif isinstance(tok, _Code):
            start = out.offset
            out.append(tok.text)
            out.entity("code", start)
        elif isinstance(tok, _Link):
            start = out.offset
            _emit(out, tok.children)
            out.entity("text_url", start, url=tok.url)
        else:  # a closer's pairs end before its leftover text, an opener's start after it
            for span in tok.closes:
                out.entity(span.kind, span.start)
            out.append(tok.char * tok.count)
            for span in tok.opens:
                span.start = out.offset


class _Scanner:
    """Splits one paragraph into text, code spans, links and delimiter runs."""

    def __init__(self, text: str, *, links: bool) -> None:
        self._s = text
        self._links = links
        self._ticks: dict[int, list[int]] = {}
        for run in re.finditer(r"`+", text):
            self._ticks.setdefault(len(run[0]), []).append(run.start())
        self._brackets = _matching_brackets(text) if links else {}

    def tokens(self) -> list[_Token]:
        s, i = self._s, 0
        tokens: list[_Token] = []
        while i < len(s):
            special = _SPECIAL.search(s, i)
            nxt = special.start() if special else len(s)
            if nxt > i:
                tokens.append(s[i:nxt])
                i = nxt
                continue
            tok, i = self._special(i)
            tokens.append(tok)
        return tokens

    def _special(self, i: int) -> tuple[_Token, int]:
        s, ch = self._s, self._s[i]
        if ch == "\\":
            if s[i + 1 : i + 2] in _ESCAPABLE:
                return s[i + 1], i + 2
            return ch, i + 1
        if ch == "`":
            return self._code(i)
        if ch == "[":
            return self._link(i) or (ch, i + 1)
        return self._delim(i)

    def _code(self, i: int) -> tuple[_Token, int]:
        end = _run_end(self._s, i)
        closers = self._ticks.get(end - i, [])
        k = bisect_left(closers, end)
        if k == len(closers):
            return self._s[i:end], end
        body = self._s[end : closers[k]]
        if len(body) > 2 and body[0] == body[-1] == " " and body.strip(" "):
            body = body[1:-1]
        return _Code(body), closers[k] + end - i

    def _link(self, i: int) -> tuple[_Token, int] | None:
        close = self._brackets.get(i)
        target = _TARGET.match(self._s, close + 1) if close is not None else None
        if close is None or target is None or not _URL.match(target[1]):
            return None
        label = self._s[i + 1 : close]
        if not label.strip():
            return None
        return _Link(_pair(_Scanner(label, links=False).tokens()), target[1]), target.end()

    def _delim(self, i: int) -> tuple[_Token, int]:
        s, ch, end = self._s, self._s[i], _run_end(self._s, i)
        if ch == "~" and end - i != 2:
            return s[i:end], end
        before, after = s[i - 1] if i else " ", s[end] if end < len(s) else " "
        left = not after.isspace() and (not _punct(after) or before.isspace() or _punct(before))
        right = not before.isspace() and (not _punct(before) or after.isspace() or _punct(after))
        if ch == "_":  # no emphasis inside words: snake_case_names stay as they are
            opens, closes = (
                left and (not right or _punct(before)),
                right and (not left or _punct(after)),
            )
        else:
            opens, closes = left, right
        return _Delim(ch, end - i, opens, closes, count=end - i), end


def _run_end(s: str, i: int) -> int:
    end = i
    while end < len(s) and s[end] == s[i]:
        end += 1
    return end


def _punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"


def _matching_brackets(s: str) -> dict[int, int]:
    """Index of each `[` → index of its `]`, in one pass (escaped brackets skipped)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    i = 0
    while i < len(s):
        if s[i] == "\\":
            i += 1
        elif s[i] == "[":
            stack.append(i)
        elif s[i] == "]" and stack:
            pairs[stack.pop()] = i
        i += 1
    return pairs


def _pair(tokens: list[_Token]) -> list[_Token]:
    """Pair delimiter runs into spans (CommonMark "process emphasis", with openers_bottom)."""
    stack: list[_Delim] = []
    bottom: dict[tuple[str, bool, int], int] = {}
    for tok in tokens:
        if not isinstance(tok, _Delim):
            continue
        if tok.can_close:
            _close(tok, stack, bottom)
        if tok.can_open and tok.count:
            stack.append(tok)
    return tokens


def _close(closer: _Delim, stack: list[_Delim], bottom: dict[tuple[str, bool, int], int]) -> None:
    while closer.count:
        key = (closer.char, closer.can_open, closer.length % 3)
        at = _find_opener(closer, stack, bottom.get(key, 0))
        if at is None:
            bottom[key] = len(stack)
            return
        opener = stack[at]
        use = 2 if opener.count >= 2 and closer.count >= 2 else 1
        kind: EntityKind = (
            "strikethrough" if closer.char == "~" else "bold" if use == 2 else "italic"
        )
        span = _Span(kind)
        opener.opens.append(span)
        closer.closes.append(span)
        opener.count -= use
        closer.count -= use
        del stack[at + 1 :]  # runs between the pair can no longer pair: they stay text
        if not opener.count:
            stack.pop()
        for k, v in bottom.items():
            bottom[k] = min(v, len(stack))


def _find_opener(closer: _Delim, stack: list[_Delim], floor: int) -> int | None:
    for at in range(len(stack) - 1, floor - 1, -1):
        opener = stack[at]
        if opener.char != closer.char:
            continue
        both = opener.can_close or closer.can_open
        if (
            both
            and (opener.length + closer.length) % 3 == 0
            and (opener.length % 3 or closer.length % 3)
        ):
            continue  # CommonMark's "rule of 3"
        return at
    return None

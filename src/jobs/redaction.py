"""KnownSecrets: the secret values Jobs knows (its settings' credentials and the owner's stored
secrets, which arrive at run time) and the masking of each of them, and of its common
encodings, in any text Jobs writes out (Telegram, logs, the audit table).

Every form of a value that a tool or a model could plausibly print is masked:
- the value itself, and as it appears inside JSON (escaped);
- URL-encoded (`quote`, `quote_plus`);
- hex (lower and upper case, of its UTF-8 bytes);
- reversed;
- base64, standard and URL-safe alphabets: encoded alone (masked whole), and at each of the
  three byte alignments it can have inside a longer encoded text (`Basic dXNlcjpzZWNyZXQ=`
  hides "secret" at offset 5), where only the characters that depend on the value alone are
  matched, so one or two characters at either edge may stay (each carries at most 4 bits).
Other transformations (split, spelled out, encrypted) are not caught: masking is the last
fence, not the only one.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable
from typing import Final
from urllib.parse import quote, quote_plus

MIN_SECRET: Final = 6
"""Shorter values are not masked: they would match ordinary words and numbers."""
MIN_ENCODED: Final = 6
"""A base64 core shorter than this is left out (too likely to match by chance)."""


def encodings(value: str, /) -> set[str]:
    """Every form of `value` that is masked (see the module docstring)."""
    raw = value.encode()
    forms = {
        value,
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(value)[1:-1],
        quote(value, safe=""),
        quote(value),  # "/" left as it is, as most URL builders do
        quote_plus(value, safe=""),
        raw.hex(),
        raw.hex().upper(),
        value[::-1],
    }
    forms |= _base64_cores(raw)
    return {form for form in forms if len(form) >= MIN_SECRET}


def _base64_cores(raw: bytes) -> set[str]:
    """`raw` base64-encoded on its own (with and without padding), and the characters that
    depend only on `raw` at byte offsets 0, 1 and 2 inside a longer encoding."""
    whole = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    cores = whole | {form.rstrip("=") for form in whole}
    for shift in range(3):
        start = -(-8 * shift // 6)  # the first character past the prefix's bits
        end = 8 * (shift + len(raw)) // 6  # the last one made of `raw`'s bits alone
        padded = b"\0" * shift + raw
        for encoded in (base64.b64encode(padded), base64.urlsafe_b64encode(padded)):
            core = encoded.decode()[start:end]
            if len(core) >= MIN_ENCODED:
                cores.add(core)
    return cores


class KnownSecrets:
    """The values to mask, growing and shrinking while Jobs runs (`add`, `discard`).

    One object is shared by everything that writes text out, so a secret the owner stores
    is masked everywhere from that moment. Safe to call from threads (logging may)."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for value in values:
            self.add(value)

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def __len__(self) -> int:
        return len(self._values)

    def add(self, value: str, /) -> None:
        if len(value) < MIN_SECRET:
            return
        with self._lock:
            self._values.add(value)
            self._pattern = _compile(self._values)

    def discard(self, value: str, /) -> None:
        with self._lock:
            self._values.discard(value)
            self._pattern = _compile(self._values)

    def mask(self, text: str, /, replacement: str = "***") -> str:
        """`text` with every known value (and encoding of one) replaced."""
        pattern = self._pattern  # read once: another thread may swap it
        if pattern is None or not text:
            return text
        return pattern.sub(replacement, text)


def _compile(values: set[str]) -> re.Pattern[str] | None:
    forms = {form for value in values for form in encodings(value)}
    if not forms:
        return None
    # Longest first: a form that contains another is masked whole.
    ordered = sorted(forms, key=lambda form: (-len(form), form))
    return re.compile("|".join(re.escape(form) for form in ordered))

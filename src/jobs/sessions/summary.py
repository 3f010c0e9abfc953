"""The rolling summary kept per session: what a fresh session is primed with if resume fails."""

from __future__ import annotations

from typing import Final

MAX_SUMMARY_CHARS: Final = 3000
"""The whole summary; older exchanges drop off the front."""
MAX_PART_CHARS: Final = 400
"""One side of one exchange."""
_SEPARATOR: Final = "\n---\n"


def _trim(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def roll(summary: str, prompt: str, reply: str, /, *, limit: int = MAX_SUMMARY_CHARS) -> str:
    """`summary` with one more exchange at the end, trimmed to the last ones that fit."""
    exchange = f"Person: {_trim(prompt, MAX_PART_CHARS)}\nYou: {_trim(reply, MAX_PART_CHARS)}"
    parts = [p for p in summary.split(_SEPARATOR) if p] + [exchange]
    while len(parts) > 1 and len(_SEPARATOR.join(parts)) > limit:
        parts.pop(0)
    return _SEPARATOR.join(parts)[-limit:]


def primed(summary: str, prompt: str, /) -> str:
    """The first prompt of a fresh session that replaces one that could not be resumed."""
    if not summary.strip():
        return prompt
    return (
        "[Context: the earlier conversation could not be restored. The last exchanges were:\n"
        f"{summary}\n"
        "Continue from there without mentioning this note.]\n\n"
        f"{prompt}"
    )

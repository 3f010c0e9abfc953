"""PromptCache: the Anthropic API's prompt caching, as the scripted model reports it in `usage`.

What the API does (docs.anthropic.com, "Prompt caching"): a request is read as one sequence of
blocks — the tool definitions, then the system blocks, then every message's content blocks —
and a block marked `cache_control` asks for the prefix that ends with it to be cached. A later
request whose sequence starts with a cached prefix reads those tokens from the cache (billed at
a tenth of the input price); the tokens from there up to its last mark are written to the cache
(billed at 1.25 times); what follows the last mark is plain input. A prefix shorter than the model's
minimum (1,024 tokens and more) is not cached. The cache is the model's own: another model
starts cold. Entries live five minutes after their last use; this fake keeps them until
`clear()` (tests and benchmarks run well within that).

Simplifications: tokens are estimated as characters / 4 (text blocks by their text, other
blocks by their JSON); a hit is looked for at every block boundary (the API looks back about
20 blocks from each mark).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any, Final

CHARS_PER_TOKEN: Final = 4
MIN_CACHED_TOKENS: Final = 1024


def count_tokens(text: str, /) -> int:
    """An estimate of a text's tokens (characters / 4, at least 1 for non-empty text)."""
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


@dataclass(frozen=True, slots=True)
class _Block:
    digest: str
    """The hash of the whole prefix that ends with this block (marks left out)."""
    tokens: int
    """The prefix's tokens."""
    marked: bool


def _sequence(body: dict[str, Any]) -> list[tuple[str, Any]]:
    """The request as the cache reads it: (where, block) in order."""
    out: list[tuple[str, Any]] = [("tool", tool) for tool in body.get("tools") or []]
    system = body.get("system")
    if isinstance(system, str):
        system = [{"type": "text", "text": system}]
    out += [("system", block) for block in system or []]
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        out += [(str(message.get("role")), block) for block in content or []]
    return out


def _blocks(body: dict[str, Any]) -> list[_Block]:
    running = hashlib.sha256(str(body.get("model", "")).encode())
    tokens = 0
    found = []
    for where, block in _sequence(body):
        marked = isinstance(block, dict) and "cache_control" in block
        bare = (
            {k: v for k, v in block.items() if k != "cache_control"}
            if isinstance(block, dict)
            else block
        )
        canonical = json.dumps(bare, sort_keys=True, ensure_ascii=False)
        running.update(f"\0{where}\0{canonical}".encode())
        text = bare.get("text") if isinstance(bare, dict) else None
        tokens += count_tokens(text if isinstance(text, str) else canonical)
        found.append(_Block(running.copy().hexdigest(), tokens, marked))
    return found


class PromptCache:
    """The cached prefixes of every request so far; `use(body)` → the request's input usage."""

    def __init__(self, *, min_tokens: int = MIN_CACHED_TOKENS) -> None:
        self._min = min_tokens
        self._entries: set[str] = set()
        self._lock = threading.Lock()  # the fake's handlers run in threads

    def use(self, body: dict[str, Any], /) -> dict[str, int]:
        """What `body` costs on the input side, and the cache written by it:
        input_tokens, cache_creation_input_tokens, cache_read_input_tokens."""
        blocks = _blocks(body)
        total = blocks[-1].tokens if blocks else 0
        marks = [block for block in blocks if block.marked and block.tokens >= self._min]
        last = marks[-1].tokens if marks else 0
        with self._lock:
            read = next(
                (
                    block.tokens
                    for block in reversed(blocks)
                    if block.tokens <= max(last, 0) and block.digest in self._entries
                ),
                0,
            )
            self._entries.update(block.digest for block in marks)
        written = max(0, last - read)
        return {
            "input_tokens": total - read - written,
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": read,
        }

    def clear(self) -> None:
        """Forget every entry (as five idle minutes would)."""
        with self._lock:
            self._entries.clear()

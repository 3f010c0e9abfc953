"""Cutting a Markdown file into search chunks with line ranges and content hashes (pure).

Blocks (a heading, a top-level bullet with its continuation, a paragraph) are packed into
chunks of about TARGET_CHARS, never across a heading of level 1-3. Cuts restart at every such
heading, so an edit changes only the chunks of its own section, and an append at the end of a
daily log only the last chunk: the others keep their hashes (the embedding cache key).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Final

TARGET_CHARS: Final = 700
MAX_CHARS: Final = 1500
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(?:[-*+]|\d+[.)])\s")


@dataclass(frozen=True, slots=True)
class Chunk:
    """Lines `start_line`..`end_line` (1-based, inclusive) of a file, under `heading`."""

    start_line: int
    end_line: int
    heading: str
    text: str

    @property
    def hash(self) -> str:
        return content_hash(self.heading, self.text)

    @property
    def embedding_text(self) -> str:
        """What is embedded: the section gives a short entry its meaning."""
        return f"{self.heading}\n{self.text}" if self.heading else self.text


def content_hash(heading: str, text: str, /) -> str:
    return hashlib.sha256(f"{heading}\x00{text}".encode()).hexdigest()[:32]


@dataclass(slots=True)
class _Block:
    start: int  # 0-based line index
    lines: list[str]
    heading_level: int = 0  # 0: not a heading
    title: str = ""

    @property
    def size(self) -> int:
        return sum(len(line) + 1 for line in self.lines)


def _blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    current: _Block | None = None
    for i, line in enumerate(lines):
        heading = _HEADING.match(line)
        if not line.strip():
            current = None
        elif heading is not None:
            blocks.append(_Block(i, [line], len(heading.group(1)), heading.group(2)))
            current = None
        elif current is None or _BULLET.match(line):
            current = _Block(i, [line])
            blocks.append(current)
        else:
            current.lines.append(line)
    return blocks


def chunk_markdown(text: str, /, *, target: int = TARGET_CHARS) -> list[Chunk]:
    """The chunks of `text`, in file order."""
    chunks: list[Chunk] = []
    headings: dict[int, str] = {}
    pending: list[_Block] = []

    def flush() -> None:
        # A heading with nothing under it says nothing worth finding.
        if _has_body(pending):
            chunks.extend(_pack(pending, _heading_path(headings)))
        pending.clear()

    for block in _blocks(text.splitlines()):
        if 1 <= block.heading_level <= 3:
            flush()
            headings = {k: v for k, v in headings.items() if k < block.heading_level}
            headings[block.heading_level] = block.title
        elif _has_body(pending) and sum(b.size for b in pending) + block.size > target:
            flush()
        pending.append(block)
    flush()
    return chunks


def _has_body(blocks: list[_Block]) -> bool:
    return any(not b.heading_level for b in blocks)


def _heading_path(headings: dict[int, str]) -> str:
    return " / ".join(headings[level] for level in sorted(headings))


def _pack(blocks: list[_Block], heading: str) -> list[Chunk]:
    """One chunk for these blocks, or several when a single block is too long."""
    lines: list[tuple[int, str]] = []
    for block in blocks:
        lines.extend((block.start + k, line) for k, line in enumerate(block.lines))
    pieces: list[list[tuple[int, str]]] = [[]]
    size = 0
    for number, line in lines:
        for part in _split_line(line):
            if pieces[-1] and size + len(part) + 1 > MAX_CHARS:
                pieces.append([])
                size = 0
            pieces[-1].append((number, part))
            size += len(part) + 1
    return [
        Chunk(
            start_line=piece[0][0] + 1,
            end_line=piece[-1][0] + 1,
            heading=heading,
            text="\n".join(part for _, part in piece),
        )
        for piece in pieces
        if piece
    ]


def _split_line(line: str) -> list[str]:
    if len(line) <= MAX_CHARS:
        return [line]
    return [line[i : i + MAX_CHARS] for i in range(0, len(line), MAX_CHARS)]

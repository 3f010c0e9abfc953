"""MEMORY.md as sections and entries: pure edits (add, replace, remove) and the size-bounded view.

The shape is plain Markdown: `## Section` headings, and under each, entries: a top-level bullet
(`- …`) with its continuation lines, or a paragraph. Text before the first section is the
preamble (`# Memory`). Every edit returns the whole new text, or raises DocumentError.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Final

TITLE: Final = "# Memory\n"
DEFAULT_SECTION: Final = "Notes"
_SECTION = re.compile(r"^#{1,2}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(?:[-*+]|\d+[.)])\s")


class DocumentError(ValueError):
    """An edit that cannot be made as asked; the message says what to give instead."""


@dataclass(frozen=True, slots=True)
class Block:
    """Lines `start`..`end` (0-based, end exclusive) of a document."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    heading: int
    """Index of the `## Title` line (-1 for the preamble)."""
    end: int
    entries: tuple[Block, ...]


def parse(lines: list[str]) -> list[Section]:
    """The preamble (title "") and each section with its entries."""
    starts = [i for i, line in enumerate(lines) if _is_section(line)]
    bounds = [-1, *starts, len(lines)]
    sections = []
    for heading, end in itertools.pairwise(bounds):
        title = "" if heading < 0 else _title(lines[heading])
        sections.append(Section(title, heading, end, tuple(_entries(lines, heading + 1, end))))
    return sections


def _is_section(line: str) -> bool:
    # Level 1 and 2 headings split sections; ### and deeper belong to a section's body.
    return bool(_SECTION.match(line)) and not line.startswith("###")


def _title(line: str) -> str:
    match = _SECTION.match(line)
    return match.group(1) if match else line.strip()


def _entries(lines: list[str], start: int, end: int) -> list[Block]:
    blocks: list[Block] = []
    first: int | None = None
    for i in range(start, end):
        line = lines[i]
        if not line.strip():
            if first is not None and not _continues(lines, i, end):
                blocks.append(Block(first, i))
                first = None
        elif _BULLET.match(line) or line.startswith("#"):
            if first is not None:
                blocks.append(Block(first, _trim_end(lines, first, i)))
            first = i
        elif first is None:
            first = i
    if first is not None:
        blocks.append(Block(first, _trim_end(lines, first, end)))
    return blocks


def _continues(lines: list[str], blank: int, end: int) -> bool:
    """A blank line followed by an indented line stays inside the entry (a nested list)."""
    nxt = next((j for j in range(blank, end) if lines[j].strip()), None)
    return nxt is not None and lines[nxt][:1] in (" ", "\t")


def _trim_end(lines: list[str], start: int, end: int) -> int:
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return end


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _as_entry(text: str) -> list[str]:
    """Entry text as lines: a bullet unless it already is one; continuations indented."""
    body = [line.rstrip() for line in text.strip().splitlines()] or [""]
    first = body[0] if _BULLET.match(body[0]) else f"- {body[0]}"
    rest = [line if line[:1] in (" ", "\t") or not line else f"  {line}" for line in body[1:]]
    return [first, *rest]


def _lines(text: str) -> list[str]:
    return text.splitlines() if text.strip() else TITLE.splitlines()


def _join(lines: list[str]) -> str:
    return "\n".join(lines).rstrip("\n") + "\n"


def find_section(sections: list[Section], title: str) -> Section | None:
    wanted = _norm(title.lstrip("#"))
    return next((s for s in sections if s.heading >= 0 and _norm(s.title) == wanted), None)


def add_entry(text: str, section: str, entry: str) -> str:
    """Append `entry` to `section` (created at the end when missing)."""
    if not entry.strip():
        raise DocumentError("The entry text is empty.")
    lines = _lines(text)
    found = find_section(parse(lines), section)
    new = _as_entry(entry)
    if found is None:
        tail = [""] if lines and lines[-1].strip() else []
        return _join([*lines, *tail, f"## {section.strip().lstrip('#').strip()}", "", *new])
    at = found.entries[-1].end if found.entries else found.heading + 1
    pad = [] if found.entries else [""]
    return _join([*lines[:at], *pad, *new, *lines[at:]])


def _find_entry(lines: list[str], match: str, section: str | None) -> Block:
    sections = parse(lines)
    if section is not None:
        one = find_section(sections, section)
        if one is None:
            raise DocumentError(f"There is no section {section!r}. {_section_list(sections)}")
        sections = [one]
    wanted = _norm(match)
    if not wanted:
        raise DocumentError("Give the text of the entry to change (part of it is enough).")
    hits = [
        b for s in sections for b in s.entries if wanted in _norm("\n".join(lines[b.start : b.end]))
    ]
    if not hits:
        raise DocumentError(f"No entry contains {match!r}. Read MEMORY.md to see the entries.")
    if len(hits) > 1:
        shown = "; ".join(lines[b.start].strip()[:60] for b in hits[:5])
        raise DocumentError(
            f"{len(hits)} entries contain {match!r} ({shown}). Give more of the entry's text "
            "or the section, so that exactly one matches."
        )
    return hits[0]


def replace_entry(text: str, match: str, entry: str, *, section: str | None = None) -> str:
    """Replace the one entry containing `match` (case and spacing ignored) with `entry`."""
    if not entry.strip():
        raise DocumentError("The new entry text is empty; use remove to delete the entry.")
    lines = _lines(text)
    block = _find_entry(lines, match, section)
    return _join([*lines[: block.start], *_as_entry(entry), *lines[block.end :]])


def remove_entry(text: str, match: str, *, section: str | None = None) -> str:
    lines = _lines(text)
    block = _find_entry(lines, match, section)
    end = block.end
    if (
        end < len(lines)
        and not lines[end].strip()
        and (block.start == 0 or _blank_before(lines, block))
    ):
        end += 1
    return _join([*lines[: block.start], *lines[end:]])


def _blank_before(lines: list[str], block: Block) -> bool:
    return not lines[block.start - 1].strip()


def _section_list(sections: list[Section]) -> str:
    titles = [s.title for s in sections if s.heading >= 0]
    return f"Sections: {', '.join(titles)}." if titles else "MEMORY.md has no sections yet."


def _require_section(lines: list[str], section: str) -> Section:
    sections = parse(lines)
    found = find_section(sections, section)
    if found is None:
        raise DocumentError(f"There is no section {section!r}. {_section_list(sections)}")
    return found


def replace_section(text: str, section: str, body: str) -> str:
    """Replace everything under `## section` (the heading stays) with `body`."""
    lines = _lines(text)
    found = _require_section(lines, section)
    new_body = ["", *body.strip("\n").splitlines(), ""] if body.strip() else [""]
    tail = lines[found.end :]
    return _join([*lines[: found.heading + 1], *new_body, *tail])


def remove_section(text: str, section: str) -> str:
    lines = _lines(text)
    found = _require_section(lines, section)
    return _join([*lines[: found.heading], *lines[found.end :]])


def within_budget(text: str, budget: int) -> tuple[str, int]:
    """The longest prefix of whole entries whose UTF-8 size fits `budget`, and how many
    entries were left out (0: the text fits as it is). Cut mid-entry only if none fits."""
    if len(text.encode()) <= budget:
        return text, 0
    lines = text.splitlines()
    sizes = [0]
    for line in lines:
        sizes.append(sizes[-1] + len(line.encode()) + 1)
    entries = [b for s in parse(lines) for b in s.entries]
    fitting = [b.end for b in entries if sizes[b.end] <= budget]
    kept_at = max(fitting, default=0)
    if kept_at == 0:
        kept_at = max((k for k, size in enumerate(sizes) if size <= budget), default=0)
    shown = sum(1 for b in entries if b.end <= kept_at)
    kept = "\n".join(lines[:kept_at]).rstrip()
    return (kept + "\n" if kept else ""), max(1, len(entries) - shown)

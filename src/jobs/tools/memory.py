"""The owner's memory tools: memory_read, memory_write, memory_search, daily_log_append."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any, Final

from claude_agent_sdk import SdkMcpTool, tool

from jobs.errors import DiskFull, StorageError
from jobs.memory import DocumentError, MemoryStore, PathRefused, SearchResult
from jobs.memory.context import BUDGET_BYTES
from jobs.memory.document import (
    DEFAULT_SECTION,
    add_entry,
    remove_entry,
    remove_section,
    replace_entry,
    replace_section,
)
from jobs.tools.registry import ToolServer, qualified_name
from jobs.tools.results import ToolResult, error_result, text_result

logger = logging.getLogger(__name__)

SERVER_NAME: Final = "memory"
TOOL_NAMES: Final = ("memory_read", "memory_write", "memory_search", "daily_log_append")
READ_ONLY_TOOLS: Final = frozenset(
    qualified_name(SERVER_NAME, name) for name in ("memory_read", "memory_search")
)
"""What a tainted turn may still use (SessionManager's read_only_tools); the other two write."""
MAX_ENTRY_CHARS: Final = 4000
MAX_QUERY_CHARS: Final = 500
MAX_HIT_CHARS: Final = 700

_READ_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "file": {
            "type": "string",
            "description": "MEMORY.md (the default); a day as YYYY-MM-DD, 'today' or "
            "'yesterday' for that day's log; or a memory/….md path from a search hit",
        },
        "start_line": {"type": "integer", "minimum": 1},
        "end_line": {"type": "integer", "minimum": 1},
    },
}
_WRITE_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": ["add", "replace", "remove"]},
        "section": {"type": "string", "description": "a section title (## heading)"},
        "entry": {
            "type": "string",
            "description": "part of the existing entry to replace or remove (enough to match "
            "exactly one entry); leave out to act on the whole section",
        },
        "text": {"type": "string", "description": "the new entry (or section body)"},
    },
    "required": ["action"],
}
_SEARCH_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "description": "words or a question"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 20, "default": 8},
    },
    "required": ["query"],
}
_LOG_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "description": "what happened, was decided or learned"},
        "date": {"type": "string", "description": "YYYY-MM-DD; today when left out"},
    },
    "required": ["text"],
}

_READ_DOC: Final = (
    "Read a memory file with line numbers: MEMORY.md (your long-term memory, the default), "
    "a day's log (file = YYYY-MM-DD, 'today' or 'yesterday'), or a memory/….md file that "
    "memory_search cited. start_line/end_line read part of it."
)
_WRITE_DOC: Final = (
    "Change MEMORY.md, your long-term memory (you see it at the start of every session). "
    "action=add: add `text` as a new entry under `section` (created if missing; default "
    f"'{DEFAULT_SECTION}'). action=replace: the one entry containing `entry` becomes `text`. "
    "action=remove: delete the one entry containing `entry`. Without `entry`, replace and "
    "remove act on the whole `section` (replace: `text` becomes its body). Keep one fact per "
    "entry, short and dated where it matters; update facts that changed instead of adding."
)
_SEARCH_DOC: Final = (
    "Search your memory: MEMORY.md, the daily logs (memory/YYYY-MM-DD.md) and past "
    "conversations with the owner (memory/conversations/). Matches words, and passages with "
    "the same meaning in other words when vector search is on. Each hit cites file:lines "
    "(read more around it with memory_read)."
)
_LOG_DOC: Final = (
    "Add a timestamped entry to a day's log, memory/YYYY-MM-DD.md (today unless `date` is "
    "given; never a future day): what was done, decided or learned. Lasting facts about the "
    "owner belong in MEMORY.md (memory_write) instead."
)


class MemoryTools:
    """Builds the "memory" server over one MemoryStore (the owner's and task sessions')."""

    def __init__(self, *, store: MemoryStore) -> None:
        self._store = store

    def server(self) -> ToolServer:
        return ToolServer.in_process(SERVER_NAME, self.tools())

    def tools(self) -> list[SdkMcpTool[Any]]:
        return [
            tool("memory_read", _READ_DOC, _READ_SCHEMA)(self.read),
            tool("memory_write", _WRITE_DOC, _WRITE_SCHEMA)(self.write),
            tool("memory_search", _SEARCH_DOC, _SEARCH_SCHEMA)(self.search),
            tool("daily_log_append", _LOG_DOC, _LOG_SCHEMA)(self.log),
        ]

    # -- the tools' bodies (public so tests can call them without a model) ------------------

    async def read(self, args: dict[str, Any]) -> ToolResult:
        name = _text(args.get("file")) or "MEMORY.md"
        start, end = args.get("start_line"), args.get("end_line")
        if not all(v is None or (isinstance(v, int) and v >= 1) for v in (start, end)):
            return error_result("start_line and end_line must be line numbers from 1.")
        try:
            text = await self._store.read(name, start=start, end=end)
        except PathRefused as exc:
            return error_result(str(exc))
        except OSError as exc:
            return error_result(f"{name} could not be read: {exc.strerror or exc}")
        return text_result(text or f"{name} is empty (nothing written there yet).")

    async def write(self, args: dict[str, Any]) -> ToolResult:
        change = _change(args)
        if isinstance(change, str):
            return error_result(change)
        try:
            new = await self._store.edit_memory(change)
        except DocumentError as exc:
            return error_result(str(exc))
        except DiskFull as exc:
            logger.warning("memory_write: %s", exc)
            return error_result(f"MEMORY.md was not changed: {exc}")
        except (OSError, StorageError) as exc:
            logger.exception("memory_write failed")
            return error_result(f"MEMORY.md could not be written: {exc}")
        size = len(new.encode())
        note = ""
        if size > BUDGET_BYTES:
            note = (
                f" It is larger than the {BUDGET_BYTES // 1024} kB sessions are shown: condense "
                "or remove old entries so nothing important falls off the end."
            )
        return text_result(f"MEMORY.md updated ({size} bytes).{note}")

    async def search(self, args: dict[str, Any]) -> ToolResult:
        query = _text(args.get("query"))
        if not query or len(query) > MAX_QUERY_CHARS:
            return error_result(f"query must be words to look for (at most {MAX_QUERY_CHARS}).")
        limit = args.get("limit", 8)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 20:
            return error_result("limit must be a number from 1 to 20.")
        try:
            result = await self._store.search(query, limit=limit)
        except (OSError, StorageError) as exc:
            logger.exception("memory_search failed")
            return error_result(f"Memory search failed: {exc}")
        return text_result(render(result, query))

    async def log(self, args: dict[str, Any]) -> ToolResult:
        text = _text(args.get("text"))
        if not text or len(text) > MAX_ENTRY_CHARS:
            return error_result(f"text must be the entry to add (at most {MAX_ENTRY_CHARS}).")
        try:
            added = await self._store.append_daily(text, day=_text(args.get("date")))
        except (PathRefused, DocumentError) as exc:
            return error_result(str(exc))
        except DiskFull as exc:
            logger.warning("daily_log_append: %s", exc)
            return error_result(f"Nothing was added to the log: {exc}")
        except (OSError, StorageError) as exc:
            logger.exception("daily_log_append failed")
            return error_result(f"The log could not be written: {exc}")
        return text_result(f"Added to {added.path} (lines {added.start_line}-{added.end_line}).")


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _change(args: dict[str, Any]) -> Callable[[str], str] | str:
    """The edit memory_write asked for, or a message saying what is missing."""
    action, section = args.get("action"), _text(args.get("section"))
    entry, text = _text(args.get("entry")), _text(args.get("text"))
    if text is not None and len(text) > MAX_ENTRY_CHARS:
        return f"text is {len(text)} characters; keep an entry under {MAX_ENTRY_CHARS}."
    if action == "add":
        if text is None:
            return "add needs `text`: the entry to add."
        return partial(add_entry, section=section or DEFAULT_SECTION, entry=text)
    if action not in ("replace", "remove"):
        return "action must be add, replace or remove."
    if entry is not None:
        if action == "remove":
            return partial(remove_entry, match=entry, section=section)
        if text is None:
            return "replace needs `text`: what the entry becomes."
        return partial(replace_entry, match=entry, entry=text, section=section)
    if section is None:
        return f"{action} needs `entry` (part of the entry's text) or `section`."
    if action == "remove":
        return partial(remove_section, section=section)
    return partial(replace_section, section=section, body=text or "")


def render(result: SearchResult, query: str, /) -> str:
    """Hits as the model reads them: citation, how found, the passage."""
    if not result.hits:
        found = "Nothing in memory matches"
        off = "" if result.vectors else " (keyword search only: try other words)"
        return f"{found} {query!r}{off}.{_note(result)}"
    parts = []
    for number, hit in enumerate(result.hits, start=1):
        how = "+".join(k for k, on in (("words", hit.keyword), ("meaning", hit.meaning)) if on)
        text = hit.text if len(hit.text) <= MAX_HIT_CHARS else hit.text[:MAX_HIT_CHARS] + "…"
        parts.append(f"[{number}] {hit.citation} ({how})\n{text}")
    mode = "" if result.vectors else "\n(Vector search is off: only words were matched.)"
    return "\n\n".join(parts) + mode + _note(result)


def _note(result: SearchResult) -> str:
    return f"\n{result.note}" if result.note else ""

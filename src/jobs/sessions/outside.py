"""Where outside text enters a session through its own calls, and where instructions live.

OutsideInput answers two questions for the PreToolUse guard (sessions/hooks.py):
- which calls read text the owner did not type: web pages (WebFetch, WebSearch, the
  browser), other people's chats (the owner's Telegram tools), the owner's own MCP servers and
  plugins (what they return comes from elsewhere), files that came from outside (folders
  such as uploads and the browser's output) and files a tainted session wrote (the ledger);
- which writes would land where instructions live: Claude Code's settings, hooks, skills,
  plugins and memory files (`.claude/`, `.mcp.json`, CLAUDE.md …), git's hooks and config,
  Jobs' own MEMORY.md and HEARTBEAT.md, and Jobs' data folder. A tainted session may never
  write those, not even with the owner's approval of something else.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from jobs.sessions.taint import WRITE_TOOLS, Taint
from jobs.storage import TaintedFileRepo

INSTRUCTION_NAMES: Final = frozenset(
    {".claude", ".claude-plugin", ".git", ".mcp.json", "claude.md", "claude.local.md", "agents.md"}
)
"""File and folder names (any case, anywhere in a path) that hold instructions for Claude
Code, its plugins or git."""

WEB_TOOLS: Final = {"WebFetch": "url", "WebSearch": "query"}
BROWSER_PREFIX: Final = "mcp__browser__"
FILE_READERS: Final = {"Read": "file_path", "Grep": "path", "Glob": "path"}

ExtraSources = Callable[[], Mapping[str, str]]
"""Tool name prefixes of the owner's MCP servers and plugins → what they are, asked per call."""


def _no_extras() -> Mapping[str, str]:
    return {}


@dataclass(frozen=True, slots=True)
class OutsideInput:
    """Implements taint.OutsideReads for every session of one app."""

    workspace: Path
    data_dir: Path
    ledger: TaintedFileRepo | None = None
    outside_folders: tuple[Path, ...] = ()
    """Files in these came from outside (uploads, the browser's downloads and snapshots)."""
    outside_tools: Mapping[str, str] = field(default_factory=dict)
    """Exact tool names → what they read ("messages in your Telegram chats")."""
    extras: ExtraSources = _no_extras
    protected_files: tuple[Path, ...] = ()
    """Files Jobs reads as instructions besides the named ones (MEMORY.md, HEARTBEAT.md)."""

    async def cause(self, tool: str, tool_input: Mapping[str, Any], cwd: str, /) -> str | None:
        if tool in WEB_TOOLS:
            what = _short(tool_input.get(WEB_TOOLS[tool]))
            return f"the web page {what}" if tool == "WebFetch" else f"web search results ({what})"
        if tool.startswith(BROWSER_PREFIX):
            url = tool_input.get("url")
            return f"the web page {_short(url)}" if url else "a web page in the browser"
        if tool in self.outside_tools:
            return self.outside_tools[tool]
        for prefix, what in self.extras().items():
            if tool.startswith(prefix):
                return what
        return await self._file_cause(tool, tool_input, cwd)

    async def wrote(
        self, tool: str, tool_input: Mapping[str, Any], cwd: str, *, key: str, taint: Taint
    ) -> None:
        path = _path(tool_input.get(WRITE_TOOLS.get(tool, "")), cwd)
        if path is not None and self.ledger is not None:
            await self.ledger.add(path, session_key=key, caused_by=taint.caused_by)

    async def forget(self, tool: str, tool_input: Mapping[str, Any], cwd: str) -> None:
        """An untainted session rewrote a whole file: what it holds now is the owner's."""
        path = _path(tool_input.get("file_path"), cwd) if tool == "Write" else None
        if path is not None and self.ledger is not None:
            await self.ledger.forget(path)

    def instruction_write(
        self, tool: str, tool_input: Mapping[str, Any], cwd: str, /
    ) -> str | None:
        field_name = WRITE_TOOLS.get(tool)
        raw = tool_input.get(field_name) if field_name else None
        if not isinstance(raw, str) or not raw.strip():
            return None
        literal = Path(raw).expanduser()
        literal = literal if literal.is_absolute() else Path(cwd) / literal
        for path in (literal, literal.resolve()):
            reason = self._protected(path)
            if reason is not None:
                return reason
        return None

    def private_read(self, tool: str, tool_input: Mapping[str, Any], cwd: str, /) -> str | None:
        """Why the call would read Jobs' own data (the Telegram login, secrets, the database,
        other sessions' transcripts), or None. Asked of tainted sessions only."""
        data = self.data_dir.resolve()
        for path in self._paths_read(tool, tool_input, cwd):
            if path == data or path.is_relative_to(data) or data.is_relative_to(path):
                return "Jobs' own data folder (its Telegram login, secrets and database)"
        return None

    # -- internals -------------------------------------------------------------------------

    def _protected(self, path: Path) -> str | None:
        named = [part for part in path.parts if part.lower() in INSTRUCTION_NAMES]
        if named:
            return f"{named[0]} holds instructions for Claude Code or git"
        if any(path == f or path == f.resolve() for f in self.protected_files):
            return f"{path.name} is read as the owner's instructions"
        data = self.data_dir.resolve()
        if path == data or path.is_relative_to(data):
            return "Jobs' own data folder is not for sessions to write"
        memory = (self.workspace / "memory").resolve()
        if path.is_relative_to(memory):
            return "the memory logs are written by Jobs itself"
        return None

    async def _file_cause(self, tool: str, tool_input: Mapping[str, Any], cwd: str) -> str | None:
        for path in self._paths_read(tool, tool_input, cwd):
            for folder in self.outside_folders:
                root = folder.resolve()
                if path == root or path.is_relative_to(root) or root.is_relative_to(path):
                    return f"files from outside ({_short(str(path))})"
            if self.ledger is not None and (found := await self.ledger.under(path)):
                return f"the file {_short(found.path)}, written after reading {found.caused_by}"
        return None

    def _paths_read(self, tool: str, tool_input: Mapping[str, Any], cwd: str) -> Iterable[Path]:
        if tool in FILE_READERS:
            path = _path(tool_input.get(FILE_READERS[tool]) or cwd, cwd)
            return [] if path is None else [path]
        if tool == "Bash":
            return [p for word in _words(tool_input.get("command")) if (p := _path(word, cwd))]
        return []


def _words(command: object) -> list[str]:
    """The words of a shell command that may name files (a best effort: a command that builds
    a path at run time is not seen, which is why Bash in a tainted session needs approval)."""
    if not isinstance(command, str):
        return []
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    return [w.split("=", 1)[-1] for w in words if "/" in w or "." in w]


def _path(value: object, cwd: str) -> Path | None:
    if not isinstance(value, str) or not value.strip():
        return None
    path = Path(value.strip()).expanduser()
    if not path.is_absolute():
        path = Path(cwd) / path
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return None


def _short(value: object, limit: int = 200) -> str:
    text = str(value or "").strip()
    return text if len(text) <= limit else f"{text[:limit]}…"

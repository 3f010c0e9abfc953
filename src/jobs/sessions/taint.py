"""Tainted sessions: why a session is tainted (Taint, kept until the owner clears it), what a
tainted session may still do alone (read-only tools, its source's free calls and folder), and
the Approver protocol asking the owner about the rest."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Protocol

from jobs.storage import ApprovalState, from_iso, to_iso

READ_ONLY_BUILTINS: Final = frozenset({"Read", "Glob", "Grep", "ToolSearch"})
"""Claude Code tools a tainted turn keeps: they read, never write, run or send."""

READS_NOTHING: Final = frozenset({"ToolSearch"})
"""Read-only tools that see none of the owner's data (tool schemas): free even where a taint
confines reading to a folder."""

WRITE_TOOLS: Final = {
    "Write": "file_path",
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "NotebookEdit": "notebook_path",
}
"""Claude Code tools that write one file, and the input naming it."""


@dataclass(frozen=True, slots=True)
class Taint:
    """Why a session is tainted: the first text it took in that the owner did not type.

    Sticky: a tainted session stays tainted for the rest of its life (its rolling summary and
    fresh starts included, since both keep its key) until the owner clears it (/clear)."""

    caused_by: str
    """In the owner's words: "a message from Bob (@bob, id 42)", "the web page https://…"."""
    person_id: int | None = None
    since: datetime | None = None

    def to_json(self) -> str:
        since = None if self.since is None else to_iso(self.since)
        return json.dumps(
            {"caused_by": self.caused_by, "person_id": self.person_id, "since": since}
        )

    @classmethod
    def from_json(cls, text: str, /) -> Taint:
        data = json.loads(text)
        since = data.get("since")
        return cls(
            caused_by=str(data.get("caused_by") or "text from outside"),
            person_id=data.get("person_id"),
            since=None if since is None else from_iso(since),
        )


@dataclass(frozen=True, slots=True)
class FreeCall:
    """A call a tainted turn may make without asking: `tool`, and when `field` is set, only
    with that input equal (case-insensitively) to one of `values`."""

    tool: str
    field: str | None = None
    values: frozenset[str] = frozenset()

    def matches(self, tool: str, tool_input: Mapping[str, Any], /) -> bool:
        if tool != self.tool:
            return False
        return self.field is None or str(tool_input.get(self.field)).strip().lower() in self.values


@dataclass(frozen=True, slots=True)
class TaintSource:
    """Whose text taints a turn, and what that turn may still do without asking the owner."""

    caused_by: str
    """Told to the owner: "a message from Bob (@bob, id 42)"."""
    where: str = "your main session"
    """Which session asks, for the owner: "task #3 «Meeting with Bob»"."""
    person_id: int | None = None
    folder: Path | None = None
    """The session's own folder (a task's): files inside it may be read and written without
    asking. A source with a folder confines reading to it too: outside it even read-only tools
    wait for the owner, because such a session may write to someone without asking (its free
    calls), and what it read could go with it."""
    free_calls: tuple[FreeCall, ...] = ()
    write_root: Path | None = None
    """Without a folder: files below this one may be written without asking (the owner's
    workspace: local work stays free; the files are then tainted data)."""

    @property
    def confines_reads(self) -> bool:
        return self.folder is not None

    def permits(self, tool: str, tool_input: Mapping[str, Any], cwd: str, /) -> bool:
        if any(call.matches(tool, tool_input) for call in self.free_calls):
            return True
        field = WRITE_TOOLS.get(tool)
        if field is not None:
            return _inside(tool_input.get(field), self.folder or self.write_root, cwd)
        return _reads_inside(tool, tool_input, self.folder, cwd)


OUTSIDE_TEXT: Final = TaintSource(caused_by="text from outside that you did not write")
"""The source of a session marked tainted without saying by whom."""


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """A call a tainted turn wants to make: what exactly, in which session, because of whom."""

    session_key: str
    tool: str
    tool_input: Mapping[str, Any]
    source: TaintSource


@dataclass(frozen=True, slots=True)
class ApprovalAnswer:
    """APPROVED, DENIED or EXPIRED (no answer in time); `code` is empty when asking failed."""

    state: ApprovalState
    code: str = ""
    approval_id: int | None = None

    @property
    def approved(self) -> bool:
        return self.state is ApprovalState.APPROVED


class Approver(Protocol):
    """Asks the owner whether a call a tainted turn may not make alone may run anyway.

    Implemented by conversation.approvals.ApprovalBroker; called by the PreToolUse guard
    (hooks.py), which waits for the answer. `ask` stores the request, sends the owner the exact
    action and who caused it, and returns the owner's answer, or EXPIRED once `wait_seconds`
    passed without one. It never raises: failing to ask is a denial (DENIED, no code). The SDK's
    hook timeout is set hooks.HOOK_MARGIN_SECONDS above `wait_seconds`; a turn cancelled
    meanwhile cancels `ask`.
    """

    @property
    def wait_seconds(self) -> float: ...

    async def ask(self, request: ApprovalRequest, /) -> ApprovalAnswer: ...


def _no_source() -> TaintSource | None:
    return None


async def _ignore_taint(_taint: Taint, /) -> None:
    return None


def _no_taint() -> Taint | None:
    return None


class OutsideReads(Protocol):
    """Which calls bring text the owner did not type into a session (sessions/outside.py)."""

    async def cause(self, tool: str, tool_input: Mapping[str, Any], cwd: str, /) -> str | None:
        """What the call reads from outside ("the web page https://…"), or None."""

    async def wrote(
        self, tool: str, tool_input: Mapping[str, Any], cwd: str, *, key: str, taint: Taint
    ) -> None:
        """A tainted session (`key`) is about to write a file: whoever reads it later reads
        outside text too."""

    async def forget(self, tool: str, tool_input: Mapping[str, Any], cwd: str) -> None:
        """An untainted session is about to rewrite a whole file: it is the owner's again."""

    def instruction_write(
        self, tool: str, tool_input: Mapping[str, Any], cwd: str, /
    ) -> str | None:
        """Why the call would write where instructions live (settings, CLAUDE.md, skills,
        MEMORY.md, Jobs' data…), or None."""

    def private_read(self, tool: str, tool_input: Mapping[str, Any], cwd: str, /) -> str | None:
        """Why the call would read Jobs' own data (its login, secrets, database), or None."""


@dataclass(frozen=True, slots=True)
class TaintRule:
    """While `is_tainted()` (the session took in text nobody trusted typed, such as a channel
    post, a web page or a message from a task's counterpart), only the `read_only` tools and
    the calls its `source()` permits may run (a source that confines reads lets the read-only
    tools see its folder only); any other call is denied, or, with an `approver`, runs only
    if the owner approves it. A call that reads outside text (`outside`) marks the session
    tainted before it runs (`mark`)."""

    is_tainted: Callable[[], bool]
    read_only: frozenset[str]
    source: Callable[[], TaintSource | None] = _no_source
    approver: Approver | None = None
    mark: Callable[[Taint], Awaitable[None]] = _ignore_taint
    outside: OutsideReads | None = None
    taint: Callable[[], Taint | None] = _no_taint

    def refuses(self, tool: str, /) -> bool:
        """True: the call runs only if the source permits it (or the owner approves it)."""
        if not self.is_tainted():
            return False
        if tool not in self.read_only:
            return True
        source = self.source()
        return source is not None and source.confines_reads and tool not in READS_NOTHING


def _reads_inside(tool: str, tool_input: Mapping[str, Any], folder: Path | None, cwd: str) -> bool:
    """True when a Read, Glob or Grep call can see only files inside `folder`."""
    if tool == "Read":
        return _inside(tool_input.get("file_path"), folder, cwd)
    if tool not in ("Glob", "Grep"):
        return False
    pattern = tool_input.get("pattern" if tool == "Glob" else "glob")
    return _stays_below(pattern) and _inside(tool_input.get("path") or cwd, folder, cwd)


def _stays_below(pattern: object) -> bool:
    """A file glob that matches only below the folder it starts from (None: no glob)."""
    if pattern is None:
        return True
    return isinstance(pattern, str) and not pattern.startswith(("/", "~")) and ".." not in pattern


def _inside(value: object, folder: Path | None, cwd: str) -> bool:
    """True when `value` names a file inside `folder` (relative paths are from `cwd`)."""
    if folder is None or not isinstance(value, str) or not value.strip():
        return False
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path(cwd) / path
    return path.resolve().is_relative_to(folder.resolve())

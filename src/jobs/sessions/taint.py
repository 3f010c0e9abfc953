"""Tainted turns: what a turn carrying text nobody trusted typed may still do (read-only tools,
its source's free calls and folder), and the Approver protocol asking the owner about the rest."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from jobs.storage import ApprovalState

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
    """The turn's own folder (a task's): files inside it may be read and written without
    asking. A source with a folder confines reading to it too: outside it even read-only tools
    wait for the owner, because such a turn may write to someone without asking (its free
    calls), and what it read could go with it."""
    free_calls: tuple[FreeCall, ...] = ()

    @property
    def confines_reads(self) -> bool:
        return self.folder is not None

    def permits(self, tool: str, tool_input: Mapping[str, Any], cwd: str, /) -> bool:
        if any(call.matches(tool, tool_input) for call in self.free_calls):
            return True
        field = WRITE_TOOLS.get(tool)
        if field is not None:
            return _inside(tool_input.get(field), self.folder, cwd)
        return _reads_inside(tool, tool_input, self.folder, cwd)


OUTSIDE_TEXT: Final = TaintSource(caused_by="text from outside that you did not write")
"""The source of a turn marked tainted without saying by whom (a channel post, say)."""


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


@dataclass(frozen=True, slots=True)
class TaintRule:
    """While `is_tainted()` (the running turn carries text nobody trusted typed, such as a
    channel post or a message from a task's counterpart), only the `read_only` tools and the
    calls its `source()` permits may run (a source that confines reads lets the read-only
    tools see its folder only); any other call is denied, or, with an `approver`, runs only
    if the owner approves it."""

    is_tainted: Callable[[], bool]
    read_only: frozenset[str]
    source: Callable[[], TaintSource | None] = _no_source
    approver: Approver | None = None

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

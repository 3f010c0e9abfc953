"""PreToolUse hooks: the tool guard of every session (deny-by-default for external, taint and
the owner's approval of what a tainted turn may not do alone); the Approver protocol it calls."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from claude_agent_sdk import HookCallback, HookContext, HookInput, HookJSONOutput, HookMatcher
from claude_agent_sdk.types import HookEvent, PreToolUseHookInput

from jobs.errors import StorageError
from jobs.sessions.roles import RoleSpec, ToolPolicy
from jobs.storage import ApprovalState, AuditRepo

logger = logging.getLogger(__name__)

HookMap = dict[HookEvent, list[HookMatcher]]
"""ClaudeAgentOptions.hooks."""

TOOL_CALL_EVENT: Final = "tool_call"

READ_ONLY_BUILTINS: Final = frozenset({"Read", "Glob", "Grep", "ToolSearch"})
"""Claude Code tools a tainted turn keeps: they read, never write, run or send."""

WRITE_TOOLS: Final = {
    "Write": "file_path",
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "NotebookEdit": "notebook_path",
}
"""Claude Code tools that write one file, and the input naming it."""

HOOK_MARGIN_SECONDS: Final = 60.0
"""How much longer than the Approver's wait the CLI gives the guard before giving up on it."""


@dataclass(frozen=True, slots=True)
class HookScope:
    """Whose session a hook guards: written into every audit entry it makes."""

    session_key: str
    role: str
    person_id: int | None


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
    """Files inside it may be written without asking (a task's own folder)."""
    free_calls: tuple[FreeCall, ...] = ()

    def permits(self, tool: str, tool_input: Mapping[str, Any], cwd: str, /) -> bool:
        if any(call.matches(tool, tool_input) for call in self.free_calls):
            return True
        field = WRITE_TOOLS.get(tool)
        return field is not None and _inside(tool_input.get(field), self.folder, cwd)


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

    Implemented by conversation.approvals.ApprovalBroker; called by the PreToolUse guard, which
    waits for the answer. `ask` stores the request, sends the owner the exact action and who
    caused it, and returns the owner's answer, or EXPIRED once `wait_seconds` passed without
    one. It never raises: failing to ask is a denial (DENIED, no code). The SDK's hook timeout
    is set HOOK_MARGIN_SECONDS above `wait_seconds`; a turn cancelled meanwhile cancels `ask`.
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
    calls its `source()` permits may run; any other call is denied, or, with an `approver`,
    runs only if the owner approves it."""

    is_tainted: Callable[[], bool]
    read_only: frozenset[str]
    source: Callable[[], TaintSource | None] = _no_source
    approver: Approver | None = None

    def refuses(self, tool: str, /) -> bool:
        return tool not in self.read_only and self.is_tainted()


def deny(reason: str, /) -> HookJSONOutput:
    """The PreToolUse answer that blocks a call (the model reads `reason` as a tool error)."""
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": reason,
        }
    }


def allow(reason: str, /) -> HookJSONOutput:
    """The PreToolUse answer that lets a call run, telling the model why."""
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow",
            "permissionDecisionReason": reason,
            "additionalContext": reason,
        }
    }


def tool_guard(
    policy: ToolPolicy,
    *,
    audit: AuditRepo,
    scope: HookScope,
    taint: TaintRule | None = None,
) -> HookCallback:
    """A PreToolUse callback that denies every tool the policy does not allow, and in a
    tainted turn every tool that is not read-only.

    Every decision is one audit entry: "allowed", "denied", "denied_tainted", or the owner's
    answer ("approved_by_owner" with its approval id, "denied_by_owner", "denied_no_answer").
    A failing audit write never turns a denial into an allow: the hook still answers deny.
    """

    async def guard(
        data: HookInput, tool_use_id: str | None, _context: HookContext
    ) -> HookJSONOutput:
        if data["hook_event_name"] != "PreToolUse":
            return {}
        tool = data["tool_name"]
        answer: HookJSONOutput = {}
        if taint is not None and taint.refuses(tool):
            runs, answer = await _tainted_call(taint, audit, scope, data, tool_use_id)
            if not runs:
                return answer
        if policy.allows(tool):
            if not answer:  # an approved call already has its entry, with the approval id
                await _record(audit, scope, tool, data["tool_input"], "allowed", tool_use_id)
            return answer
        reason = f"The tool {tool} is not available in this conversation."
        await _record(audit, scope, tool, data["tool_input"], "denied", tool_use_id)
        logger.warning("denied %s in %s (%s role)", tool, scope.session_key, scope.role)
        return deny(reason)

    return guard


def session_hooks(
    role: RoleSpec,
    policy: ToolPolicy,
    *,
    audit: AuditRepo,
    scope: HookScope,
    taint: TaintRule | None = None,
) -> HookMap:
    """The hooks a session of `role` runs with. With an approver the guard may wait for the
    owner, so the CLI is told to wait longer for it, and to block the call if it fails."""
    del role  # every role's calls are audited alike; kept for callers naming the role
    guard = tool_guard(policy, audit=audit, scope=scope, taint=taint)
    approver = taint.approver if taint is not None else None
    if approver is None:
        return {"PreToolUse": [HookMatcher(matcher=None, hooks=[guard])]}
    timeout = approver.wait_seconds + HOOK_MARGIN_SECONDS
    return {
        "PreToolUse": [
            HookMatcher(matcher=None, hooks=[guard], timeout=timeout, on_failure="block")
        ]
    }


async def _tainted_call(
    taint: TaintRule,
    audit: AuditRepo,
    scope: HookScope,
    data: PreToolUseHookInput,
    tool_use_id: str | None,
) -> tuple[bool, HookJSONOutput]:
    """Whether a call that is not read-only may run in a tainted turn, and the answer to give."""
    tool, tool_input = data["tool_name"], data["tool_input"]
    source = taint.source() or OUTSIDE_TEXT
    if source.permits(tool, tool_input, data["cwd"]):
        return True, {}
    if taint.approver is None:
        await _record(audit, scope, tool, tool_input, "denied_tainted", tool_use_id)
        logger.warning("denied %s in a tainted turn of %s", tool, scope.session_key)
        return False, deny(
            f"The tool {tool} is not available in this turn: it carries text from outside "
            "(not written by the owner), so only read-only tools may run. Tell the owner "
            "what you would do instead; they can ask for it in a message of their own."
        )
    request = ApprovalRequest(scope.session_key, tool, tool_input, source)
    answer = await taint.approver.ask(request)
    decision = _DECISIONS[answer.state]
    await _record(
        audit, scope, tool, tool_input, decision, tool_use_id, approval_id=answer.approval_id
    )
    logger.info("%s in %s: %s (approval %s)", tool, scope.session_key, decision, answer.code)
    if answer.approved:
        return True, allow(f"The owner approved this call (approval {answer.code}).")
    return False, deny(_refusal(tool, answer))


_DECISIONS: Final = {
    ApprovalState.APPROVED: "approved_by_owner",
    ApprovalState.DENIED: "denied_by_owner",
    ApprovalState.EXPIRED: "denied_no_answer",
    ApprovalState.PENDING: "denied_no_answer",
}


def _refusal(tool: str, answer: ApprovalAnswer) -> str:
    if not answer.code:
        return f"{tool} needs the owner's approval in this turn, and asking failed: it did not run."
    if answer.state is ApprovalState.DENIED:
        return (
            f"The owner said no to this call (approval {answer.code}): {tool} did not run. Do "
            "not try to get the same done another way; go on without it, or tell the owner."
        )
    return (
        f"The owner did not answer in time (approval {answer.code}), and no answer means no: "
        f"{tool} did not run. Go on without it, or tell the owner what you need."
    )


def _inside(value: object, folder: Path | None, cwd: str) -> bool:
    """True when `value` names a file inside `folder` (relative paths are from `cwd`)."""
    if folder is None or not isinstance(value, str) or not value.strip():
        return False
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path(cwd) / path
    return path.resolve().is_relative_to(folder.resolve())


async def _record(
    audit: AuditRepo,
    scope: HookScope,
    tool: str,
    tool_input: dict[str, Any],
    decision: str,
    tool_use_id: str | None,
    *,
    approval_id: int | None = None,
) -> None:
    try:
        await audit.record(
            TOOL_CALL_EVENT,
            session_key=scope.session_key,
            role=scope.role,
            person_id=scope.person_id,
            tool=tool,
            detail={"input": tool_input, "tool_use_id": tool_use_id},
            decision=decision,
            approval_id=approval_id,
        )
    except StorageError:
        logger.exception("could not audit %s %s in %s", decision, tool, scope.session_key)

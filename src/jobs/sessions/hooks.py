"""PreToolUse hooks: the tool guard of every session (deny-by-default for every role, taint and
the owner's approval of what a tainted session may not do alone), each decision one audit row."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final

from claude_agent_sdk import HookCallback, HookContext, HookInput, HookJSONOutput, HookMatcher
from claude_agent_sdk.types import HookEvent

from jobs.errors import StorageError
from jobs.sessions.roles import RoleSpec, ToolPolicy
from jobs.sessions.taint import (
    OUTSIDE_TEXT,
    WRITE_TOOLS,
    ApprovalAnswer,
    ApprovalRequest,
    Taint,
    TaintRule,
)
from jobs.storage import ApprovalState, AuditRepo

logger = logging.getLogger(__name__)

HookMap = dict[HookEvent, list[HookMatcher]]
"""ClaudeAgentOptions.hooks."""

TOOL_CALL_EVENT: Final = "tool_call"

HOOK_MARGIN_SECONDS: Final = 60.0
"""How much longer than the Approver's wait the CLI gives the guard before giving up on it."""


@dataclass(frozen=True, slots=True)
class HookScope:
    """Whose session a hook guards: written into every audit entry it makes."""

    session_key: str
    role: str
    person_id: int | None


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
    tainted session every tool that is not read-only (unless its source permits it or the
    owner approves it). A tainted session never writes where instructions live. A call that
    reads outside text taints the session before it runs; a tainted session's writes are
    recorded, so whoever reads those files later is tainted too.

    Every decision is one audit entry: "allowed", "denied", "denied_tainted",
    "denied_instructions", or the owner's answer ("approved_by_owner" with its approval id,
    "denied_by_owner", "denied_no_answer"); a session becoming tainted is one "tainted" entry.
    A failing audit write never turns a denial into an allow: the hook still answers deny.
    """

    async def guard(
        data: HookInput, tool_use_id: str | None, _context: HookContext
    ) -> HookJSONOutput:
        if data["hook_event_name"] != "PreToolUse":
            return {}
        call = _Call(data["tool_name"], data["tool_input"], data["cwd"], tool_use_id)
        if not policy.allows(call.tool):
            await _record(audit, scope, call, "denied")
            logger.warning("denied %s in %s (%s role)", call.tool, scope.session_key, scope.role)
            return deny(f"The tool {call.tool} is not available in this conversation.")
        answer: HookJSONOutput = {}
        if taint is not None:
            refused = await _tainted_refusal(taint, audit, scope, call)
            if refused is not None:
                return refused
            if taint.refuses(call.tool):
                runs, answer = await _tainted_call(taint, audit, scope, call)
                if not runs:
                    return answer
            await _taint_flow(taint, audit, scope, call)
        if not answer:  # an approved call already has its entry, with the approval id
            await _record(audit, scope, call, "allowed")
        return answer

    return guard


@dataclass(frozen=True, slots=True)
class _Call:
    tool: str
    tool_input: dict[str, Any]
    cwd: str
    tool_use_id: str | None


async def _tainted_refusal(
    taint: TaintRule, audit: AuditRepo, scope: HookScope, call: _Call
) -> HookJSONOutput | None:
    """A tainted session's write where instructions live, or read of Jobs' own data (its
    login, secrets, database): refused, never asked about."""
    if not taint.is_tainted() or taint.outside is None:
        return None
    reason = taint.outside.instruction_write(call.tool, call.tool_input, call.cwd)
    if reason is not None:
        await _record(audit, scope, call, "denied_instructions")
        logger.warning("refused %s of an instruction file in %s", call.tool, scope.session_key)
        return deny(
            f"This session has read text from outside (not written by the owner), so it may "
            f"not write there: {reason}. Nothing was written."
        )
    # Reading them is only a question away from sending them: never, once tainted.
    reason = taint.outside.private_read(call.tool, call.tool_input, call.cwd)
    if reason is not None:
        await _record(audit, scope, call, "denied_private")
        logger.warning("refused %s of Jobs' own data in %s", call.tool, scope.session_key)
        return deny(
            f"This session has read text from outside (not written by the owner), so it may "
            f"not look at {reason}. Nothing was read."
        )
    return None


async def _taint_flow(taint: TaintRule, audit: AuditRepo, scope: HookScope, call: _Call) -> None:
    """Before an allowed call runs: taint the session if it reads outside text, and record a
    tainted session's writes (the files are outside text from now on)."""
    outside = taint.outside
    if outside is None:
        return
    if not taint.is_tainted():
        cause = await outside.cause(call.tool, call.tool_input, call.cwd)
        if cause is None:
            if call.tool in WRITE_TOOLS:
                await outside.forget(call.tool, call.tool_input, call.cwd)
            return
        await taint.mark(Taint(caused_by=cause, person_id=None))
        await _record(audit, scope, call, "tainted", extra={"caused_by": cause})
        logger.info("%s read outside text (%s): tainted", scope.session_key, cause)
    current = taint.taint()
    if call.tool in WRITE_TOOLS and current is not None:
        await outside.wrote(
            call.tool, call.tool_input, call.cwd, key=scope.session_key, taint=current
        )


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
    taint: TaintRule, audit: AuditRepo, scope: HookScope, call: _Call
) -> tuple[bool, HookJSONOutput]:
    """Whether a call that is not read-only may run in a tainted session, and the answer."""
    tool, tool_input = call.tool, call.tool_input
    source = taint.source() or OUTSIDE_TEXT
    if source.permits(tool, tool_input, call.cwd):
        return True, {}
    if taint.approver is None:
        await _record(audit, scope, call, "denied_tainted")
        logger.warning("denied %s in a tainted session %s", tool, scope.session_key)
        return False, deny(
            f"The tool {tool} is not available here: this session has read text from outside "
            "(not written by the owner), so only read-only tools may run. Tell the owner "
            "what you would do instead; they can ask for it in a message of their own."
        )
    request = ApprovalRequest(scope.session_key, tool, tool_input, source)
    answer = await taint.approver.ask(request)
    decision = _DECISIONS[answer.state]
    await _record(audit, scope, call, decision, approval_id=answer.approval_id)
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


async def _record(
    audit: AuditRepo,
    scope: HookScope,
    call: _Call,
    decision: str,
    *,
    approval_id: int | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    detail = {"input": call.tool_input, "tool_use_id": call.tool_use_id, **(extra or {})}
    try:
        await audit.record(
            TOOL_CALL_EVENT,
            session_key=scope.session_key,
            role=scope.role,
            person_id=scope.person_id,
            tool=call.tool,
            detail=detail,
            decision=decision,
            approval_id=approval_id,
        )
    except StorageError:
        logger.exception("could not audit %s %s in %s", decision, call.tool, scope.session_key)

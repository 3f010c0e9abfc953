"""PreToolUse hooks: the tool guard of every session (deny-by-default, audited, for external)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final

from claude_agent_sdk import HookCallback, HookContext, HookInput, HookJSONOutput, HookMatcher
from claude_agent_sdk.types import HookEvent

from jobs.errors import StorageError
from jobs.sessions.roles import RoleSpec, ToolPolicy
from jobs.storage import AuditRepo

logger = logging.getLogger(__name__)

HookMap = dict[HookEvent, list[HookMatcher]]
"""ClaudeAgentOptions.hooks."""

TOOL_CALL_EVENT: Final = "tool_call"


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


def tool_guard(
    policy: ToolPolicy, *, audit: AuditRepo, scope: HookScope, audit_allowed: bool
) -> HookCallback:
    """A PreToolUse callback that denies every tool the policy does not allow.

    Denials are always audited; allowed calls only when `audit_allowed` (external sessions).
    A failing audit write never turns a denial into an allow: the hook still answers deny.
    """

    async def guard(
        data: HookInput, tool_use_id: str | None, _context: HookContext
    ) -> HookJSONOutput:
        if data["hook_event_name"] != "PreToolUse":
            return {}
        tool = data["tool_name"]
        if policy.allows(tool):
            if audit_allowed:
                await _record(audit, scope, tool, data["tool_input"], "allowed", tool_use_id)
            return {}
        reason = f"The tool {tool} is not available in this conversation."
        await _record(audit, scope, tool, data["tool_input"], "denied", tool_use_id)
        logger.warning("denied %s in %s (%s role)", tool, scope.session_key, scope.role)
        return deny(reason)

    return guard


def session_hooks(
    role: RoleSpec, policy: ToolPolicy, *, audit: AuditRepo, scope: HookScope
) -> HookMap:
    """The hooks a session of `role` runs with."""
    guard = tool_guard(policy, audit=audit, scope=scope, audit_allowed=role.deny_by_default)
    return {"PreToolUse": [HookMatcher(matcher=None, hooks=[guard])]}


async def _record(
    audit: AuditRepo,
    scope: HookScope,
    tool: str,
    tool_input: dict[str, Any],
    decision: str,
    tool_use_id: str | None,
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
        )
    except StorageError:
        logger.exception("could not audit %s %s in %s", decision, tool, scope.session_key)

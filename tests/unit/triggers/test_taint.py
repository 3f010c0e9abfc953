"""The taint rule in the sessions' PreToolUse guard: a tainted turn keeps read-only tools only."""

from __future__ import annotations

from typing import Any

from jobs.sessions.hooks import HookScope, tool_guard
from jobs.sessions.roles import ToolPolicy
from jobs.sessions.taint import READ_ONLY_BUILTINS, TaintRule
from jobs.storage import AuditRepo
from jobs.tools.schedules import READ_ONLY_TOOLS as SCHEDULE_READS
from jobs.tools.triggers import READ_ONLY_TOOLS as TRIGGER_READS
from tests.unit.hook_inputs import pre_tool_use as call

OWNER_POLICY = ToolPolicy(
    role="owner",
    names=frozenset({"mcp__schedules__schedule_list", "mcp__schedules__schedule_create"}),
    any_builtin=True,
)
SCOPE = HookScope(session_key="owner", role="owner", person_id=None)


async def test_a_tainted_turn_keeps_only_read_only_tools(audit: AuditRepo) -> None:
    tainted = [True]
    rule = TaintRule(
        is_tainted=lambda: tainted[0], read_only=READ_ONLY_BUILTINS | SCHEDULE_READS | TRIGGER_READS
    )
    guard = tool_guard(OWNER_POLICY, audit=audit, scope=SCOPE, taint=rule)
    for tool in ("Read", "Grep", "Glob", "mcp__schedules__schedule_list"):
        assert await guard(call(tool), "toolu_1", {"signal": None}) == {}
    for tool in ("Bash", "Write", "Edit", "WebFetch", "mcp__schedules__schedule_create"):
        answer: Any = await guard(call(tool, command="rm -rf /"), "toolu_1", {"signal": None})
        assert answer["hookSpecificOutput"]["permissionDecision"] == "deny"
        assert "only read-only tools" in answer["hookSpecificOutput"]["permissionDecisionReason"]
    entries = await audit.latest()
    assert {e.tool for e in entries if e.decision == "denied_tainted"} == {
        "Bash",
        "Write",
        "Edit",
        "WebFetch",
        "mcp__schedules__schedule_create",
    }
    assert {e.tool for e in entries if e.decision == "allowed"} == {
        "Read",
        "Grep",
        "Glob",
        "mcp__schedules__schedule_list",
    }
    tainted[0] = False  # the next turn is the owner's own: everything the role has
    assert await guard(call("Bash", command="ls"), "toolu_2", {"signal": None}) == {}


def test_the_read_only_lists() -> None:
    assert {"Read", "Glob", "Grep"} <= READ_ONLY_BUILTINS
    assert not READ_ONLY_BUILTINS & {"Bash", "Write", "Edit", "WebFetch", "WebSearch"}
    assert {"mcp__schedules__schedule_list"} == SCHEDULE_READS
    assert {"mcp__triggers__list_triggers"} == TRIGGER_READS

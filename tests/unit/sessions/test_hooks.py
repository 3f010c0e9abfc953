from __future__ import annotations

from pathlib import Path
from typing import Any

from jobs.sessions.hooks import HookScope, session_hooks, tool_guard
from jobs.sessions.roles import EXTERNAL, OWNER, ToolPolicy
from jobs.storage import AuditRepo, Database
from tests.unit.hook_inputs import pre_tool_use

EXTERNAL_POLICY = ToolPolicy(role="external", names=frozenset({"mcp__tasks__t"}), any_builtin=False)
SCOPE = HookScope(session_key="external:7", role="external", person_id=7)


async def test_denies_what_the_role_lacks_and_audits(audit: AuditRepo) -> None:
    guard = tool_guard(EXTERNAL_POLICY, audit=audit, scope=SCOPE)
    answer = await guard(
        pre_tool_use("Bash", command="cat /etc/passwd"), "toolu_1", {"signal": None}
    )
    decision: Any = answer["hookSpecificOutput"]  # type: ignore[typeddict-item]
    assert decision["permissionDecision"] == "deny"
    assert "Bash" in decision["permissionDecisionReason"]
    [entry] = await audit.latest()
    assert (entry.event, entry.tool, entry.decision) == ("tool_call", "Bash", "denied")
    assert (entry.session_key, entry.role, entry.person_id) == ("external:7", "external", 7)
    assert entry.detail["input"] == {"command": "cat /etc/passwd"}


async def test_allows_the_roles_tools_with_no_opinion(audit: AuditRepo) -> None:
    guard = tool_guard(EXTERNAL_POLICY, audit=audit, scope=SCOPE)
    assert await guard(pre_tool_use("mcp__tasks__t"), "toolu_1", {"signal": None}) == {}
    [entry] = await audit.latest()
    assert (entry.tool, entry.decision) == ("mcp__tasks__t", "allowed")


async def test_owner_allowed_calls_are_audited_with_secrets_redacted(audit: AuditRepo) -> None:
    policy = ToolPolicy(role="owner", names=frozenset(), any_builtin=True)
    owner = HookScope(session_key="owner", role="owner", person_id=None)
    guard = tool_guard(policy, audit=audit, scope=owner)
    command = (
        "curl -H 'Authorization: Bearer abcdef123456' x; OPENAI_API_KEY=sk-abcdefghijklmnopqrstu"
    )
    assert (
        await guard(pre_tool_use("Bash", command=command, token="t0k"), None, {"signal": None})
        == {}
    )
    [entry] = await audit.latest()
    assert (entry.session_key, entry.role, entry.tool, entry.decision) == (
        "owner",
        "owner",
        "Bash",
        "allowed",
    )
    stored = str(entry.detail)
    assert "abcdef123456" not in stored and "sk-abcdefghijklmnopqrstu" not in stored
    assert "t0k" not in stored and entry.detail["input"]["token"] == "[redacted]"


async def test_other_events_pass(audit: AuditRepo) -> None:
    guard = tool_guard(EXTERNAL_POLICY, audit=audit, scope=SCOPE)
    assert await guard({"hook_event_name": "Stop"}, None, {"signal": None}) == {}  # type: ignore[arg-type]


async def test_denial_survives_a_broken_audit(audit: AuditRepo, tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "closed.sqlite")
    await db.close()
    guard = tool_guard(EXTERNAL_POLICY, audit=AuditRepo(db), scope=SCOPE)
    answer = await guard(pre_tool_use("Write"), "toolu_1", {"signal": None})
    assert answer["hookSpecificOutput"]["permissionDecision"] == "deny"  # type: ignore[typeddict-item]


def test_session_hooks_one_guard_for_every_role(audit: AuditRepo) -> None:
    for role in (EXTERNAL, OWNER):
        hooks = session_hooks(role, EXTERNAL_POLICY, audit=audit, scope=SCOPE)
        [matcher] = hooks["PreToolUse"]
        assert matcher.matcher is None and len(matcher.hooks) == 1

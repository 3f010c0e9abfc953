from __future__ import annotations

from typing import Any

from claude_agent_sdk import tool

from jobs.sessions.roles import EXTERNAL, OWNER, TASK, allowed_tool_names, tool_policy
from jobs.tools import ToolServer, ToolServers, text_result


@tool("t", "T.", {})
async def t(_args: dict[str, Any]) -> dict[str, Any]:
    return text_result("")


def registry() -> ToolServers:
    return ToolServers(
        [
            ToolServer.in_process("tasks", [t]),
            ToolServer.in_process("memory", [t]),
            ToolServer.in_process("unlisted", [t]),
        ]
    )


def test_roles_are_data() -> None:
    assert EXTERNAL.builtin_tools == () and EXTERNAL.setting_sources == ()
    assert EXTERNAL.permission_mode == "default" and EXTERNAL.isolated_cwd
    assert OWNER.builtin_tools is None and OWNER.permission_mode == "bypassPermissions"
    assert OWNER.setting_sources == ("project",) and not OWNER.isolated_cwd
    assert TASK.servers == OWNER.servers and "tasks" not in OWNER.servers


def test_allowed_names_come_from_the_roles_servers() -> None:
    assert allowed_tool_names(EXTERNAL, registry()) == {"mcp__tasks__t"}
    assert allowed_tool_names(OWNER, registry()) == {"mcp__memory__t"}


def test_external_policy_allows_nothing_else() -> None:
    policy = tool_policy(EXTERNAL, registry())
    assert policy.allows("mcp__tasks__t")
    assert policy.excess(["mcp__tasks__t", "Bash", "mcp__memory__t"]) == {"Bash", "mcp__memory__t"}
    assert policy.excess([]) == frozenset()


def test_owner_policy_allows_builtins_but_not_foreign_servers() -> None:
    policy = tool_policy(OWNER, registry())
    assert policy.excess(["Bash", "Agent", "Skill", "mcp__memory__t"]) == frozenset()
    assert policy.excess(["mcp__unlisted__t", "mcp__tasks__t"]) == {
        "mcp__unlisted__t",
        "mcp__tasks__t",
    }

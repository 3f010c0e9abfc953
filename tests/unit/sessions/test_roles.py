from __future__ import annotations

from typing import Any

from claude_agent_sdk import tool

from jobs.sessions.roles import (
    EXTERNAL,
    GRANTS,
    OWNER,
    TASK,
    TRIGGER,
    allowed_tool_names,
    task_role,
    tool_policy,
)
from jobs.tools import ToolServer, ToolServers, text_result
from jobs.tools.task_fields import GRANT_NAMES


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
    assert EXTERNAL.builtin_tools == () and EXTERNAL.cwd == "person"
    assert EXTERNAL.permission_mode == "default" and not EXTERNAL.context
    assert OWNER.builtin_tools is None and OWNER.permission_mode == "bypassPermissions"
    assert OWNER.cwd == "workspace" and OWNER.context and OWNER.skills is None
    assert "tasks" not in OWNER.servers


def test_a_task_is_offered_only_its_own_task_unless_the_owner_grants_more() -> None:
    assert TASK.servers == ("task",) and TASK.builtin_tools == ("Read", "Write", "Edit", "Skill")
    assert not TASK.context and TASK.skills == () and TASK.cwd == "task"
    granted = task_role(grants=["memory", "web", "nonsense"], skill="schedule-meeting")
    assert granted.servers == ("task", "memory") and granted.context
    assert granted.builtin_tools is not None and "WebFetch" in granted.builtin_tools
    assert granted.skills == ("schedule-meeting",) and granted.grants == ("memory", "web")
    assert set(GRANTS) == set(GRANT_NAMES)


def test_a_trigger_reads_posts_with_no_tools_at_all() -> None:
    assert TRIGGER.builtin_tools == () and TRIGGER.servers == () and TRIGGER.cwd == "scratch"


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

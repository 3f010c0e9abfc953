"""Roles as data: RoleSpec and OWNER, EXTERNAL, TASK; which tools a role may be offered."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from claude_agent_sdk import PermissionMode, SettingSource

from jobs.tools.registry import ToolServers

MCP_PREFIX: Final = "mcp__"


@dataclass(frozen=True, slots=True)
class RoleSpec:
    """Everything that differs between kinds of session. Only sessions/options.py reads it."""

    name: str
    builtin_tools: tuple[str, ...] | None
    """Claude Code's built-in tools the role keeps: None = Claude Code's default set,
    () = none at all (the CLI gets `tools=[]`, which removes them; allowed_tools would not)."""
    servers: tuple[str, ...]
    """Names in ToolServers the role may have; those not registered are skipped."""
    permission_mode: PermissionMode
    setting_sources: tuple[SettingSource, ...]
    prompt: str
    """Appended to Claude Code's system prompt, or the whole system prompt when the role has
    no built-in tools (Claude Code's prompt describes tools such a role does not have)."""
    isolated_cwd: bool
    """True: the session runs in an empty per-person folder, not in the workspace."""
    deny_by_default: bool
    """True: a PreToolUse hook denies every tool outside the role and audits every call."""
    disallowed_builtins: tuple[str, ...] = ()
    """Built-ins removed from the default set (with builtin_tools=None)."""


# Claude Code tools that start turns on their own: Jobs has its own scheduler and heartbeat,
# and a turn nobody asked for would have no one to answer.
SELF_STARTING_TOOLS: Final = ("CronCreate", "CronDelete", "CronList", "ScheduleWakeup", "Monitor")


# The servers the owner's features register (later issues); absent ones are skipped.
OWNER_SERVERS: Final = (
    "memory",
    "schedules",
    "triggers",
    "delegation",
    "messaging",
    "telegram",
    "extensions",
    "browser",
)

OWNER: Final = RoleSpec(
    name="owner",
    builtin_tools=None,
    servers=OWNER_SERVERS,
    permission_mode="bypassPermissions",
    setting_sources=("project",),
    prompt=(
        "You are Jobs, the owner's personal assistant, talking to the owner over Telegram. "
        "Answer concisely; Telegram renders Markdown."
    ),
    isolated_cwd=False,
    deny_by_default=False,
    disallowed_builtins=SELF_STARTING_TOOLS,
)

EXTERNAL: Final = RoleSpec(
    name="external",
    builtin_tools=(),
    servers=("tasks",),
    permission_mode="default",
    setting_sources=(),
    prompt=(
        "You are Jobs, the assistant of the account owner, talking over Telegram with someone "
        "other than the owner. You can only list this person's tasks (get_my_tasks), update "
        "them (update_task) and send the owner a short summary (send_summary_to_owner). You "
        "cannot read files, run commands, browse, or see anything else of the owner's. Be "
        "brief and polite; do not promise what these tools cannot do."
    ),
    isolated_cwd=True,
    deny_by_default=True,
)

TASK: Final = RoleSpec(
    name="task",
    builtin_tools=None,
    servers=OWNER_SERVERS,
    permission_mode="bypassPermissions",
    setting_sources=("project",),
    prompt=(
        "You are Jobs, working on one task the owner delegated. Keep the task's next step "
        "current, and report to the owner when it is done or stuck."
    ),
    isolated_cwd=False,
    deny_by_default=False,
    disallowed_builtins=SELF_STARTING_TOOLS,
)


@dataclass(frozen=True, slots=True)
class ToolPolicy:
    """The tools a session of one role may be offered (checked against the init message)."""

    role: str
    names: frozenset[str]
    """Explicitly allowed names: MCP tools of the role's servers, plus listed built-ins."""
    any_builtin: bool
    """True when the role keeps Claude Code's default built-ins (they vary by CLI version)."""

    denied: frozenset[str] = frozenset()
    """Built-ins the role removed; offering one of them is a violation too."""

    def allows(self, tool: str, /) -> bool:
        if tool in self.names:
            return True
        return self.any_builtin and not tool.startswith(MCP_PREFIX) and tool not in self.denied

    def excess(self, offered: Iterable[str], /) -> frozenset[str]:
        """The offered tools this role must not have (empty: the session may run)."""
        return frozenset(tool for tool in offered if not self.allows(tool))


def allowed_tool_names(role: RoleSpec, registry: ToolServers, /) -> frozenset[str]:
    """Every tool name the role lists: its built-ins (if listed) and its servers' MCP tools."""
    return frozenset(role.builtin_tools or ()) | registry.tool_names(role.servers)


def tool_policy(role: RoleSpec, registry: ToolServers, /) -> ToolPolicy:
    return ToolPolicy(
        role=role.name,
        names=allowed_tool_names(role, registry),
        any_builtin=role.builtin_tools is None,
        denied=frozenset(role.disallowed_builtins),
    )

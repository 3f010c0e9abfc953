"""Extensions: what the owner's sessions get from owner-managed MCP servers and plugins.

SessionManager asks it before every turn of a role with `extensions` (its ExtensionsSource
protocol); a changed `version` makes the manager restart that session by resume, so a change
made in one turn (a new skill too: Claude Code lists skills when it starts) applies from the
next.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from claude_agent_sdk import McpServerConfig, SdkPluginConfig

from jobs.extensions.mcp_servers import McpServers
from jobs.extensions.plugins import Plugins
from jobs.extensions.skills import SkillStore

logger = logging.getLogger(__name__)


class Extensions:
    """The enabled MCP servers and plugins, as SDK options (implements ExtensionsSource)."""

    def __init__(self, *, mcp: McpServers, plugins: Plugins, skills: SkillStore) -> None:
        self._mcp = mcp
        self._plugins = plugins
        self._skills = skills

    @property
    def version(self) -> int:
        # The counters only grow, so their sum changes whenever any of them does.
        return self._mcp.revision + self._plugins.revision + self._skills.revision

    def mcp_servers(self) -> Mapping[str, McpServerConfig]:
        for entry in self._mcp.entries():
            missing = self._mcp.missing(entry.spec)
            if entry.spec.enabled and missing:
                logger.warning(
                    "MCP server %s left out: %s not set in the environment",
                    entry.name,
                    ", ".join(missing),
                )
        return self._mcp.active()

    def plugins(self) -> Sequence[SdkPluginConfig]:
        return self._plugins.active()[0]

    def tool_prefixes(self) -> frozenset[str]:
        """Names the owner's extra tools start with: `mcp__<server>__`, `mcp__plugin_<name>_`."""
        servers = frozenset(f"mcp__{name}__" for name in self._mcp.active())
        return servers | self._plugins.active()[1]

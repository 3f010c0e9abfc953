"""ToolServers: the MCP servers Jobs can give a session, by name; roles select from it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from claude_agent_sdk import McpServerConfig, SdkMcpTool, create_sdk_mcp_server


@dataclass(frozen=True, slots=True)
class ToolScope:
    """Whom one session serves: the person (None for the owner) and the task (a task's own
    session), so a per-person or per-task server can be scoped to that alone."""

    person_id: int | None = None
    task_id: int | None = None


ServerBuilder = Callable[[ToolScope], McpServerConfig]
"""Builds a server's config for one session, scoped to it."""


def qualified_name(server: str, tool: str, /) -> str:
    """The name Claude Code gives an MCP tool: `mcp__<server>__<tool>`."""
    return f"mcp__{server}__{tool}"


@dataclass(frozen=True, slots=True)
class ToolServer:
    """One MCP server: its name, the tools it exposes, and how to build it for a session.

    `tools` is the declared list the init check compares against; a server that exposes a tool
    it did not declare makes every session using it fail that check (RoleViolation).
    """

    name: str
    tools: frozenset[str]
    build: ServerBuilder

    @property
    def qualified_tools(self) -> frozenset[str]:
        return frozenset(qualified_name(self.name, tool) for tool in self.tools)

    @classmethod
    def shared(cls, name: str, config: McpServerConfig, tools: Iterable[str]) -> ToolServer:
        """A server every session gets the same instance of (an external one, say)."""
        return cls(name=name, tools=frozenset(tools), build=lambda _scope: config)

    @classmethod
    def in_process(cls, name: str, tools: list[SdkMcpTool[Any]]) -> ToolServer:
        """An in-process SDK server built afresh for each session from `tools`."""
        return cls(
            name=name,
            tools=frozenset(t.name for t in tools),
            build=lambda _scope: create_sdk_mcp_server(name, tools=tools),
        )


class ToolServers:
    """Name → ToolServer. Built once in app.py; later features register more servers.

    A role names the servers it may have (RoleSpec.servers); names nobody registered are
    skipped, so a role can list servers of features that are not configured.
    """

    def __init__(self, servers: Iterable[ToolServer] = ()) -> None:
        self._servers: dict[str, ToolServer] = {}
        for server in servers:
            self.register(server)

    def register(self, server: ToolServer, /) -> None:
        if server.name in self._servers:
            raise ValueError(f"an MCP server named {server.name!r} is already registered")
        self._servers[server.name] = server

    def get(self, name: str, /) -> ToolServer | None:
        return self._servers.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._servers

    def __iter__(self) -> Iterator[ToolServer]:
        return iter(self._servers.values())

    def __len__(self) -> int:
        return len(self._servers)

    def select(self, names: Iterable[str], /) -> tuple[ToolServer, ...]:
        """The registered servers among `names`, in the order given."""
        return tuple(self._servers[name] for name in names if name in self._servers)

    def build(self, names: Iterable[str], /, *, scope: ToolScope) -> dict[str, McpServerConfig]:
        """Configs for ClaudeAgentOptions.mcp_servers, built for one session."""
        return {server.name: server.build(scope) for server in self.select(names)}

    def tool_names(self, names: Iterable[str], /) -> frozenset[str]:
        """Qualified names (`mcp__server__tool`) of every tool the named servers expose."""
        found: set[str] = set()
        for server in self.select(names):
            found |= server.qualified_tools
        return frozenset(found)

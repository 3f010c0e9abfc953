from __future__ import annotations

from typing import Any

import pytest
from claude_agent_sdk import tool

from jobs.tools import ToolServer, ToolServers, text_result
from jobs.tools.registry import ToolScope, qualified_name


@tool("ping", "Ping.", {})
async def ping(_args: dict[str, Any]) -> dict[str, Any]:
    return text_result("pong")


def test_qualified_name() -> None:
    assert qualified_name("tasks", "get_my_tasks") == "mcp__tasks__get_my_tasks"


def test_select_skips_unregistered_and_keeps_order() -> None:
    a, b = ToolServer.in_process("a", [ping]), ToolServer.in_process("b", [ping])
    servers = ToolServers([a, b])
    assert servers.select(["b", "missing", "a"]) == (b, a)
    assert servers.tool_names(["a", "missing"]) == {"mcp__a__ping"}
    assert "a" in servers and "missing" not in servers and len(servers) == 2


def test_duplicate_name_refused() -> None:
    servers = ToolServers([ToolServer.in_process("a", [ping])])
    with pytest.raises(ValueError, match="already registered"):
        servers.register(ToolServer.in_process("a", [ping]))


def test_build_passes_the_person() -> None:
    seen: list[ToolScope] = []
    config: Any = {"type": "sdk", "name": "x", "instance": None}

    def build(scope: ToolScope) -> Any:
        seen.append(scope)
        return config

    servers = ToolServers([ToolServer(name="x", tools=frozenset({"t"}), build=build)])
    assert servers.build(["x"], scope=ToolScope(person_id=7, task_id=3)) == {"x": config}
    assert seen == [ToolScope(person_id=7, task_id=3)]


def test_in_process_builds_a_fresh_sdk_server() -> None:
    server = ToolServer.in_process("a", [ping])
    first: Any = server.build(ToolScope())
    second: Any = server.build(ToolScope())
    assert first["type"] == "sdk" and first["name"] == "a"
    assert first["instance"] is not second["instance"]
    assert server.qualified_tools == {"mcp__a__ping"}


def test_shared_returns_the_same_config() -> None:
    config: Any = {"type": "http", "url": "http://127.0.0.1:1/mcp"}
    server = ToolServer.shared("web", config, ["fetch"])
    assert server.build(ToolScope()) is config and server.build(ToolScope(person_id=5)) is config

"""The "extensions" tool server: each tool's handler called as the SDK would, without a model."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from jobs.extensions.bundled import sync_bundled_skills
from jobs.extensions.mcp_servers import McpServers
from jobs.extensions.plugins import Plugins
from jobs.extensions.skills import SkillStore
from jobs.tools.extension_catalog import TOOL_NAMES
from jobs.tools.extensions import SERVER_NAME, ExtensionTools
from tests.fakes import mcp_server
from tests.fakes.marketplace import FakePlugin, make_marketplace

ISSUE_TOOLS = {
    "skill_create", "skill_list", "skill_show", "skill_edit", "skill_delete",
    "plugin_marketplace_add", "plugin_marketplace_update", "plugin_search", "plugin_available",
    "plugin_install", "plugin_list", "plugin_enable", "plugin_disable", "plugin_remove",
    "mcp_add", "mcp_list", "mcp_remove", "mcp_enable", "mcp_disable", "mcp_test",
}  # fmt: skip


class Harness:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.environ = {**os.environ, "FAKE_TOKEN": "secret-value-42"}
        bundled = tmp / "bundled"
        (bundled / "builtin").mkdir(parents=True)
        (bundled / "builtin" / "SKILL.md").write_text(
            "---\nname: builtin\ndescription: Bundled.\n---\nSteps.\n"
        )
        sync_bundled_skills(workspace=tmp / "ws", bundled=bundled)
        self.skills = SkillStore(workspace=tmp / "ws", bundled=bundled)
        self.plugins = Plugins(root=tmp / "data/.claude/plugins", state_file=tmp / "data/p.json")
        self.mcp = McpServers(
            path=tmp / "data/mcp_servers.json", reserved={"extensions"}, environ=self.environ
        )
        tools = ExtensionTools(
            skills=self.skills, plugins=self.plugins, mcp=self.mcp, probe_time_limit=20
        ).tools()
        self.handlers = {t.name: t.handler for t in tools}

    async def call(self, tool: str, /, **args: Any) -> tuple[bool, str]:
        result = await self.handlers[tool](args)
        return not result.get("is_error", False), result["content"][0]["text"]


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


def test_the_server_offers_every_tool_the_issue_names(h: Harness) -> None:
    assert set(TOOL_NAMES) >= ISSUE_TOOLS
    assert set(h.handlers) == set(TOOL_NAMES)
    assert SERVER_NAME == "extensions"


async def test_skill_tools(h: Harness) -> None:
    ok, text = await h.call(
        "skill_create", name="daily-plan", description="Plan the day. Use when asked.",
        instructions="1. Look.\n2. Plan.", tools=["list_tasks"],
    )  # fmt: skip
    assert ok and "next message" in text
    ok, text = await h.call("skill_list")
    assert "- builtin (bundled, read-only): Bundled." in text and "- daily-plan: Plan" in text
    ok, text = await h.call("skill_show", name="daily-plan")
    assert ok and "tools:\n- list_tasks" in text
    assert (await h.call("skill_edit", name="daily-plan", description="New."))[0]
    assert h.skills.read("daily-plan").description == "New."
    assert (await h.call("skill_delete", name="daily-plan"))[0]


@pytest.mark.parametrize(
    ("tool", "args", "message"),
    [
        ("skill_create", {"name": "../x", "description": "d", "instructions": "i"}, "not a valid"),
        ("skill_create", {"name": "x"}, "`description` must be given"),
        ("skill_edit", {"name": "builtin", "description": "d"}, "bundled with Jobs"),
        ("skill_delete", {"name": 5}, "`name` must be given as text"),
        ("skill_edit", {"name": "x", "tools": "one"}, "must be a list"),
        ("plugin_install", {"plugin": "ghost"}, "No plugin named 'ghost'"),
        ("plugin_enable", {"plugin": "ghost"}, "not installed"),
        ("plugin_marketplace_add", {"source": "/nope/nowhere"}, "There is no folder"),
        ("mcp_add", {"name": "x", "command": "no-such-binary-xyz"}, "not found on Jobs' PATH"),
        ("mcp_add", {"name": "extensions", "command": "ls"}, "reserved"),
        ("mcp_add", {"name": "x", "type": "http"}, "url"),
        ("mcp_test", {"name": "ghost"}, "no MCP server named 'ghost'"),
    ],
)
async def test_bad_input_is_a_clear_tool_error(
    h: Harness, tool: str, args: dict[str, Any], message: str
) -> None:
    ok, text = await h.call(tool, **args)
    assert not ok and message in text


async def test_plugin_tools(h: Harness) -> None:
    repo = make_marketplace(
        h.tmp / "market", [FakePlugin("notes-sync", "Sync notes", keywords=["notes"])]
    )
    ok, text = await h.call("plugin_marketplace_add", source=str(repo))
    assert ok and "test-market with 1 plugins" in text
    assert "notes-sync@test-market" in (await h.call("plugin_search", query="notes"))[1]
    assert (await h.call("plugin_install", plugin="notes-sync"))[0]
    assert "notes-sync@test-market (installed)" in (await h.call("plugin_available"))[1]
    assert "[disabled]" not in (await h.call("plugin_list"))[1]
    assert "now disabled" in (await h.call("plugin_disable", plugin="notes-sync"))[1]
    assert "already disabled" in (await h.call("plugin_disable", plugin="notes-sync"))[1]
    assert "[disabled]" in (await h.call("plugin_list"))[1]
    assert "Updated test-market" in (await h.call("plugin_marketplace_update"))[1]
    assert (await h.call("plugin_remove", plugin="notes-sync"))[0]
    assert (await h.call("plugin_marketplace_remove", name="test-market"))[0]


async def test_mcp_add_tests_first_and_never_echoes_secrets(h: Harness) -> None:
    command, args = mcp_server.command()
    ok, text = await h.call(
        "mcp_add", name="fake", command=command, args=args, env={"TOKEN": "${FAKE_TOKEN}"}
    )
    assert ok and "offers: echo, add, read_env" in text
    ok, listed = await h.call("mcp_list")
    assert "fake [enabled]" in listed and "TOKEN=${FAKE_TOKEN}" in listed
    ok, tested = await h.call("mcp_test", name="fake")
    assert ok and "- read_env:" in tested
    everything = json.dumps([text, listed, tested])
    assert "secret-value-42" not in everything
    assert (await h.call("mcp_disable", name="fake"))[0]
    assert "fake [disabled]" in (await h.call("mcp_list"))[1]
    assert (await h.call("mcp_remove", name="fake"))[0]


async def test_mcp_add_saves_nothing_when_the_server_fails(h: Harness) -> None:
    _, args = mcp_server.command("--crash", "config missing")
    ok, text = await h.call("mcp_add", name="broken", command=sys.executable, args=args)
    assert not ok and "config missing" in text and "Nothing was saved" in text
    assert h.mcp.entries() == []
    ok, text = await h.call("mcp_add", name="later", command=sys.executable, args=args, test=False)
    assert ok and [e.name for e in h.mcp.entries()] == ["later"]
    ok, text = await h.call("mcp_test", name="later")
    assert not ok and text.startswith("later: The server did not start properly")

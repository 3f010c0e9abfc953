"""Extensions end to end: the scripted model manages skills, plugins and MCP servers through the
"extensions" tools in a real owner session, and the next turn's request shows the result (the
session restarted by resume with the new set); external sessions and tainted turns never get
the owner's servers."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobs.config import load_settings
from jobs.extensions.active import Extensions
from jobs.extensions.bundled import sync_bundled_skills
from jobs.extensions.mcp_servers import McpServers, parse_spec
from jobs.extensions.plugins import Plugins
from jobs.extensions.skills import SkillStore
from jobs.sessions import EXTERNAL, OWNER, SessionManager
from jobs.sessions.keys import OWNER_KEY, SessionKey
from jobs.sessions.options import cli_settings
from jobs.sessions.roles import OWNER_SERVERS
from jobs.sessions.taint import OUTSIDE_TEXT
from jobs.storage import Database
from jobs.tools import ToolServers
from jobs.tools.extensions import ExtensionTools
from tests.fakes import mcp_server
from tests.fakes.anthropic import Call, FakeAnthropic, text, tool_use
from tests.fakes.marketplace import FakePlugin, make_marketplace
from tests.session_stack import session_manager

SECRET = "tok-e2e-7f3a"


@dataclass
class Owner:
    tmp: Path
    manager: SessionManager
    fake: FakeAnthropic
    mcp: McpServers

    async def turn(self, prompt: str, *scripted: object, tainted: bool = False) -> list[Call]:
        """Run one owner turn with `scripted` model answers; the model calls it made."""
        before = len(self.fake.calls)
        self.fake.push(*scripted)  # type: ignore[arg-type]
        await self.manager.run_turn(
            OWNER_KEY, OWNER, prompt, taint=OUTSIDE_TEXT if tainted else None
        )
        return self.fake.calls[before:]


@pytest.fixture
async def owner(
    tmp_path: Path, claude_env: dict[str, str], fake_model: FakeAnthropic
) -> AsyncIterator[Owner]:
    env = {**claude_env, "FAKE_TOKEN": SECRET}  # the CLI's environment (and so the servers')
    workspace, data = tmp_path / "workspace", tmp_path / "data"
    sync_bundled_skills(workspace=workspace)
    skills = SkillStore(workspace=workspace, bundled=None)
    plugins = Plugins(root=data / ".claude" / "plugins", state_file=data / "plugins.json")
    mcp = McpServers(
        path=data / "mcp_servers.json", reserved=OWNER_SERVERS, environ={**os.environ, **env}
    )
    tools = ToolServers([ExtensionTools(skills=skills, plugins=plugins, mcp=mcp).server()])
    db = await Database.open(data / "db.sqlite")
    manager = session_manager(
        db,
        root=tmp_path,
        env=env,
        tools=tools,
        extensions=Extensions(mcp=mcp, plugins=plugins, skills=skills),
    )
    try:
        yield Owner(tmp_path, manager, fake_model, mcp)
    finally:
        await manager.aclose()
        await db.close()


def results(call: Call) -> str:
    return json.dumps(call.tool_results)


async def test_a_created_skill_reaches_the_model(owner: Owner) -> None:
    first = await owner.turn(
        "remember how I like greetings",
        tool_use(
            "mcp__extensions__skill_create",
            {
                "name": "pirate-greeting",
                "description": "Greet like a pirate. Use when the owner says ahoy.",
                "instructions": "1. Say arrr.",
            },
        ),
        text("Saved."),
    )
    assert "pirate-greeting" not in first[0].system_text
    assert "schedule-meeting" in first[0].system_text  # bundled skills are listed
    assert "Created the skill pirate-greeting" in results(first[1])
    [second] = await owner.turn("ahoy")
    assert "pirate-greeting" in second.system_text
    assert "Greet like a pirate" in second.system_text
    assert any("remember how I like greetings" in t for t in second.user_texts)  # resumed


async def test_an_added_mcp_server_is_offered_from_the_next_turn(owner: Owner) -> None:
    command, args = mcp_server.command()
    added = await owner.turn(
        "add my fake server",
        tool_use(
            "mcp__extensions__mcp_add",
            {"name": "fake", "command": command, "args": args, "env": {"TOKEN": "${FAKE_TOKEN}"}},
        ),
        text("Added."),
    )
    assert "offers: echo, add, read_env" in results(added[1])
    assert not {t for t in added[0].offered_tools if t.startswith("mcp__fake__")}
    used = await owner.turn(
        "what is my token?", tool_use("mcp__fake__read_env", {"name": "TOKEN"}), text("ok")
    )
    assert {"mcp__fake__echo", "mcp__fake__read_env"} <= used[0].offered_tools
    assert SECRET in results(used[1])  # ${FAKE_TOKEN} expanded by the CLI, never stored
    assert SECRET not in (owner.tmp / "data" / "mcp_servers.json").read_text()
    assert any("add my fake server" in t for t in used[0].user_texts)  # same conversation

    tainted = await owner.turn(
        "a channel post", tool_use("mcp__fake__echo", {"text": "x"}), text("no"), tainted=True
    )
    assert "is not available here: this session has read text from outside" in results(tainted[1])

    # Tainted for good: even the owner's next turn may not change extensions alone …
    still = await owner.turn(
        "turn it off", tool_use("mcp__extensions__mcp_disable", {"name": "fake"}), text("no")
    )
    assert "this session has read text from outside" in results(still[1])
    await owner.manager.reset(OWNER_KEY)  # … until the owner clears the session (/clear)
    await owner.turn("turn it off", tool_use("mcp__extensions__mcp_disable", {"name": "fake"}))
    [after] = await owner.turn("and now?")
    assert not {t for t in after.offered_tools if t.startswith("mcp__fake__")}


async def test_external_sessions_never_get_owner_servers(owner: Owner) -> None:
    command, args = mcp_server.command()
    owner.mcp.add("fake", parse_spec({"command": command, "args": args}))
    await owner.manager.run_turn(SessionKey.person(42), EXTERNAL, "hi", person_id=42)
    offered = owner.fake.calls[-1].offered_tools
    assert not {t for t in offered if t.startswith("mcp__")}
    [owner_call] = await owner.turn("hello")
    assert "mcp__fake__echo" in owner_call.offered_tools


async def test_an_installed_plugin_brings_its_skill_and_server(owner: Owner) -> None:
    plugin = FakePlugin("echo-kit", "Echo things", skill="shout", mcp=mcp_server.command())
    repo = make_marketplace(owner.tmp / "market", [plugin])
    setup = await owner.turn(
        "install echo-kit",
        tool_use("mcp__extensions__plugin_marketplace_add", {"source": str(repo)}),
        tool_use("mcp__extensions__plugin_install", {"plugin": "echo-kit"}),
        text("Installed."),
    )
    assert "Installed and enabled echo-kit@test-market" in results(setup[2])
    used = await owner.turn(
        "shout hi", tool_use("mcp__plugin_echo-kit_srv__echo", {"text": "hi"}), text("done")
    )
    assert "mcp__plugin_echo-kit_srv__echo" in used[0].offered_tools
    assert "echo-kit:shout" in used[0].system_text
    assert "echo: hi" in results(used[1])

    await owner.turn(
        "disable it", tool_use("mcp__extensions__plugin_disable", {"plugin": "echo-kit"})
    )
    [after] = await owner.turn("still there?")
    assert not {t for t in after.offered_tools if t.startswith("mcp__plugin_echo-kit")}


async def test_mcp_servers_and_shells_never_get_the_claude_api_key(
    tmp_path: Path, claude_env: dict[str, str], fake_model: FakeAnthropic
) -> None:
    key = "sk-ant-api03-not-for-children"
    settings = load_settings(None, data_dir=tmp_path / "data", anthropic_api_key=key)
    env = {k: v for k, v in claude_env.items() if k != "ANTHROPIC_API_KEY"}
    command, args = mcp_server.command()
    servers = McpServers(path=tmp_path / "data" / "mcp_servers.json", reserved=OWNER_SERVERS)
    servers.add("fake", parse_spec({"command": command, "args": args}))
    plugins = Plugins(root=tmp_path / "data" / "plugins", state_file=tmp_path / "p.json")
    skills = SkillStore(workspace=tmp_path / "workspace", bundled=None)
    db = await Database.open(tmp_path / "data" / "db.sqlite")
    manager = session_manager(
        db,
        root=tmp_path,
        env=env,
        tools=ToolServers(),
        cli_settings=cli_settings(settings),
        extensions=Extensions(mcp=servers, plugins=plugins, skills=skills),
    )
    fake_model.push(
        tool_use("mcp__fake__read_env", {"name": "ANTHROPIC_API_KEY"}),
        tool_use("Bash", {"command": "env"}),
        text("ok"),
    )
    try:
        await manager.run_turn(OWNER_KEY, OWNER, "what can my tools see?")
    finally:
        await manager.aclose()
        await db.close()
    [first, env_read, shell] = fake_model.calls[-3:]
    assert "(unset)" in results(env_read)  # the MCP server never had it
    assert "CLAUDE_CONFIG_DIR" in results(shell) and key not in results(shell)
    assert first.headers.get("x-api-key") == "<redacted>"  # the CLI itself had it

"""Extensions as the SessionManager sees them (ExtensionsSource) and the policy prefixes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from jobs.extensions.active import Extensions
from jobs.extensions.mcp_servers import McpServers, parse_spec
from jobs.extensions.plugins import Plugins
from jobs.extensions.skills import SkillStore
from jobs.sessions.options import ExtensionsSource
from jobs.sessions.roles import EXTERNAL, OWNER, TASK, tool_policy
from jobs.tools.registry import ToolServers
from tests.fakes.marketplace import FakePlugin, make_marketplace


@pytest.fixture
def parts(tmp_path: Path) -> tuple[Extensions, McpServers, Plugins, SkillStore]:
    mcp = McpServers(path=tmp_path / "mcp.json", environ={"PATH": "/usr/bin:/bin", "SET": "1"})
    plugins = Plugins(root=tmp_path / "plugins", state_file=tmp_path / "plugins.json")
    skills = SkillStore(workspace=tmp_path / "ws", bundled=None)
    return Extensions(mcp=mcp, plugins=plugins, skills=skills), mcp, plugins, skills


async def test_version_moves_with_every_change(
    parts: tuple[Extensions, McpServers, Plugins, SkillStore], tmp_path: Path
) -> None:
    extensions, mcp, plugins, skills = parts
    source: ExtensionsSource = extensions  # the protocol SessionManager takes
    seen = [source.version]
    mcp.add("one", parse_spec({"command": sys.executable}))
    seen.append(source.version)
    mcp.add("unset", parse_spec({"command": sys.executable, "env": {"K": "${NOT_SET}"}}))
    seen.append(source.version)
    skills.create("tiny", description="d", instructions="i")
    seen.append(source.version)
    repo = make_marketplace(tmp_path / "m", [FakePlugin("p-one")])
    await plugins.add_marketplace(str(repo))
    seen.append(source.version)  # a catalog alone changes nothing sessions get
    await plugins.install("p-one")
    seen.append(source.version)
    assert seen == [0, 1, 2, 3, 3, 4]
    assert set(source.mcp_servers()) == {"one"}  # "unset" waits for its variable
    assert source.tool_prefixes() == {"mcp__one__", "mcp__plugin_p-one_"}
    assert [p["path"] for p in source.plugins()] == [
        str(tmp_path / "plugins/installed/test-market/p-one")
    ]


def test_policy_allows_extension_prefixes_for_the_owner_only() -> None:
    prefixes = ["mcp__one__", "mcp__plugin_p-one_"]
    owner = tool_policy(OWNER, ToolServers(), prefixes=prefixes)
    assert owner.allows("mcp__one__anything") and owner.allows("mcp__plugin_p-one_srv__echo")
    assert not owner.allows("mcp__two__x") and not owner.allows("mcp__plugin_p-two_srv__x")
    assert owner.allows("Bash")
    for role in (EXTERNAL, TASK):
        assert not tool_policy(role, ToolServers(), prefixes=prefixes).allows("mcp__one__x")

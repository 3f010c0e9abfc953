from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.errors import ExtensionError
from jobs.extensions.git import resolve_source
from jobs.extensions.plugins import Plugins
from tests.fakes.marketplace import FakePlugin, commit, make_marketplace, write_marketplace
from tests.unit.tools.conftest import START, FakeClock

PLUGINS = [
    FakePlugin("github-tools", "Issues and pull requests", keywords=["git"], skill="triage"),
    FakePlugin("calendar", "Your calendar", keywords=["meetings"]),
]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def plugins(data: Path) -> Plugins:
    return Plugins(
        root=data / ".claude" / "plugins", state_file=data / "plugins.json", clock=FakeClock(START)
    )


@pytest.fixture
def market(tmp_path: Path) -> Path:
    return make_marketplace(tmp_path / "market", PLUGINS)


def leftovers(plugins_root: Path) -> list[str]:
    """Anything under the plugins folder besides installed content (staging debris)."""
    if not plugins_root.exists():
        return []
    return sorted(p.name for p in plugins_root.iterdir() if p.name.startswith("."))


async def test_add_search_install_enable_remove(plugins: Plugins, market: Path, data: Path) -> None:
    catalog = await plugins.add_marketplace(str(market))
    assert catalog.name == "test-market" and len(catalog.listings) == 2
    assert (data / ".claude/plugins/marketplaces/test-market/.git").is_dir()
    assert [item.name for item in plugins.search("meetings")] == ["calendar"]
    installed = await plugins.install("github-tools")
    assert installed.key == "github-tools@test-market" and installed.enabled
    folder = data / ".claude/plugins/installed/test-market/github-tools"
    assert (folder / "skills/triage/SKILL.md").is_file() and not (folder / ".git").exists()
    configs, prefixes = plugins.active()
    assert configs == [{"type": "local", "path": str(folder)}]
    assert prefixes == {"mcp__plugin_github-tools_"}
    assert plugins.set_enabled("github-tools@test-market", False)
    assert plugins.active() == ([], frozenset())
    stored = json.loads((data / "plugins.json").read_text())
    assert stored["plugins"]["github-tools@test-market"]["enabled"] is False
    reloaded = Plugins(root=data / ".claude/plugins", state_file=data / "plugins.json")
    assert [p.key for p in reloaded.installed()] == ["github-tools@test-market"]
    await plugins.remove("github-tools")
    assert not folder.exists() and plugins.installed() == []
    assert plugins.revision == 3
    assert leftovers(data / ".claude/plugins") == []


async def test_unknown_and_ambiguous_plugins(
    plugins: Plugins, market: Path, tmp_path: Path
) -> None:
    await plugins.add_marketplace(str(market))
    with pytest.raises(ExtensionError, match="No plugin named 'nope' in any added marketplace"):
        await plugins.install("nope")
    other = make_marketplace(tmp_path / "other", [FakePlugin("calendar")], name="other-market")
    await plugins.add_marketplace(str(other))
    with pytest.raises(ExtensionError, match="calendar@other-market, calendar@test-market"):
        await plugins.install("calendar")
    assert (await plugins.install("calendar@other-market")).marketplace == "other-market"
    with pytest.raises(ExtensionError, match="not installed"):
        plugins.set_enabled("github-tools", True)
    with pytest.raises(ExtensionError, match="no marketplace 'ghost'"):
        plugins.available("ghost")


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("{broken", "plugin.json is not valid JSON"),
        ({"version": "1"}, "name: Field required"),
        ({"name": "someone-else"}, "names 'someone-else', but the marketplace lists 'bad'"),
    ],
)
async def test_a_broken_plugin_installs_nothing(
    plugins: Plugins, tmp_path: Path, data: Path, manifest: object, message: str
) -> None:
    repo = make_marketplace(tmp_path / "m", [FakePlugin("bad", manifest=manifest)])  # type: ignore[arg-type]
    await plugins.add_marketplace(str(repo))
    with pytest.raises(ExtensionError, match=message):
        await plugins.install("bad")
    assert plugins.installed() == []
    assert not (data / ".claude/plugins/installed/test-market/bad").exists()
    assert leftovers(data / ".claude/plugins") == []


async def test_a_plugin_with_broken_mcp_json_installs_nothing(
    plugins: Plugins, tmp_path: Path
) -> None:
    repo = make_marketplace(tmp_path / "m", [FakePlugin("mcpish")])
    (repo / "plugins/mcpish/.mcp.json").write_text("{nope")
    commit(repo, "broken mcp")
    await plugins.add_marketplace(str(repo))
    with pytest.raises(ExtensionError, match=r"\.mcp\.json is not valid JSON"):
        await plugins.install("mcpish")
    assert plugins.installed() == []


async def test_a_source_outside_the_marketplace_is_refused(
    plugins: Plugins, tmp_path: Path
) -> None:
    repo = make_marketplace(tmp_path / "m", [FakePlugin("ok")])
    manifest = json.loads((repo / ".claude-plugin/marketplace.json").read_text())
    manifest["plugins"] = [
        {"name": "escape", "source": "../../"},
        {"name": "gone", "source": "./plugins/missing"},
        {"name": "remote", "source": {"source": "npm", "package": "x"}},
    ]
    (repo / ".claude-plugin/marketplace.json").write_text(json.dumps(manifest))
    commit(repo, "bad sources")
    await plugins.add_marketplace(str(repo))
    for name, message in [
        ("escape", "points outside its marketplace"),
        ("gone", "which it lacks"),
        ("remote", "'npm' is not supported"),
    ]:
        with pytest.raises(ExtensionError, match=message):
            await plugins.install(name)


async def test_a_plugin_from_its_own_git_repository(plugins: Plugins, tmp_path: Path) -> None:
    own = make_marketplace(tmp_path / "own", [FakePlugin("inner")])  # any repo will do
    repo = make_marketplace(tmp_path / "m", [])
    manifest = json.loads((repo / ".claude-plugin/marketplace.json").read_text())
    manifest["plugins"] = [
        {
            "name": "inner",
            "source": {"source": "git-subdir", "url": str(own), "path": "plugins/inner"},
        }
    ]
    (repo / ".claude-plugin/marketplace.json").write_text(json.dumps(manifest))
    commit(repo, "remote plugin")
    await plugins.add_marketplace(str(repo))
    installed = await plugins.install("inner")
    assert installed.key == "inner@test-market"


async def test_bad_marketplaces_leave_nothing_behind(
    plugins: Plugins, tmp_path: Path, data: Path
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    empty = tmp_path / "empty"
    make_marketplace(empty, [])
    (empty / ".claude-plugin/marketplace.json").unlink()
    commit(empty, "no manifest")
    for source, message in [
        (str(plain), "is a folder but not a git repository"),
        (str(tmp_path / "missing"), "There is no folder"),
        (str(empty), "has no .claude-plugin/marketplace.json"),
        ("not a source at all", "neither a git URL"),
        ("--upload-pack=evil", "Give a git URL"),
        ("http://127.0.0.1:1/market.git", "git clone failed"),
    ]:
        with pytest.raises(ExtensionError, match=message):
            await plugins.add_marketplace(source)
    assert plugins.marketplaces() == {}
    assert not (data / "plugins.json").exists()
    assert leftovers(data / ".claude/plugins") == []
    assert not (data / ".claude/plugins/marketplaces").exists() or not any(
        (data / ".claude/plugins/marketplaces").iterdir()
    )


async def test_update_swaps_in_a_valid_catalog_and_reports_outdated(
    plugins: Plugins, market: Path
) -> None:
    await plugins.add_marketplace(str(market))
    await plugins.install("calendar")
    with pytest.raises(ExtensionError, match="already added"):
        await plugins.add_marketplace(str(market))
    write_marketplace(
        market, [*PLUGINS[:1], FakePlugin("calendar", version="2.0.0")], name="test-market"
    )
    new_head = commit(market, "calendar 2")
    update = await plugins.update_marketplace("test-market")
    assert update.commit == new_head and update.outdated == ("calendar@test-market",)
    assert (await plugins.install("calendar")).version == "2.0.0"
    (market / ".claude-plugin/marketplace.json").write_text("{broken")
    commit(market, "broken")
    with pytest.raises(ExtensionError, match="not valid JSON"):
        await plugins.update_marketplace("test-market")
    assert len(plugins.catalog("test-market").listings) == 2  # the old clone stays
    with pytest.raises(ExtensionError, match="are installed"):
        await plugins.remove_marketplace("test-market")


def test_source_shorthands() -> None:
    assert resolve_source("anthropics/claude-plugins") == (
        "https://github.com/anthropics/claude-plugins.git"
    )
    assert resolve_source("github:a/b") == "https://github.com/a/b.git"
    assert resolve_source("git@github.com:a/b.git") == "git@github.com:a/b.git"

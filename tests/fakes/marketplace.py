"""Local git plugin marketplaces for tests (Claude Code's format), made in a temp dir; no network.

repo = make_marketplace(tmp_path / "market", [FakePlugin("hello-tools", skill="greet")])
await plugins.add_marketplace(str(repo))
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class FakePlugin:
    name: str
    description: str = "A plugin for tests."
    version: str = "1.0.0"
    keywords: list[str] = field(default_factory=list)
    skill: str | None = None
    """A skill the plugin ships (skills/<skill>/SKILL.md)."""
    mcp: tuple[str, list[str]] | None = None
    """(command, args) of an MCP server the plugin ships in .mcp.json, named "srv"."""
    manifest: dict[str, Any] | str | None = None
    """plugin.json: None = a valid one from the fields above; a str is written verbatim."""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def make_marketplace(
    repo: Path, plugins: Iterable[FakePlugin], *, name: str = "test-market"
) -> Path:
    """A git repository holding a marketplace of `plugins` under plugins/<name>/."""
    repo.mkdir(parents=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    write_marketplace(repo, list(plugins), name=name)
    commit(repo, "marketplace")
    return repo


def write_marketplace(repo: Path, plugins: list[FakePlugin], *, name: str) -> None:
    entries = []
    for plugin in plugins:
        write_plugin(repo / "plugins" / plugin.name, plugin)
        entries.append(
            {
                "name": plugin.name,
                "source": f"./plugins/{plugin.name}",
                "description": plugin.description,
                "version": plugin.version,
                "keywords": plugin.keywords,
            }
        )
    manifest = {"name": name, "owner": {"name": "Tests"}, "plugins": entries}
    path = repo / ".claude-plugin" / "marketplace.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2))


def write_plugin(folder: Path, plugin: FakePlugin) -> None:
    meta = folder / ".claude-plugin"
    meta.mkdir(parents=True, exist_ok=True)
    manifest = plugin.manifest
    if manifest is None:
        manifest = {
            "name": plugin.name,
            "version": plugin.version,
            "description": plugin.description,
        }
    text = manifest if isinstance(manifest, str) else json.dumps(manifest)
    (meta / "plugin.json").write_text(text)
    if plugin.skill:
        skill = folder / "skills" / plugin.skill
        skill.mkdir(parents=True, exist_ok=True)
        (skill / "SKILL.md").write_text(
            f"---\nname: {plugin.skill}\ndescription: A skill of {plugin.name}.\n---\n\nDo it.\n"
        )
    if plugin.mcp:
        command, args = plugin.mcp
        servers = {"mcpServers": {"srv": {"command": command, "args": args}}}
        (folder / ".mcp.json").write_text(json.dumps(servers))


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()

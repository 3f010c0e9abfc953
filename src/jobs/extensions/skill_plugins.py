"""SkillPlugins: the owner's skills handed to sessions as a plugin Jobs builds, so that no
Claude Code session ever loads skills (or settings, or CLAUDE.md) from a folder it works in.

The plugin lives under DATA_DIR (no session may write there) and points at the skills folder
(WORKSPACE_DIR/.claude/skills, which a tainted session may not write either): all of them for
the owner's sessions, one for a task's session.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Final

from claude_agent_sdk import SdkPluginConfig

from jobs.errors import ExtensionError
from jobs.extensions.skills import skills_dir
from jobs.extensions.state import check_kebab

logger = logging.getLogger(__name__)

PLUGIN_NAME: Final = "owner-skills"
"""Claude Code names a plugin's skills `<plugin>:<skill>`; the bare name works as well."""


def plugin_skill_names(skill: str, /) -> tuple[str, str]:
    """The names the Skill tool may be given for one of the owner's skills."""
    name = skill.lower()
    return name, f"{PLUGIN_NAME}:{name}"


class SkillPlugins:
    """Implements sessions.options.SkillSource over the owner's skills folder."""

    def __init__(self, *, workspace: Path, root: Path) -> None:
        """`root`: where the generated plugins go (under DATA_DIR)."""
        self._skills = skills_dir(workspace).resolve()
        self._root = root

    def plugin(self, names: tuple[str, ...] | None, /) -> SdkPluginConfig | None:
        if names is None:
            self._skills.mkdir(parents=True, exist_ok=True)
            return self._make("all", {"skills": self._skills})
        links: dict[str, Path] = {}
        for name in names:
            try:
                folder = self._skills / check_kebab(name, "skill")
            except ExtensionError:
                logger.warning("no skill plugin for %r: not a skill name", name[:80])
                continue
            if (folder / "SKILL.md").is_file():
                links[f"skills/{folder.name}"] = folder
        if not links:
            return None
        return self._make(f"only-{'-'.join(sorted(n.split('/')[1] for n in links))}", links)

    def _make(self, label: str, links: dict[str, Path]) -> SdkPluginConfig:
        """The plugin folder `label` with its manifest and `links` (relative path → target)."""
        home = self._root / label
        manifest = home / ".claude-plugin" / "plugin.json"
        if not manifest.is_file():
            manifest.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps({"name": PLUGIN_NAME, "version": "1.0.0"})
            manifest.write_text(text, encoding="utf-8")
        for relative, target in links.items():
            link = home / relative
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() and link.resolve() == target:
                continue
            if link.is_symlink():
                link.unlink()
            link.symlink_to(target, target_is_directory=True)
        return {"type": "local", "path": str(home)}

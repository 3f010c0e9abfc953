"""Skills: SKILL.md parsing and validation, and the owner's skills folder (SkillStore).

A skill is a folder `<name>/SKILL.md` under WORKSPACE_DIR/.claude/skills, where Claude Code
finds it (setting_sources=["project"]). Every path is built from a validated kebab-case name,
so no name can reach outside that folder; bundled skills (jobs.extensions.bundled) cannot be
edited or deleted from chat.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from jobs.atomic import atomic_write
from jobs.errors import ExtensionError
from jobs.extensions.state import check_kebab, remove_tree

logger = logging.getLogger(__name__)

SKILL_FILE: Final = "SKILL.md"
MAX_SKILL_BYTES: Final = 32 * 1024
MAX_DESCRIPTION: Final = 1024
MAX_SKILLS: Final = 200
_FRONT: Final = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
_TOOL: Final = re.compile(r"^[A-Za-z0-9_.:*()-]{1,128}$")


class SkillFrontmatter(BaseModel):
    """The YAML between the `---` lines; keys Claude Code knows beyond these are kept."""

    model_config = ConfigDict(extra="allow")

    name: str
    description: str
    tools: list[str] = []

    @field_validator("name")
    @classmethod
    def _kebab(cls, value: str) -> str:
        try:
            return check_kebab(value, "skill")
        except ExtensionError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("description")
    @classmethod
    def _described(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("say what the skill does and when to use it")
        if len(value) > MAX_DESCRIPTION:
            raise ValueError(f"at most {MAX_DESCRIPTION} characters (got {len(value)})")
        return value

    @field_validator("tools")
    @classmethod
    def _tool_names(cls, value: list[str]) -> list[str]:
        bad = [tool for tool in value if not _TOOL.fullmatch(tool)]
        if bad:
            raise ValueError(f"not tool names: {', '.join(repr(b[:40]) for b in bad[:3])}")
        return value


@dataclass(frozen=True, slots=True)
class Skill:
    """One valid skill: its front matter and the Markdown instructions after it."""

    name: str
    description: str
    body: str
    tools: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, hash=False)

    def render(self) -> str:
        """The SKILL.md text."""
        front: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.tools:
            front["tools"] = list(self.tools)
        front.update(self.extra)
        head = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=100)
        return f"---\n{head}---\n\n{self.body.strip()}\n"


@dataclass(frozen=True, slots=True)
class SkillInfo:
    """A skill folder as listed: valid (problem None) or not (problem says why)."""

    name: str
    description: str
    bundled: bool
    problem: str | None = None


def parse_skill(text: str, /, *, folder: str | None = None) -> Skill:
    """A Skill from SKILL.md text, or ExtensionError naming what is wrong."""
    if len(text.encode()) > MAX_SKILL_BYTES:
        raise ExtensionError(f"{SKILL_FILE} is larger than {MAX_SKILL_BYTES // 1024} KB.")
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    match = _FRONT.match(text)
    if match is None:
        raise ExtensionError(
            f"{SKILL_FILE} must start with YAML front matter between two '---' lines."
        )
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise ExtensionError(f"The front matter is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ExtensionError("The front matter must be a mapping (name: …, description: …).")
    try:
        front = SkillFrontmatter.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "front matter"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise ExtensionError(f"Front matter {where}: {msg}") from None
    if folder is not None and front.name != folder:
        raise ExtensionError(f"The front matter names {front.name!r}, the folder is {folder!r}.")
    return Skill(
        name=front.name,
        description=front.description,
        body=text[match.end() :].strip(),
        tools=tuple(front.tools),
        extra=dict(front.model_extra or {}),
    )


def skills_dir(workspace: Path, /) -> Path:
    """Where Claude Code looks for project skills when the session's cwd is the workspace."""
    return workspace / ".claude" / "skills"


class SkillStore:
    """The owner's skills folder: list, show, create, edit, delete (bundled ones read-only)."""

    def __init__(self, *, workspace: Path, bundled: Path | None) -> None:
        self._dir = skills_dir(workspace)
        self._bundled = (
            frozenset(f.name for f in skill_folders(bundled)) if bundled else frozenset()
        )
        self.revision = 0
        """Counts changes made here: a live session reloads to see them."""

    @property
    def folder(self) -> Path:
        return self._dir

    def is_bundled(self, name: str, /) -> bool:
        return name in self._bundled

    def entries(self) -> list[SkillInfo]:
        return [self._info(folder) for folder in skill_folders(self._dir)]

    def show(self, name: str, /) -> tuple[str, list[str]]:
        """The SKILL.md text and the names of the other files in the skill's folder."""
        path = self._existing(name)
        text = _read_capped(path / SKILL_FILE)
        others = sorted(
            str(p.relative_to(path))
            for p in path.rglob("*")
            if p.is_file() and p.name != SKILL_FILE
        )
        return text, others[:50]

    def read(self, name: str, /) -> Skill:
        return parse_skill(_read_capped(self._existing(name) / SKILL_FILE), folder=name)

    def create(
        self, name: str, /, *, description: str, instructions: str, tools: tuple[str, ...] = ()
    ) -> Skill:
        folder = self._path(name)
        if self.is_bundled(name):
            raise ExtensionError(f"{name!r} is a bundled skill's name; choose another name.")
        if folder.exists():
            raise ExtensionError(f"A skill named {name!r} exists; use skill_edit to change it.")
        if len(skill_folders(self._dir)) >= MAX_SKILLS:
            raise ExtensionError(f"There are already {MAX_SKILLS} skills; delete some first.")
        skill = self._validated(name, description, instructions, tools, {})
        folder.mkdir(parents=True)
        atomic_write(folder / SKILL_FILE, skill.render())
        self.revision += 1
        return skill

    def edit(
        self,
        name: str,
        /,
        *,
        description: str | None = None,
        instructions: str | None = None,
        tools: tuple[str, ...] | None = None,
    ) -> Skill:
        self._writable(name)
        old = self.read(name)
        skill = self._validated(
            name,
            old.description if description is None else description,
            old.body if instructions is None else instructions,
            old.tools if tools is None else tools,
            old.extra,
        )
        atomic_write(self._path(name) / SKILL_FILE, skill.render())
        self.revision += 1
        return skill

    def delete(self, name: str, /) -> None:
        remove_tree(self._writable(name))
        self.revision += 1

    # -- internals ---------------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        check_kebab(name, "skill")
        path = self._dir / name
        # A kebab name has no "/" or "..", so only a planted symlink could lead elsewhere.
        if path.is_symlink() or path.resolve().parent != self._dir.resolve():
            raise ExtensionError(f"The skill folder {name!r} is a link; Jobs does not follow it.")
        return path

    def _existing(self, name: str) -> Path:
        path = self._path(name)
        if not (path / SKILL_FILE).is_file():
            raise ExtensionError(f"There is no skill named {name!r}; skill_list shows them.")
        return path

    def _writable(self, name: str) -> Path:
        path = self._existing(name)
        if self.is_bundled(name):
            raise ExtensionError(
                f"{name!r} is bundled with Jobs and restored at every start, so it cannot be "
                "changed or deleted; create a skill under another name instead."
            )
        return path

    def _validated(
        self,
        name: str,
        description: str,
        instructions: str,
        tools: tuple[str, ...],
        extra: dict[str, Any],
    ) -> Skill:
        if not instructions.strip():
            raise ExtensionError("Give the skill's instructions (Markdown, the steps to follow).")
        draft = Skill(name, description.strip(), instructions.strip(), tools, extra)
        return parse_skill(draft.render(), folder=name)  # one validation for every path in

    def _info(self, folder: Path) -> SkillInfo:
        bundled = self.is_bundled(folder.name)
        try:
            skill = parse_skill(_read_capped(folder / SKILL_FILE), folder=folder.name)
        except ExtensionError as exc:
            return SkillInfo(folder.name, "", bundled, problem=str(exc))
        return SkillInfo(skill.name, skill.description, bundled)


def skill_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / SKILL_FILE).is_file()
    )


def _read_capped(path: Path) -> str:
    with path.open("rb") as f:
        raw = f.read(MAX_SKILL_BYTES + 1)
    if len(raw) > MAX_SKILL_BYTES:
        raise ExtensionError(f"{SKILL_FILE} is larger than {MAX_SKILL_BYTES // 1024} KB.")
    return raw.decode("utf-8", errors="replace")

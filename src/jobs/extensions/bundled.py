"""Bundled skills: found in an installed Jobs or the checkout, kept in the workspace at start."""

from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import jobs
from jobs.errors import ExtensionError
from jobs.extensions.skills import SKILL_FILE, parse_skill, skill_folders, skills_dir
from jobs.extensions.state import remove_tree
from jobs.home import private_dir

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SyncReport:
    installed: tuple[str, ...]
    restored: tuple[str, ...]
    unchanged: tuple[str, ...]
    invalid: tuple[str, ...] = ()


def find_bundled_skills() -> Path | None:
    """The bundled skills: `jobs/bundled_skills` in an installed Jobs, else the checkout's
    skills/ next to src/. None when neither exists."""
    package = Path(jobs.__file__).resolve().parent
    for candidate in (package / "bundled_skills", package.parent.parent / "skills"):
        if candidate.is_dir() and any(candidate.glob(f"*/{SKILL_FILE}")):
            return candidate.resolve()
    return None


def sync_bundled_skills(*, workspace: Path, bundled: Path | None = None) -> SyncReport:
    """Copy every bundled skill into the workspace's skills folder, restoring any the owner
    (or a session) changed or deleted; the owner's own skills are left alone."""
    source = bundled if bundled is not None else find_bundled_skills()
    target = skills_dir(workspace)
    target.mkdir(parents=True, exist_ok=True)
    installed: list[str] = []
    restored: list[str] = []
    unchanged: list[str] = []
    invalid: list[str] = []
    for folder in skill_folders(source) if source is not None else []:
        try:
            parse_skill((folder / SKILL_FILE).read_text(encoding="utf-8"), folder=folder.name)
        except ExtensionError as exc:
            logger.error("bundled skill %s is not valid, not installed: %s", folder.name, exc)
            invalid.append(folder.name)
            continue
        dest = target / folder.name
        if _digest(folder) == _digest(dest):
            unchanged.append(folder.name)
            continue
        (restored if dest.exists() or dest.is_symlink() else installed).append(folder.name)
        _replace_tree(folder, dest)
    if restored:
        logger.info("restored bundled skills: %s", ", ".join(restored))
    return SyncReport(tuple(installed), tuple(restored), tuple(unchanged), tuple(invalid))


def _digest(folder: Path) -> str | None:
    """A hash over the folder's file names and contents (None if missing)."""
    if not folder.is_dir() or folder.is_symlink():
        return None
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _replace_tree(source: Path, dest: Path) -> None:
    staging = dest.with_name(f".{dest.name}.incoming")
    remove_tree(staging)
    # Copied as the owner's own files (umask), not with the checkout's 0644/0755.
    shutil.copytree(source, staging, symlinks=False, copy_function=shutil.copyfile)
    for folder in (staging, *(p for p in staging.rglob("*") if p.is_dir())):
        private_dir(folder)
    remove_tree(dest)
    staging.rename(dest)

"""`jobs restore`: put a `jobs backup` archive in place of DATA_DIR and WORKSPACE_DIR.

Nothing is touched until the whole archive is checked (every file's hash, the database whole, its
schema no newer than this Jobs knows) and `jobs run` is not using the data folder. What would be
overwritten is kept: each folder is renamed aside (`data.before-restore-<time>`), and a settings
file already there stays, the one from the backup written beside it. Claude Code finds its
transcripts by the workspace's path, so they are moved to the new path: sessions resume.
"""

from __future__ import annotations

import re
import shutil
import tarfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

from jobs.backup import (
    MANIFEST,
    SETTINGS,
    Verified,
    member_content,
    open_archive,
    verify_backup,
)
from jobs.config import Settings
from jobs.errors import BackupError
from jobs.home import env_file, private_dir, private_file
from jobs.runlock import RunLock
from jobs.storage.snapshot import known_schema, move_paths

_STAGE: Final = ".restoring"


@dataclass
class Restored:
    """What a restore did: the archive's summary, and where the old files were kept."""

    verified: Verified
    kept: list[Path] = field(default_factory=list)
    settings_beside: Path | None = None
    """The backup's settings, written next to a settings file that was already there."""


def restore_backup(settings: Settings, archive: Path, *, now: datetime) -> Restored:
    verified = verify_backup(archive)
    if verified.database is not None and verified.database.schema > known_schema():
        raise BackupError(
            f"The database in {archive} is schema {verified.database.schema}, newer than this "
            f"Jobs knows ({known_schema()}): upgrade Jobs, then restore. Nothing was changed."
        )
    done = Restored(verified)
    targets = {"data": settings.data_dir, "workspace": settings.workspace_dir}
    stages = {name: _fresh(path.with_name(path.name + _STAGE)) for name, path in targets.items()}
    lock = RunLock(settings.data_dir) if settings.data_dir.is_dir() else None
    try:
        if lock is not None:
            lock.acquire()  # AlreadyRunning: `jobs run` uses this folder
        settings_file = _extract(archive, stages)
        _follow_the_move(stages["data"], verified, settings)
        stamp = now.strftime("%Y%m%d-%H%M%S")
        for name, target in targets.items():
            if _has_files(target):
                done.kept.append(_aside(target, stamp))
            elif target.exists():
                shutil.rmtree(target)
            stages[name].rename(target)
        done.settings_beside = _place_settings(settings_file, env_file(settings.jobs_home))
        _place_session(settings, done, stamp)
    finally:
        if lock is not None:
            lock.release()
        for stage in stages.values():
            shutil.rmtree(stage, ignore_errors=True)
    return done


def _fresh(stage: Path) -> Path:
    shutil.rmtree(stage, ignore_errors=True)  # what an interrupted restore left
    return private_dir(stage)


def _extract(archive: Path, stages: dict[str, Path]) -> bytes | None:
    """Write every file to its stage folder; the settings file's content (not placed yet)."""
    settings_file = None
    with open_archive(archive) as tar:
        for member in tar:
            if member.name == MANIFEST:
                continue
            content = member_content(tar, member, archive).read()
            if member.name == SETTINGS:
                settings_file = content
                continue
            _write(stages, member, content)
    return settings_file


def _write(stages: dict[str, Path], member: tarfile.TarInfo, content: bytes) -> None:
    top, _, rest = member.name.partition("/")
    if top not in stages or not rest:
        raise BackupError(f"The archive holds {member.name!r}, which Jobs never writes: refused.")
    path = stages[top] / rest
    for folder in reversed(path.parents):
        if folder.is_relative_to(stages[top]) and not folder.exists():
            private_dir(folder)
    private_file(path).write_bytes(content)


def _follow_the_move(data: Path, verified: Verified, settings: Settings) -> None:
    """The folders' old paths, stored in the database and in Claude Code's transcript folders
    (claude/projects/<the path, every character but letters and digits made '-'>), made the new
    ones: sessions resume where they left off."""
    manifest = verified.manifest
    moves = [
        (manifest.workspace_dir, str(settings.workspace_dir)),
        (manifest.data_dir, str(settings.data_dir)),
    ]
    moves = [(old, new) for old, new in moves if old != new]
    if (data / "db.sqlite").is_file() and moves:
        move_paths(data / "db.sqlite", moves)
    projects = data / "claude" / "projects"
    if not projects.is_dir():
        return
    for old, new in sorted(moves, key=lambda move: -len(move[0])):
        before, after = _project_name(Path(old)), _project_name(Path(new))
        for folder in list(projects.iterdir()):
            if folder.name.startswith(before):
                folder.rename(projects / (after + folder.name[len(before) :]))


def _project_name(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9]", "-", str(path))


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


def _place_settings(content: bytes | None, target: Path) -> Path | None:
    """The backup's settings at `target`, or beside one already there (returned then)."""
    if content is None:
        return None
    beside = target.exists()
    place = target.with_name(target.name + ".from-backup") if beside else target
    if not place.parent.exists():
        private_dir(place.parent)
    private_file(place).write_bytes(content)
    return place if beside else None


def _place_session(settings: Settings, done: Restored, stamp: str) -> None:
    """A TG_SESSION path outside DATA_DIR gets the backup's login too (the old file kept)."""
    restored = settings.data_dir / "telethon.session"
    wanted = settings.telethon_session_path
    if wanted == restored or not restored.is_file() or settings.tg_session_is_string:
        return
    if wanted.exists():
        done.kept.append(_aside(wanted, stamp))
    if not wanted.parent.exists():
        private_dir(wanted.parent)
    restored.rename(wanted)


def _aside(path: Path, stamp: str) -> Path:
    return path.rename(path.with_name(f"{path.name}.before-restore-{stamp}"))

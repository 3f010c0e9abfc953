"""Where Jobs keeps its files: one home folder, chosen once, never the folder it was started in.

    JOBS_HOME/
      .env         settings (the first run and `jobs login` write what they ask here)
      data/        DATA_DIR unless set: database, Telegram session, Claude transcripts
      workspace/   WORKSPACE_DIR unless set: the owner session's folder

JOBS_HOME is, in order: the variable itself; the checkout Jobs is installed from (where
`./scripts/run` keeps them); else `$XDG_DATA_HOME/jobs` (`~/.local/share/jobs`). Relative
DATA_DIR and WORKSPACE_DIR are taken inside it.

Everything here is the owner's alone (other people's messages, a full Telegram login): folders
are 0700 and files 0600, and an older install's looser modes are tightened at start.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

PRIVATE_DIR: Final = 0o700
PRIVATE_FILE: Final = 0o600
PRIVATE_UMASK: Final = 0o077
"""Set once by the `jobs` command: every file Jobs (and what it starts) creates is private."""

_CHECKOUT: Final = Path(__file__).resolve().parents[2]  # src/jobs/home.py → the checkout


def default_home(environ: Mapping[str, str], /, *, checkout: Path = _CHECKOUT) -> Path:
    """JOBS_HOME, else the checkout Jobs runs from, else the XDG data folder."""
    if explicit := environ.get("JOBS_HOME", "").strip():
        return Path(explicit).expanduser().absolute()
    if (checkout / "pyproject.toml").is_file() and (checkout / "src" / "jobs").is_dir():
        return checkout
    xdg = environ.get("XDG_DATA_HOME", "").strip()
    base = Path(xdg) if xdg else Path(environ.get("HOME") or Path.home()) / ".local" / "share"
    return (base / "jobs").absolute()


def env_file(home: Path, /) -> Path:
    """The settings file in a home."""
    return home / ".env"


def private_dir(path: Path, /) -> Path:
    """Make `path` (and missing parents) a folder only its owner can enter; returns it."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != PRIVATE_DIR:
        path.chmod(PRIVATE_DIR)
    return path


def private_file(path: Path, /) -> Path:
    """Create `path` empty if missing, readable by its owner only, before anything is in it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=PRIVATE_FILE, exist_ok=True)
    tighten_file(path)
    return path


def tighten_file(path: Path, /) -> None:
    """Take group and other permissions off a file (an older install made them 0644)."""
    with contextlib.suppress(FileNotFoundError):
        info = path.lstat()
        mode = stat.S_IMODE(info.st_mode)
        if not stat.S_ISLNK(info.st_mode) and mode & 0o077:
            path.chmod(mode & 0o700)


def tighten(data_dir: Path, workspace_dir: Path, /) -> None:
    """At start: both folders 0700, and the files Jobs keeps in them without group or other
    permissions (database and its -wal/-shm, session, JSON state, uploads)."""
    for folder in (data_dir, workspace_dir):
        private_dir(folder)
    for path in _owned_files(data_dir, workspace_dir / "uploads"):
        tighten_file(path)


def _owned_files(data_dir: Path, uploads: Path) -> Iterable[Path]:
    yield from (p for p in data_dir.iterdir() if p.is_file())
    if uploads.is_dir():
        yield from (p for p in uploads.rglob("*") if p.is_file())


def set_private_umask() -> int:
    """Files created from now on by this process and its children are private; the old mask."""
    return os.umask(PRIVATE_UMASK)

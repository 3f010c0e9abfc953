"""`jobs backup`: one archive of everything Jobs keeps, taken while it runs, and its check.

    jobs-backup.json   the manifest: versions, when, from where, every file's SHA-256
    data/…             DATA_DIR: db.sqlite and telethon.session as consistent copies (SQLite's
                       backup API), Claude's transcripts and login, JSON state, plugins
    workspace/…        WORKSPACE_DIR: MEMORY.md, memory/, uploads, skills, task folders
    settings.env       JOBS_HOME/.env, when there is one

The archive holds a full Telegram login and API keys: it is written 0600, and never left half
written (a temp file renamed at the end). Symbolic links are not followed or kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Final

from pydantic import BaseModel, ValidationError

from jobs import __version__
from jobs.config import Settings
from jobs.errors import BackupError
from jobs.home import env_file, private_file
from jobs.i18n.translator import Translator, english
from jobs.storage.snapshot import Inspection, inspect_copy, known_schema, snapshot

MANIFEST: Final = "jobs-backup.json"
FORMAT: Final = 1
SETTINGS: Final = "settings.env"
_LEFT_OUT: Final = frozenset({"jobs.lock", "run", "tmp"})  # this run's lock, pids, temp files
_COPIED: Final = ("db.sqlite", "telethon.session")  # SQLite files: taken as snapshots


class Manifest(BaseModel):
    """What an archive says about itself (read back from outside text: pydantic)."""

    format: int
    jobs_version: str
    schema_version: int
    created: datetime
    data_dir: str
    workspace_dir: str
    files: dict[str, str]
    """Archive name → SHA-256 of its content."""


@dataclass(frozen=True, slots=True)
class Verified:
    manifest: Manifest
    database: Inspection | None  # None: the backup has no database (Jobs never ran)


def write_backup(settings: Settings, target: Path, *, now: datetime) -> Manifest:
    """Write the archive to `target`; BackupError (and no file) when it cannot."""
    target = target.expanduser().absolute()
    for folder in (settings.data_dir, settings.workspace_dir):
        if target.is_relative_to(folder):
            raise BackupError(f"{target} is inside {folder}, which is backed up: choose another.")
    if not settings.data_dir.is_dir():
        raise BackupError(f"There is nothing to back up: {settings.data_dir} does not exist.")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".jobs-backup-") as scratch:
        partial = private_file(Path(scratch) / "archive.tar.gz")
        copies = _snapshots(settings, Path(scratch))
        with tarfile.open(partial, "w:gz") as archive:
            files = {name: _add(archive, name, path) for name, path in _members(settings, copies)}
            manifest = Manifest(
                format=FORMAT,
                jobs_version=__version__,
                schema_version=inspect_copy(copies["db.sqlite"]).schema
                if "db.sqlite" in copies
                else 0,
                created=now,
                data_dir=str(settings.data_dir),
                workspace_dir=str(settings.workspace_dir),
                files=files,
            )
            _add_bytes(archive, MANIFEST, manifest.model_dump_json(indent=2).encode())
        partial.replace(target)
    return manifest


def _snapshots(settings: Settings, scratch: Path) -> dict[str, Path]:
    sources = {"db.sqlite": settings.db_path, "telethon.session": settings.telethon_session_path}
    copies = {}
    for name, source in sources.items():
        if source.is_file():
            copies[name] = scratch / name
            snapshot(source, copies[name])
    return copies


def _members(settings: Settings, copies: dict[str, Path]) -> Iterator[tuple[str, Path]]:
    settings_file = env_file(settings.jobs_home)
    for name, copy in copies.items():
        yield f"data/{name}", copy
    for root, prefix in ((settings.data_dir, "data"), (settings.workspace_dir, "workspace")):
        for name, path in _tree(root, prefix):
            if path != settings_file and not (prefix == "data" and _data_skipped(path, root)):
                yield name, path
    if settings_file.is_file():
        yield SETTINGS, settings_file


def _data_skipped(path: Path, data_dir: Path) -> bool:
    top = path.relative_to(data_dir).parts[0]
    return top in _LEFT_OUT or top.startswith(_COPIED)


def _tree(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    """Every regular file under `root` (links are neither followed nor kept)."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if not path.is_symlink() and path.is_file():
            yield f"{prefix}/{path.relative_to(root).as_posix()}", path


def _add(archive: tarfile.TarFile, name: str, path: Path) -> str:
    with path.open("rb") as source:
        size = os.fstat(source.fileno()).st_size
        hashing = _Hashing(source, size, name)
        info = tarfile.TarInfo(name)
        info.size, info.mode = size, 0o600
        archive.addfile(info, hashing)
        return hashing.hexdigest()


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    archive.addfile(info, io.BytesIO(data))


class _Hashing(io.RawIOBase):
    """Reads a file once for the archive, hashing it on the way; a file that shrank while it
    was read (being rewritten) is an error, not a torn copy."""

    def __init__(self, source: IO[bytes], size: int, name: str) -> None:
        self._source, self._left, self._name = source, size, name
        self._hash = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self._source.read(self._left if n < 0 else min(n, self._left))
        if not data and self._left:
            raise BackupError(f"{self._name} changed while it was read: run jobs backup again.")
        self._left -= len(data)
        self._hash.update(data)
        return data

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def verify_backup(archive: Path) -> Verified:
    """Check every file against the manifest and the database copy; BackupError saying what is
    wrong. Changes nothing."""
    with open_archive(archive) as tar:
        manifest = _manifest(tar, archive)
        seen: dict[str, str] = {}
        database = None
        for member in tar:
            if member.name == MANIFEST:
                continue
            content = member_content(tar, member, archive)
            if member.name == "data/db.sqlite":
                data = content.read()
                database = _inspect_bytes(data)
                seen[member.name] = hashlib.sha256(data).hexdigest()
            else:
                seen[member.name] = _digest(content)
    if seen != manifest.files:
        bad = sorted(set(seen.items()) ^ set(manifest.files.items()))
        raise BackupError(
            f"{archive} does not match its manifest ({bad[0][0]} and {len(bad) - 1} more): "
            "it is damaged; use another backup."
        )
    if database is not None and not database.whole:
        raise BackupError(f"The database in {archive} is damaged ({database.problem}).")
    return Verified(manifest, database)


@contextlib.contextmanager
def open_archive(archive: Path) -> Iterator[tarfile.TarFile]:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            yield tar
    except FileNotFoundError:
        raise BackupError(f"There is no file {archive}.") from None
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(f"{archive} is not a Jobs backup, or it is damaged ({exc}).") from None


def _manifest(tar: tarfile.TarFile, archive: Path) -> Manifest:
    try:
        text = member_content(tar, tar.getmember(MANIFEST), archive).read()
        manifest = Manifest.model_validate_json(text)
    except (KeyError, ValidationError, json.JSONDecodeError):
        raise BackupError(f"{archive} is not a Jobs backup (no valid {MANIFEST}).") from None
    if manifest.format > FORMAT:
        raise BackupError(
            f"{archive} was written by a newer Jobs ({manifest.jobs_version}): upgrade Jobs."
        )
    return manifest


def member_content(tar: tarfile.TarFile, member: tarfile.TarInfo, archive: Path) -> IO[bytes]:
    """A regular file's content; anything else (a link, a device, a path out of the archive's
    folders) means the archive was not written by Jobs."""
    name = Path(member.name)
    if not member.isfile() or name.is_absolute() or ".." in name.parts:
        raise BackupError(f"{archive} holds {member.name!r}, which Jobs never writes: refused.")
    extracted = tar.extractfile(member)
    assert extracted is not None  # a regular file always has content
    return extracted


def _digest(content: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := content.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def _inspect_bytes(data: bytes) -> Inspection:
    with tempfile.TemporaryDirectory(prefix="jobs-verify-") as folder:
        copy = Path(folder) / "db.sqlite"
        copy.write_bytes(data)
        return inspect_copy(copy)


def describe(verified: Verified, t: Translator | None = None) -> str:
    """One line for the person, in `t`'s words: what the archive holds."""
    t = t or english()
    manifest, db = verified.manifest, verified.database
    schema = (
        t.gettext("database schema {n}", n=db.schema)
        if db is not None
        else t.gettext("no database")
    )
    newer = (
        t.gettext(" (this Jobs knows up to {n})", n=known_schema())
        if db and db.schema > known_schema()
        else ""
    )
    files = t.ngettext("{n} file", "{n} files", len(manifest.files))
    return t.gettext(
        "{files}, {schema}{newer}, written by Jobs {version} on {when} UTC from {folder}",
        files=files,
        schema=schema,
        newer=newer,
        version=manifest.jobs_version,
        when=manifest.created.strftime("%Y-%m-%d %H:%M"),
        folder=manifest.data_dir,
    )

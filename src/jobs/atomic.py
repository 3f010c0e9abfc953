"""atomic_write: replace a file so that a crash leaves the old text or the new, never half.

The text goes to a temp file in the same folder (named `.<name>.*.tmp`), is fsynced, renamed
over the old file, and the folder is fsynced. On a full disk it raises DiskFull and the old
file is untouched (the temp file is removed).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Final

from jobs.errors import DiskFull

TEMP_SUFFIX: Final = ".tmp"
"""What a temp file a crash left behind ends with (see memory.files.sweep_temp)."""


def atomic_write(path: Path, text: str, /, *, mode: int | None = None) -> None:
    """Replace `path` with `text`. `mode`: the file's permissions; None keeps the mode of the
    file it replaces (the owner's choice). DiskFull when the disk (or quota) is full."""
    try:
        _replace(path, text, mode)
    except OSError as exc:
        if DiskFull.caused(exc):
            raise DiskFull(path, path.name) from exc
        raise
    _fsync_dir(path.parent)


def _replace(path: Path, text: str, mode: int | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode())
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            Path(temp).chmod(mode)
        else:
            with contextlib.suppress(FileNotFoundError):
                Path(temp).chmod(path.stat().st_mode & 0o777)
        Path(temp).replace(path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

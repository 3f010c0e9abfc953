from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from jobs.atomic import atomic_write
from jobs.errors import DiskFull
from jobs.memory.files import MemoryFiles, PathRefused

OLD = "# Memory\n\n## Notes\n\n- the old text, whole\n"
NEW = "# Memory\n\n## Notes\n\n" + "".join(f"- new entry {i}\n" for i in range(5000))

# Run in a child process that kills itself (SIGKILL: no cleanup, no finally) at one point
# of atomic_write, as a power cut or an OOM kill would.
CRASH = """
import os, signal, sys
from pathlib import Path
from jobs.atomic import atomic_write

def die(*_args, **_kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

class HalfWriter:
    def __init__(self, raw):
        self.raw = raw
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        self.raw.close()
    def write(self, data):
        self.raw.write(data[: len(data) // 2])
        self.raw.flush()
        die()
    def __getattr__(self, name):
        return getattr(self.raw, name)

point, target = sys.argv[1], Path(sys.argv[2])
if point == "mid-write":
    real_fdopen = os.fdopen
    os.fdopen = lambda fd, mode: HalfWriter(real_fdopen(fd, mode))
elif point == "fsync":
    os.fsync = die
elif point == "rename":
    Path.replace = die
atomic_write(target, sys.argv[3])
"""


@pytest.mark.parametrize("point", ["mid-write", "fsync", "rename"])
def test_a_crash_during_a_write_leaves_the_old_file_whole(
    point: str, files: MemoryFiles, workspace: Path
) -> None:
    target = workspace / "MEMORY.md"
    target.write_text(OLD)
    child = subprocess.run(
        [sys.executable, "-c", CRASH, point, str(target), NEW], capture_output=True, timeout=60
    )
    assert child.returncode == -9, child.stderr.decode()
    assert target.read_text() == OLD
    leftovers = list(workspace.glob(".MEMORY.md.*.tmp"))
    assert len(leftovers) == 1  # what the crash left: never read as memory
    assert files.listing().keys() == {"MEMORY.md"}
    assert files.sweep_temp() == 1
    assert not list(workspace.glob(".*.tmp"))
    atomic_write(target, NEW)  # and the next write works
    assert target.read_text() == NEW


def test_a_failed_write_leaves_the_old_file_and_no_temp(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = workspace / "MEMORY.md"
    target.write_text(OLD)

    def disk_full(self: Path, other: Path) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", disk_full)
    with pytest.raises(DiskFull, match=r"disk is full, so MEMORY\.md could not be saved") as caught:
        atomic_write(target, NEW)
    assert "nothing there was changed" in str(caught.value)
    assert target.read_text() == OLD
    assert [p.name for p in workspace.iterdir()] == ["MEMORY.md"]


def test_other_write_errors_stay_os_errors(workspace: Path) -> None:
    (workspace / "memory").write_text("a file where the folder should be")
    with pytest.raises(OSError) as caught:
        atomic_write(workspace / "memory" / "2026-11-27.md", "x\n")
    assert not isinstance(caught.value, DiskFull)


def test_atomic_write_keeps_the_file_mode(workspace: Path) -> None:
    target = workspace / "memory" / "2026-11-27.md"
    atomic_write(target, "one\n")
    target.chmod(0o640)
    atomic_write(target, "two\n")
    assert target.read_text() == "two\n" and target.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(
    "name",
    [
        "../secrets.md",
        "/etc/passwd",
        "memory/../../outside.md",
        "memory/../MEMORY.txt",
        "memory/notes.txt",
        "uploads/file.md",
        ".claude/skills/x/SKILL.md",
        "2026-02-30",
        "2026-1-5",
    ],
)
def test_only_memory_files_resolve(name: str, files: MemoryFiles) -> None:
    with pytest.raises(PathRefused):
        files.resolve(name)


def test_memory_names_resolve(files: MemoryFiles, workspace: Path) -> None:
    root = workspace.resolve()
    assert files.resolve("MEMORY.md") == root / "MEMORY.md"
    assert files.resolve("today") == root / "memory" / "2026-11-27.md"
    assert files.resolve("yesterday") == root / "memory" / "2026-11-26.md"
    assert files.resolve("2025-01-31") == root / "memory" / "2025-01-31.md"
    cited = "memory/conversations/2026-11-27.md"
    assert files.resolve(cited) == root / cited


def test_a_symlink_out_of_memory_is_refused(files: MemoryFiles, tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("secret")
    files.memory_dir.mkdir()
    (files.memory_dir / "link.md").symlink_to(outside)
    with pytest.raises(PathRefused):
        files.resolve("memory/link.md")


async def test_writes_outside_memory_are_refused(files: MemoryFiles, workspace: Path) -> None:
    with pytest.raises(PathRefused):
        await files.write(workspace / "CLAUDE.md", "x")
    with pytest.raises(PathRefused):
        await files.write(files.memory_dir / ".." / "notes.md", "x")
    assert not (workspace / "CLAUDE.md").exists()


def test_log_days_are_validated(files: MemoryFiles) -> None:
    assert files.writable_day(None) == date(2026, 11, 27)
    assert files.writable_day("yesterday") == date(2026, 11, 26)
    assert files.writable_day("2026-01-02") == date(2026, 1, 2)
    with pytest.raises(PathRefused, match="in the future"):
        files.writable_day("2026-11-28")
    with pytest.raises(PathRefused, match="not a date"):
        files.writable_day("next tuesday")


async def test_append_starts_with_a_header_and_reports_lines(files: MemoryFiles) -> None:
    path = files.daily_path(date(2026, 11, 27))
    assert await files.append(path, "- one", header="# 2026-11-27\n\n") == (3, 3)
    assert await files.append(path, "- two\n  more", header="unused") == (4, 5)
    assert path.read_text() == "# 2026-11-27\n\n- one\n- two\n  more\n"


async def test_edit_that_raises_writes_nothing(files: MemoryFiles) -> None:
    await files.write(files.memory_path, OLD)

    def refuse(_text: str) -> str:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        await files.edit(files.memory_path, refuse)
    assert files.memory_path.read_text() == OLD

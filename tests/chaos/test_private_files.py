"""What a real `jobs run` keeps is its owner's alone: DATA_DIR and WORKSPACE_DIR 0700, the files
it makes there 0600 (the database and its -wal/-shm, the Telegram session, JSON state, uploads),
and an older install's looser modes are tightened at start."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

from tests.chaos.conftest import OWNER_ID, Rig, wait_until
from tests.chaos.test_storage_faults import REPORT, document
from tests.fakes.anthropic import text


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def loose(folder: Path) -> list[str]:
    """Files and folders under `folder` that group or others may read."""
    found = (p for p in folder.rglob("*") if not p.is_symlink())
    return [f"{p} {mode(p):o}" for p in found if mode(p) & 0o077]


def older_install(data: Path, workspace: Path) -> None:
    """Folders 0755 and a database 0644, as Jobs made them before."""
    for folder in (data, workspace):
        folder.mkdir(mode=0o755, parents=True)
        folder.chmod(0o755)
    sqlite3.connect(data / "db.sqlite").close()
    (data / "db.sqlite").chmod(0o644)


async def test_everything_jobs_keeps_is_private(rig: Rig) -> None:
    data, workspace = Path(rig.env["DATA_DIR"]), Path(rig.env["WORKSPACE_DIR"])
    older_install(data, workspace)
    rig.model.push(text("Got the file."))
    child = await rig.start_jobs()
    rig.tg.outgoing(OWNER_ID, "", media=document(rig.tg, "report.pdf", REPORT))
    await wait_until(lambda: rig.created("Got the file."), what="the file taken")
    await rig.settled()

    assert mode(data) == 0o700 and mode(workspace) == 0o700
    files = {
        name: mode(data / name)
        for name in ("db.sqlite", "db.sqlite-wal", "db.sqlite-shm", "telethon.session")
    }
    assert files == dict.fromkeys(files, 0o600)
    assert mode(data / "run" / "cli-pids.json") == 0o600
    assert mode(workspace / "uploads" / "report.pdf") == 0o600
    assert loose(data) + loose(workspace) == []  # nothing there is anyone else's to read
    child.kill_group()
    await child.proc.wait()

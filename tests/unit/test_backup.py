"""jobs backup / jobs restore on real folders and a real SQLite database: a round trip, what is
left out, what a restore keeps, and every archive it refuses (nothing changed then)."""

from __future__ import annotations

import io
import sqlite3
import stat
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobs.backup import MANIFEST, verify_backup, write_backup
from jobs.config import Settings, load_settings
from jobs.errors import AlreadyRunning, BackupError
from jobs.restore import restore_backup
from jobs.runlock import RunLock
from jobs.storage import Database
from jobs.storage.snapshot import known_schema

NOW = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)


def settings_in(home: Path) -> Settings:
    return load_settings(None, jobs_home=home, data_dir="data", workspace_dir="workspace")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def project(settings: Settings) -> str:
    return "".join(c if c.isalnum() else "-" for c in str(settings.workspace_dir))


async def old_install(home: Path) -> Settings:
    settings = settings_in(home)
    data, workspace = settings.data_dir, settings.workspace_dir
    async with await Database.open(settings.db_path) as db:
        await db.execute(
            "INSERT INTO sessions (key, role, cwd, created_at, last_used_at)"
            " VALUES ('owner', 'owner', ?, '2026-12-01', '2026-12-01')",
            (str(workspace),),
        )
    sqlite3.connect(data / "telethon.session").close()
    transcripts = data / "claude" / "projects" / project(settings)
    transcripts.mkdir(parents=True)
    (transcripts / "abc.jsonl").write_text('{"type":"user"}\n')
    (data / "mcp_servers.json").write_text("{}")
    for left_out in ("jobs.lock", "run/cli-pids.json", "tmp/claude/x"):
        (data / left_out).parent.mkdir(parents=True, exist_ok=True)
        (data / left_out).write_text("this run's")
    (workspace / "uploads").mkdir(parents=True)
    (workspace / "MEMORY.md").write_text("- tea, no sugar\n")
    (workspace / "uploads" / "scan.pdf").write_bytes(b"%PDF")
    (home / ".env").write_text("TG_API_ID=1\n")
    return settings


async def test_round_trip_to_another_folder(tmp_path: Path) -> None:
    old = await old_install(tmp_path / "old")
    archive = tmp_path / "jobs.tar.gz"
    manifest = write_backup(old, archive, now=NOW)
    assert mode(archive) == 0o600
    names = set(manifest.files)
    assert {"data/db.sqlite", "data/telethon.session", "data/mcp_servers.json"} <= names
    assert {"workspace/MEMORY.md", "workspace/uploads/scan.pdf", "settings.env"} <= names
    assert not [n for n in names if n.startswith(("data/run", "data/tmp", "data/jobs.lock"))]
    assert verify_backup(archive).database is not None

    new = settings_in(tmp_path / "new")
    done = restore_backup(new, archive, now=NOW)
    assert done.kept == [] and done.settings_beside is None
    assert (new.workspace_dir / "MEMORY.md").read_text() == "- tea, no sugar\n"
    assert (new.jobs_home / ".env").read_text() == "TG_API_ID=1\n"
    assert (new.data_dir / "claude" / "projects" / project(new) / "abc.jsonl").is_file()
    with sqlite3.connect(new.db_path) as db:
        [(cwd,)] = db.execute("SELECT cwd FROM sessions").fetchall()
    assert cwd == str(new.workspace_dir)  # the session resumes in its new folder
    assert mode(new.data_dir) == mode(new.workspace_dir) == 0o700
    assert mode(new.workspace_dir / "uploads" / "scan.pdf") == 0o600


async def test_restore_keeps_what_it_replaces(tmp_path: Path) -> None:
    settings = await old_install(tmp_path / "home")
    archive = tmp_path / "jobs.tar.gz"
    write_backup(settings, archive, now=NOW)
    (settings.workspace_dir / "MEMORY.md").write_text("- written after the backup\n")
    (settings.jobs_home / ".env").write_text("TG_API_ID=2\n")

    done = restore_backup(settings, archive, now=NOW)
    stamp = "before-restore-20261205-093000"
    assert done.kept == [
        settings.data_dir.with_name(f"data.{stamp}"),
        settings.workspace_dir.with_name(f"workspace.{stamp}"),
    ]
    assert (done.kept[1] / "MEMORY.md").read_text() == "- written after the backup\n"
    assert (settings.workspace_dir / "MEMORY.md").read_text() == "- tea, no sugar\n"
    assert (settings.jobs_home / ".env").read_text() == "TG_API_ID=2\n"
    assert done.settings_beside == settings.jobs_home / ".env.from-backup"
    assert done.settings_beside.read_text() == "TG_API_ID=1\n"


async def test_restore_refuses_a_newer_schema_and_changes_nothing(tmp_path: Path) -> None:
    settings = await old_install(tmp_path / "home")
    with sqlite3.connect(settings.db_path) as db:
        db.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'x', 'now')",
            (known_schema() + 1,),
        )
    archive = tmp_path / "jobs.tar.gz"
    write_backup(settings, archive, now=NOW)
    target = settings_in(tmp_path / "target")
    with pytest.raises(BackupError, match="newer than this Jobs knows") as info:
        restore_backup(target, archive, now=NOW)
    assert "Nothing was changed" in str(info.value)
    assert not target.data_dir.exists() and not target.jobs_home.exists()


async def test_restore_refuses_while_jobs_runs(tmp_path: Path) -> None:
    settings = await old_install(tmp_path / "home")
    archive = tmp_path / "jobs.tar.gz"
    write_backup(settings, archive, now=NOW)
    with RunLock(settings.data_dir), pytest.raises(AlreadyRunning):
        restore_backup(settings, archive, now=NOW)
    assert (settings.workspace_dir / "MEMORY.md").is_file()
    assert kept_aside(settings.jobs_home) == []


def kept_aside(home: Path) -> list[Path]:
    return list(home.glob("*.before-restore-*"))


def rewrite(archive: Path, change: dict[str, bytes]) -> None:
    """The archive with some members' content replaced (the manifest left as it was)."""
    with tarfile.open(archive) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar if m.isfile()]  # type: ignore[union-attr]
    with tarfile.open(archive, "w:gz") as tar:
        for member, data in members:
            data = change.get(member.name, data)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))


async def test_a_damaged_or_foreign_archive_is_refused(tmp_path: Path) -> None:
    settings = await old_install(tmp_path / "home")
    archive = tmp_path / "jobs.tar.gz"
    write_backup(settings, archive, now=NOW)
    rewrite(archive, {"workspace/MEMORY.md": b"- tampered\n"})
    with pytest.raises(BackupError, match="does not match its manifest"):
        verify_backup(archive)
    with pytest.raises(BackupError, match="damaged; use another backup"):
        restore_backup(settings, archive, now=NOW)
    assert (settings.workspace_dir / "MEMORY.md").read_text() == "- tea, no sugar\n"

    not_tar = tmp_path / "notes.txt"
    not_tar.write_text("hello")
    with pytest.raises(BackupError, match="is not a Jobs backup, or it is damaged"):
        verify_backup(not_tar)
    with pytest.raises(BackupError, match="There is no file"):
        verify_backup(tmp_path / "missing.tar.gz")


async def test_an_archive_reaching_outside_its_folders_is_refused(tmp_path: Path) -> None:
    settings = await old_install(tmp_path / "home")
    archive = tmp_path / "jobs.tar.gz"
    write_backup(settings, archive, now=NOW)
    with tarfile.open(archive) as tar:
        manifest = tar.extractfile(MANIFEST).read()  # type: ignore[union-attr]
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        for name, data in (("../outside.txt", b"x"), (MANIFEST, manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(BackupError, match="which Jobs never writes: refused"):
        restore_backup(settings_in(tmp_path / "target"), evil, now=NOW)
    assert not (tmp_path / "outside.txt").exists()


async def test_backup_refuses_to_write_into_what_it_backs_up(tmp_path: Path) -> None:
    settings = await old_install(tmp_path / "home")
    with pytest.raises(BackupError, match="which is backed up: choose another"):
        write_backup(settings, settings.workspace_dir / "b.tar.gz", now=NOW)
    with pytest.raises(BackupError, match="nothing to back up"):
        write_backup(settings_in(tmp_path / "empty"), tmp_path / "b.tar.gz", now=NOW)


async def test_the_commands_say_one_line(
    tmp_path: Path, jobs_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from jobs.cli import main

    await old_install(jobs_home)
    archive = tmp_path / "b.tar.gz"
    assert main(["backup", str(archive), "--verify"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Backed up to {archive} (keep it safe: it holds your Telegram login)."
    assert out[1].startswith("Verified: ") and "database schema" in out[1]
    assert main(["restore", str(tmp_path / "nope.tar.gz")]) == 1
    assert capsys.readouterr().err == f"jobs: There is no file {tmp_path / 'nope.tar.gz'}.\n"


async def test_settings_inside_the_data_folder_are_taken_once(tmp_path: Path) -> None:
    """Docker: JOBS_HOME is DATA_DIR, so .env sits in the data folder."""
    settings = load_settings(None, jobs_home=tmp_path / "data", data_dir=".", workspace_dir="../ws")
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / ".env").write_text("TG_API_ID=1\n")
    manifest = write_backup(settings, tmp_path / "b.tar.gz", now=NOW)
    assert sorted(manifest.files) == ["settings.env"]
